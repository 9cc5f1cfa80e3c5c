import type { ClusterRun } from '../api/schemas';

export function ClusterRunStatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-cluster-${status}`}>{status}</span>;
}

function pct(done: number, total: number) {
  return total > 0 ? Math.round((done / total) * 100) : 0;
}

/** The current phase and its progress (work units done out of total), with the worker's message. */
export function PhaseProgress({ run }: { run: ClusterRun }) {
  const running = run.status === 'running' || run.status === 'queued';
  return (
    <div className="run-progress" data-testid={`cluster-run-progress-${run.id}`}>
      <div className="progress-row">
        <span className="phase">{run.phase || (run.status === 'queued' ? 'queued' : '—')}</span>
        {(running || run.progress_total > 0) && (
          <>
            <progress max={Math.max(run.progress_total, 1)} value={run.progress_done} aria-label={`Run ${run.id} progress`} />
            <span className="muted nowrap">
              {run.progress_done}/{run.progress_total} ({pct(run.progress_done, run.progress_total)}%)
            </span>
          </>
        )}
      </div>
      {run.message && <div className="muted small">{run.message}</div>}
      {run.error && <div className="failure-reason">{run.error}</div>}
    </div>
  );
}

/** Clusters with a decision out of all clusters. */
export function ReviewProgress({ reviewed, total, label }: { reviewed: number; total: number; label: string }) {
  return (
    <div className="progress-row" data-testid="review-progress">
      <progress max={Math.max(total, 1)} value={reviewed} aria-label={label} />
      <span className="muted nowrap">
        {reviewed}/{total} ({total > 0 ? pct(reviewed, total) : 0}%)
      </span>
    </div>
  );
}
