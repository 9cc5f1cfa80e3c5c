import { Link } from 'react-router-dom';
import { paths } from '@/config/paths';
import { formatDateTime } from '@/utils/format';
import type { TilingRun } from '../api/schemas';
import { RunProgress, RunStatusBadge } from './run-progress';

export function RunsTable({ runs }: { runs: TilingRun[] }) {
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label="Tiling runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Configuration</th>
            <th>Status</th>
            <th>Progress</th>
            <th className="num">Tiles</th>
            <th>Started</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid="run-row">
              <td>
                <Link to={paths.tilingRun(run.id)}>#{run.id}</Link>
              </td>
              <td>{run.config_name || `#${run.config}`}</td>
              <td>
                <RunStatusBadge status={run.status} />
              </td>
              <td className="scan-cell">
                <RunProgress run={run} />
              </td>
              <td className="num">{run.tile_count.toLocaleString('en-US')}</td>
              <td className="nowrap">{formatDateTime(run.started_at ?? run.created_at)}</td>
            </tr>
          ))}
          {runs.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No tiling runs yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
