import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { Pagination } from '@/components/pagination';
import { paths } from '@/config/paths';
import { formatDateTime } from '@/utils/format';
import { useAudit } from '../api/get-audit';
import { AUDIT_PAGE_SIZE, useAuditFilters } from '../hooks/use-audit-filters';
import { AuditFilters } from './audit-filters';
import { ChangeSummary } from './change-summary';

/** The append-only log of who changed what, newest first. */
export function AuditPage() {
  const { filters, params, update } = useAuditFilters();
  const audit = useAudit(params);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Audit log</h1>
        {audit.isFetching && !audit.isLoading && <span className="spinner" aria-label="Updating" />}
      </div>
      <AuditFilters filters={filters} update={update} />
      {audit.isLoading && <Loading />}
      {audit.isError && <ErrorMessage error={audit.error} onRetry={() => audit.refetch()} />}
      {audit.data && (
        <>
          <div className="table-wrap">
            <table className="data-table" aria-label="Audit log">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Who</th>
                  <th>Action</th>
                  <th>Object</th>
                  <th>Slide</th>
                  <th>Change</th>
                </tr>
              </thead>
              <tbody>
                {audit.data.results.map((e) => (
                  <tr key={e.id} data-testid="audit-row">
                    <td className="nowrap">{formatDateTime(e.at)}</td>
                    <td>{e.actor_name || (e.actor !== null ? `user #${e.actor}` : '—')}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>
                      {e.object_type || '—'}
                      {e.object_id && <span className="muted"> #{e.object_id}</span>}
                    </td>
                    <td>{e.slide !== null ? <Link to={paths.slide(e.slide)}>#{e.slide}</Link> : '—'}</td>
                    <td>
                      <ChangeSummary before={e.before} after={e.after} />
                    </td>
                  </tr>
                ))}
                {audit.data.results.length === 0 && (
                  <tr>
                    <td colSpan={6} className="muted">
                      Nothing recorded{filters.action || filters.slide || filters.actor ? ' for these filters' : ''}.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {audit.data.count > AUDIT_PAGE_SIZE && (
            <Pagination page={filters.page} pageSize={AUDIT_PAGE_SIZE} count={audit.data.count} onPageChange={(page) => update({ page })} />
          )}
        </>
      )}
    </div>
  );
}
