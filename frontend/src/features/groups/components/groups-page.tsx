import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { Pagination } from '@/components/pagination';
import { GROUPS_PAGE_SIZE, useGroups } from '../api/get-groups';
import type { Group } from '../api/schemas';
import { GroupForm } from './group-form';
import { GroupRow } from './group-row';
import { GroupSummaryBar } from './group-summary-bar';

type Editing = { group: Group | null } | null;

/** `canEdit`: pathologists and admins manage groups; everyone sees them. */
export function GroupsPage({ canEdit }: { canEdit: boolean }) {
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<Editing>(null);
  const groups = useGroups(page);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Slide groups</h1>
        <span className="spacer" />
        {canEdit && !editing && (
          <button type="button" className="btn btn-primary" onClick={() => setEditing({ group: null })} data-testid="new-group">
            New group
          </button>
        )}
      </div>
      <GroupSummaryBar />
      {editing && <GroupForm key={editing.group?.id ?? 'new'} group={editing.group} onDone={() => setEditing(null)} />}
      {groups.isLoading && <Loading />}
      {groups.isError && <ErrorMessage error={groups.error} onRetry={() => groups.refetch()} />}
      {groups.data && (
        <>
          <div className="table-wrap">
            <table className="data-table" aria-label="Groups">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Kind</th>
                  <th>Rule</th>
                  <th className="num">Weight</th>
                  <th className="num">Slides</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {groups.data.results.map((group) => (
                  <GroupRow key={group.id} group={group} canEdit={canEdit} onEdit={() => setEditing({ group })} />
                ))}
                {groups.data.results.length === 0 && (
                  <tr>
                    <td colSpan={6} className="muted">
                      No groups yet.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          {groups.data.count > GROUPS_PAGE_SIZE && (
            <Pagination page={page} pageSize={GROUPS_PAGE_SIZE} count={groups.data.count} onPageChange={setPage} />
          )}
        </>
      )}
    </div>
  );
}
