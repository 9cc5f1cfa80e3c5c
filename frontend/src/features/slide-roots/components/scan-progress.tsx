import { ErrorMessage } from '@/components/error-message';
import { formatDateTime } from '@/utils/format';
import { useScan } from '../api/get-scan';
import { isScanActive, type Scan } from '../api/schemas';

const COUNTERS = ['registered', 'unchanged', 'moved', 'failed', 'missing'] as const;

export function ScanSummary({ scan }: { scan: Scan }) {
  const active = isScanActive(scan.status);
  const pct = scan.total > 0 ? Math.round((scan.processed / scan.total) * 100) : active ? 0 : 100;
  return (
    <div className="scan-summary" data-testid={`scan-${scan.id}`}>
      <div className="scan-head">
        <span className={`badge badge-scan-${scan.status}`}>{scan.status}</span>
        <span className="muted">{formatDateTime(scan.finished_at ?? scan.started_at ?? scan.created_at)}</span>
      </div>
      <div className="progress-row">
        <progress max={Math.max(scan.total, 1)} value={scan.total > 0 ? scan.processed : active ? 0 : 1} aria-label="Scan progress" />
        <span className="muted">
          {scan.processed}/{scan.total} ({pct}%)
        </span>
      </div>
      <div className="scan-counts">
        {COUNTERS.map((key) => (
          <span key={key} className={`count-${key}`}>
            {key} <strong>{scan[key]}</strong>
          </span>
        ))}
      </div>
      {scan.message && <div className={scan.status === 'failed' ? 'failure-reason' : 'muted'}>{scan.message}</div>}
    </div>
  );
}

export function LiveScan({ scanId }: { scanId: number }) {
  const scanQuery = useScan(scanId);
  if (scanQuery.isError) return <ErrorMessage error={scanQuery.error} onRetry={() => scanQuery.refetch()} />;
  if (!scanQuery.data) return <span className="muted">Starting scan…</span>;
  return <ScanSummary scan={scanQuery.data} />;
}
