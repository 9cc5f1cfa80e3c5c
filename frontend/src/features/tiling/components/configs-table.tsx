import type { TilingConfig } from '../api/schemas';

const show = (v: number | null | undefined, unit = '') => (v === null || v === undefined ? '—' : `${v}${unit}`);

export function ConfigsTable({ configs }: { configs: TilingConfig[] }) {
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label="Tiling configurations">
        <thead>
          <tr>
            <th>Name</th>
            <th className="num">Tile size</th>
            <th className="num">µm/px</th>
            <th className="num">Stride</th>
            <th className="num">Min tissue</th>
            <th>Features</th>
            <th>Key</th>
          </tr>
        </thead>
        <tbody>
          {configs.map((c) => (
            <tr key={c.id} data-testid="config-row">
              <td>
                <strong>{c.name}</strong>
                {c.description && <div className="muted">{c.description}</div>}
              </td>
              <td className="num">{show(c.params.tile_size, ' px')}</td>
              <td className="num">{show(c.params.target_mpp)}</td>
              <td className="num">{c.params.stride ? `${c.params.stride} px` : 'no overlap'}</td>
              <td className="num">{show(c.params.min_tissue_fraction)}</td>
              <td>{c.params.features === false ? 'off' : 'on'}</td>
              <td>
                <code>{c.key || '—'}</code>
              </td>
            </tr>
          ))}
          {configs.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No tiling configurations yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
