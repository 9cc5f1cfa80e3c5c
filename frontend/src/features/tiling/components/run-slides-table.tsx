import { Link } from 'react-router-dom';
import { paths } from '@/config/paths';
import type { SlideTiling } from '../api/schemas';
import { RunStatusBadge, TileProgress } from './run-progress';

const area = (mm2: number | null) => (mm2 === null ? '—' : mm2.toFixed(2));
const secs = (s: number | null) => (s === null ? '—' : s.toFixed(1));

export function RunSlidesTable({ tilings }: { tilings: SlideTiling[] }) {
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label="Slides in this run">
        <thead>
          <tr>
            <th>Slide</th>
            <th>Status</th>
            <th className="num">Tiles</th>
            <th className="num">Tissue mm²</th>
            <th className="num">Seconds</th>
          </tr>
        </thead>
        <tbody>
          {tilings.map((t) => (
            <tr key={t.id} data-testid="run-slide-row">
              <td>
                <Link to={paths.slide(t.slide)}>{t.slide_name || `#${t.slide}`}</Link>
              </td>
              <td className="scan-cell">
                <RunStatusBadge status={t.status} />
                {t.status === 'running' && <TileProgress done={t.tiles_done} total={t.tiles_total} />}
                {t.status === 'failed' && t.error && <div className="failure-reason">{t.error}</div>}
              </td>
              <td className="num">{t.tile_count.toLocaleString('en-US')}</td>
              <td className="num">{area(t.tissue_area_mm2)}</td>
              <td className="num">{secs(t.seconds)}</td>
            </tr>
          ))}
          {tilings.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No slides with this status.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
