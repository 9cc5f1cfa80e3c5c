import { isActive, runHandled, type TilingRun } from '../api/schemas';

export function RunStatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-tiling-${status}`}>{status}</span>;
}

/** Handled (done + skipped + failed) out of total, with the split beside it. */
export function RunProgress({ run }: { run: TilingRun }) {
  const handled = runHandled(run);
  const active = isActive(run.status);
  const pct = run.total > 0 ? Math.round((handled / run.total) * 100) : active ? 0 : 100;
  return (
    <div className="run-progress" data-testid={`run-progress-${run.id}`}>
      <div className="progress-row">
        <progress max={Math.max(run.total, 1)} value={run.total > 0 ? handled : active ? 0 : 1} aria-label={`Run ${run.id} progress`} />
        <span className="muted nowrap">
          {handled}/{run.total} ({pct}%)
        </span>
      </div>
      <div className="scan-counts">
        <span>
          done <strong>{run.done}</strong>
        </span>
        <span>
          skipped <strong>{run.skipped}</strong>
        </span>
        <span className="count-failed">
          failed <strong>{run.failed}</strong>
        </span>
      </div>
    </div>
  );
}

/** Per-slide progress while a tiling is running: tiles written out of tiles expected. */
export function TileProgress({ done, total }: { done: number; total: number }) {
  const pct = total > 0 ? Math.round((done / total) * 100) : 0;
  return (
    <div className="progress-row">
      <progress max={Math.max(total, 1)} value={done} aria-label="Tiles progress" />
      <span className="muted nowrap">
        {done}/{total} ({pct}%)
      </span>
    </div>
  );
}
