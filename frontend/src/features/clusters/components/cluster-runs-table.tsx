import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { paths } from '@/config/paths';
import { formatDateTime } from '@/utils/format';
import { useRunAction } from '../api/runs';
import type { ClusterRun } from '../api/schemas';
import { ClusterRunStatusBadge, PhaseProgress, ReviewProgress } from './run-status';

function features(run: ClusterRun) {
  if (run.feature_kind === 'embedding') return run.embedding_model?.name ? `embedding · ${run.embedding_model.name}` : 'embedding';
  return run.feature_kind;
}

function RunActions({ run }: { run: ClusterRun }) {
  const action = useRunAction();
  return (
    <>
      {(run.status === 'running' || run.status === 'queued') && (
        <button type="button" className="btn btn-small" disabled={action.isPending} onClick={() => action.mutate({ id: run.id, action: 'cancel' })}>
          Cancel
        </button>
      )}
      {['interrupted', 'failed', 'cancelled'].includes(run.status) && (
        <button type="button" className="btn btn-small" disabled={action.isPending} onClick={() => action.mutate({ id: run.id, action: 'resume' })}>
          Resume
        </button>
      )}
      {action.isError && <ErrorMessage error={action.error} />}
    </>
  );
}

/** `canManage`: cancel and resume buttons (admin). */
export function ClusterRunsTable({ runs, canManage }: { runs: ClusterRun[]; canManage: boolean }) {
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label="Cluster runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Tiling</th>
            <th>Features</th>
            <th>Status</th>
            <th>Phase</th>
            <th>Device</th>
            <th className="num">k</th>
            <th className="num">Tiles</th>
            <th>Review</th>
            <th>Started</th>
            {canManage && <th />}
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} data-testid="cluster-run-row">
              <td>
                <Link to={paths.clusterRun(run.id)}>
                  #{run.id} {run.name}
                </Link>
                {run.locked && <span className="badge badge-locked">locked</span>}
              </td>
              <td>{run.config_name || `#${run.config}`}</td>
              <td>{features(run)}</td>
              <td>
                <ClusterRunStatusBadge status={run.status} />
              </td>
              <td className="scan-cell">
                <PhaseProgress run={run} />
              </td>
              <td>{run.device || '—'}</td>
              <td className="num">{run.params.k ?? '—'}</td>
              <td className="num">{run.tile_count.toLocaleString('en-US')}</td>
              <td className="review-cell">
                {run.review.total > 0 ? <ReviewProgress reviewed={run.review.reviewed} total={run.review.total} label={`Run ${run.id} review`} /> : <span className="muted">—</span>}
              </td>
              <td className="nowrap">{formatDateTime(run.started_at ?? run.created_at)}</td>
              {canManage && (
                <td className="row-actions">
                  <RunActions run={run} />
                </td>
              )}
            </tr>
          ))}
          {runs.length === 0 && (
            <tr>
              <td colSpan={canManage ? 11 : 10} className="muted">
                No cluster runs yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
