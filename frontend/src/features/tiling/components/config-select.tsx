import type { TilingConfig } from '../api/schemas';

interface Props {
  configs: TilingConfig[];
  value: string;
  onChange: (value: string) => void;
}

export function ConfigSelect({ configs, value, onChange }: Props) {
  return (
    <select aria-label="Tiling configuration" value={value} onChange={(e) => onChange(e.target.value)} required>
      <option value="">Choose a configuration…</option>
      {configs.map((c) => (
        <option key={c.id} value={String(c.id)}>
          {c.name}
        </option>
      ))}
    </select>
  );
}
