import type { Dataset } from '../api/schemas';

export function DatasetStatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-dataset-${status}`}>{status}</span>;
}

function pct(done: number, total: number) {
  return total > 0 ? Math.round((done / total) * 100) : 0;
}

/** A building version's progress (work units done out of total) with the worker's message. */
export function BuildProgress({ dataset }: { dataset: Dataset }) {
  const building = dataset.status === 'building';
  return (
    <div className="run-progress" data-testid={`dataset-progress-${dataset.id}`}>
      {(building || dataset.progress_total > 0) && dataset.status !== 'built' && (
        <div className="progress-row">
          <progress max={Math.max(dataset.progress_total, 1)} value={dataset.progress_done} aria-label={`Version ${dataset.id} build progress`} />
          <span className="muted nowrap">
            {dataset.progress_done.toLocaleString('en-US')}/{dataset.progress_total.toLocaleString('en-US')} ({pct(dataset.progress_done, dataset.progress_total)}%)
          </span>
        </div>
      )}
      {dataset.message && dataset.status !== 'built' && <div className="muted small">{dataset.message}</div>}
      {dataset.error && <div className="failure-reason">{dataset.error}</div>}
    </div>
  );
}

/** The first 12 hex digits of a SHA-256, the whole one on hover. */
export function ShortChecksum({ checksum }: { checksum: string }) {
  if (!checksum) return <span className="muted">—</span>;
  return (
    <code title={checksum} data-testid="checksum">
      {checksum.slice(0, 12)}
    </code>
  );
}
