import type { Option } from '@/lib/options';

interface Props {
  groups: Option[];
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
}

/** Picks a slide group by id (as a string, '' for none), showing each group's slide count when known. */
export function GroupSelect({ groups, value, onChange, required }: Props) {
  return (
    <select aria-label="Group" value={value} onChange={(e) => onChange(e.target.value)} required={required}>
      <option value="">Choose a group…</option>
      {groups.map((g) => (
        <option key={g.id} value={String(g.id)}>
          {g.name}
          {g.slide_count !== undefined ? ` (${g.slide_count})` : ''}
        </option>
      ))}
    </select>
  );
}
