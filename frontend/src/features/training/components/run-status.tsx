import type { TrainingRun } from '../api/schemas';

/** Training runs share the cluster runs' statuses, and so their badge colours. */
export function TrainingStatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-cluster-${status}`} data-testid="training-status">
      {status}
    </span>
  );
}

/** step / total with a progress bar. */
export function StepProgress({ run }: { run: TrainingRun }) {
  const total = Math.max(run.total_steps, 1);
  const pct = run.total_steps > 0 ? Math.round((run.step / run.total_steps) * 100) : 0;
  return (
    <div className="progress-row" data-testid={`training-progress-${run.id}`}>
      <progress max={total} value={Math.min(run.step, total)} aria-label={`Run ${run.id} progress`} />
      <span className="muted nowrap">
        {run.step.toLocaleString('en-US')}/{run.total_steps.toLocaleString('en-US')} ({pct}%)
      </span>
    </div>
  );
}
