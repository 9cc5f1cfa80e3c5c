import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { useSlideRoots } from '../api/get-slide-roots';
import { isScanActive, type SlideRoot } from '../api/schemas';
import { useStartScan } from '../api/start-scan';
import { AddRootForm } from './add-root-form';
import { RootAccess } from './root-access';
import { LiveScan, ScanSummary } from './scan-progress';

function RootRow({ root }: { root: SlideRoot }) {
  const start = useStartScan();
  const [startedScanId, setStartedScanId] = useState<number | null>(null);
  const running = root.last_scan && isScanActive(root.last_scan.status) ? root.last_scan.id : null;
  const liveId = startedScanId ?? running;

  return (
    <tr data-testid="root-row">
      <td>
        <strong>{root.name}</strong>
      </td>
      <td className="path-cell" title={root.path}>
        <code>{root.path}</code>
      </td>
      <td className="num">
        <Link to={`${paths.slides}?root=${root.id}`}>{root.slide_count.toLocaleString('en-US')}</Link>
      </td>
      <td>
        <RootAccess key={`${root.restricted}-${root.allowed_users.join(',')}`} root={root} />
      </td>
      <td className="scan-cell">
        {liveId !== null ? (
          <LiveScan key={liveId} scanId={liveId} />
        ) : root.last_scan ? (
          <ScanSummary scan={root.last_scan} />
        ) : (
          <span className="muted">Never scanned</span>
        )}
        {start.isError && <ErrorMessage error={start.error} />}
      </td>
      <td>
        <button
          type="button"
          className="btn"
          disabled={start.isPending}
          onClick={() => start.mutate(root.id, { onSuccess: (scan) => setStartedScanId(scan.id) })}
        >
          {start.isPending ? 'Starting…' : 'Scan'}
        </button>
      </td>
    </tr>
  );
}

export function SlideRootsPage() {
  const roots = useSlideRoots();
  return (
    <div className="page">
      <h1>Slide roots</h1>
      <p className="muted">Folders on the server that are scanned for slides.</p>
      <AddRootForm />
      {roots.isLoading && <Loading />}
      {roots.isError && <ErrorMessage error={roots.error} onRetry={() => roots.refetch()} />}
      {roots.data && (
        <div className="table-wrap">
          <table className="data-table" aria-label="Slide roots">
            <thead>
              <tr>
                <th>Name</th>
                <th>Path</th>
                <th className="num">Slides</th>
                <th>Access</th>
                <th>Last scan</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {roots.data.results.map((root) => (
                <RootRow key={root.id} root={root} />
              ))}
              {roots.data.results.length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    No slide roots yet. Add one above.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
