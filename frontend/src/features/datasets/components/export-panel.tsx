import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { apiAssetUrl } from '@/lib/asset-url';
import { formatBytes, formatDateTime } from '@/utils/format';
import { useDatasetExports, useExportJob, useStartExport } from '../api/datasets';
import { isExportActive, type Dataset, type ExportJob } from '../api/schemas';

function pct(done: number, total: number) {
  return total > 0 ? Math.round((done / total) * 100) : 0;
}

function JobResult({ job }: { job: ExportJob }) {
  const active = isExportActive(job.status);
  const missing = job.report?.missing_slides ?? [];
  return (
    <div className="export-job" data-testid="export-job">
      <div className="progress-row">
        <span className={`badge badge-export-${job.status}`}>{job.status}</span>
        {(active || job.progress_total > 0) && (
          <>
            <progress max={Math.max(job.progress_total, 1)} value={job.progress_done} aria-label="Export progress" />
            <span className="muted nowrap" data-testid="export-progress">
              {job.progress_done.toLocaleString('en-US')}/{job.progress_total.toLocaleString('en-US')} tiles ({pct(job.progress_done, job.progress_total)}%)
            </span>
          </>
        )}
      </div>
      {job.message && <div className="muted small">{job.message}</div>}
      {job.error && <div className="failure-reason">{job.error}</div>}
      {job.report && job.report.tiles_written !== null && (
        <p className="muted small">
          {job.report.tiles_written?.toLocaleString('en-US') ?? '—'} tiles written, {job.report.tiles_skipped?.toLocaleString('en-US') ?? '—'} skipped
          {job.finished_at ? ` · finished ${formatDateTime(job.finished_at)}` : ''}
        </p>
      )}
      {missing.length > 0 && (
        <div className="warning-box" data-testid="missing-slides">
          <strong>
            {missing.length} slide{missing.length === 1 ? '' : 's'} could not be read; their tiles are left out:
          </strong>
          <ul>
            {missing.map((m) => (
              <li key={String(m.slide)}>
                slide #{m.slide}
                {m.reason ? `: ${m.reason}` : ''}
              </li>
            ))}
          </ul>
        </div>
      )}
      {job.shards.length > 0 && (
        <div className="table-wrap">
          <table className="data-table compact" aria-label="Shards">
            <thead>
              <tr>
                <th>Shard</th>
                <th className="num">Size</th>
              </tr>
            </thead>
            <tbody>
              {job.shards.map((shard) => (
                <tr key={shard.name} data-testid="shard-row">
                  <td>
                    <a href={apiAssetUrl(shard.url)} download>
                      {shard.name}
                    </a>
                  </td>
                  <td className="num">{formatBytes(shard.size)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Manifest downloads, and WebDataset shards made on the worker (progress, then the shard list). */
export function ExportPanel({ dataset, canExport }: { dataset: Dataset; canExport: boolean }) {
  const start = useStartExport();
  const earlier = useDatasetExports(dataset.id);
  const [startedId, setStartedId] = useState<number | null>(null);
  const [shardSize, setShardSize] = useState('1000');
  // The job started here, else the newest one the version already has.
  const jobId = startedId ?? earlier.data?.[0]?.id ?? null;
  const job = useExportJob(jobId);
  const older = (earlier.data ?? []).filter((j) => j.id !== jobId && j.status === 'succeeded');
  const manifest = dataset.manifest;

  return (
    <section className="panel" aria-label="Export">
      <h2>Export</h2>
      {manifest ? (
        <p className="downloads">
          Manifest:{' '}
          <a className="btn btn-small" href={apiAssetUrl(manifest.parquet)} download>
            manifest.parquet
          </a>{' '}
          <a className="btn btn-small" href={apiAssetUrl(manifest.csv)} download>
            manifest.csv
          </a>{' '}
          <a className="btn btn-small" href={apiAssetUrl(manifest.jsonl)} download>
            manifest.jsonl
          </a>
        </p>
      ) : (
        <p className="muted">No manifest.</p>
      )}
      {canExport && (
        <form
          className="form-row"
          aria-label="WebDataset export"
          onSubmit={(e) => {
            e.preventDefault();
            start.mutate({ id: dataset.id, shardSize: Number(shardSize) }, { onSuccess: (j) => setStartedId(j.id) });
          }}
        >
          <label className="inline-label">
            Tiles per shard
            <input type="number" className="narrow" min={1} step={1} value={shardSize} onChange={(e) => setShardSize(e.target.value)} />
          </label>
          <button type="submit" className="btn" disabled={start.isPending || (job.data !== undefined && isExportActive(job.data.status))}>
            {start.isPending ? 'Starting…' : 'WebDataset shards'}
          </button>
        </form>
      )}
      {start.isError && <ErrorMessage error={start.error} />}
      {job.isError && <ErrorMessage error={job.error} />}
      {job.data && <JobResult job={job.data} />}
      {older.length > 0 && (
        <details className="older-exports">
          <summary>
            {older.length} earlier export{older.length === 1 ? '' : 's'}
          </summary>
          {older.map((j) => (
            <JobResult key={j.id} job={j} />
          ))}
        </details>
      )}
    </section>
  );
}
