import { Link } from 'react-router-dom';
import { paths } from '@/config/paths';
import { formatDateTime } from '@/utils/format';
import type { TrainingRun } from '../api/schemas';
import { formatRate } from '../lib/format';
import { StepProgress, TrainingStatusBadge } from './run-status';

export function TrainingRunsTable({ runs }: { runs: TrainingRun[] }) {
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label="Training runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Dataset version</th>
            <th>Model</th>
            <th>Preset</th>
            <th>Status</th>
            <th>Steps</th>
            <th className="num">Images/s</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid="training-run-row">
              <td>
                <Link to={paths.trainingRun(run.id)}>
                  #{run.id} {run.name}
                </Link>
              </td>
              <td>
                {run.dataset_version ? (
                  <Link to={paths.dataset(run.dataset_version.id)}>{run.dataset_version.name || `#${run.dataset_version.id}`}</Link>
                ) : (
                  '—'
                )}
              </td>
              <td>
                <code>{run.model || '—'}</code>
              </td>
              <td>{run.preset || '—'}</td>
              <td className="scan-cell">
                <TrainingStatusBadge status={run.status} />
                {run.cancel_requested && run.status === 'running' && <div className="muted small">stopping at next step</div>}
                {run.error && <div className="failure-reason">{run.error}</div>}
              </td>
              <td className="scan-cell">
                <StepProgress run={run} />
              </td>
              <td className="num" data-testid="row-images-per-s">
                {formatRate(run.images_per_s)}
              </td>
              <td className="nowrap">
                {formatDateTime(run.created_at)}
                {run.created_by && <div className="muted small">by {run.created_by}</div>}
              </td>
            </tr>
          ))}
          {runs.length === 0 && (
            <tr>
              <td colSpan={8} className="muted">
                No training runs yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
