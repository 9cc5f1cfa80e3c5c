import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { Pagination } from '@/components/pagination';
import { USERS_PAGE_SIZE, useUsers } from '../api/get-users';
import { ROLES, type ManagedUser, type Role } from '../api/schemas';
import { useUpdateUser } from '../api/update-user';
import { CreateUserForm } from './create-user-form';

function UserRow({ user, isSelf }: { user: ManagedUser; isSelf: boolean }) {
  const update = useUpdateUser();
  return (
    <tr data-testid="user-row" className={user.is_active ? '' : 'is-inactive'}>
      <td>
        <strong>{user.username}</strong>
        {isSelf && <span className="muted"> (you)</span>}
      </td>
      <td>{user.full_name || '—'}</td>
      <td>
        <select
          aria-label={`Role of ${user.username}`}
          value={user.role}
          disabled={update.isPending}
          onChange={(e) => update.mutate({ id: user.id, patch: { role: e.target.value as Role } })}
        >
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </td>
      <td>{user.is_active ? 'active' : <span className="muted">deactivated</span>}</td>
      <td>
        <button
          type="button"
          className="btn btn-small"
          disabled={update.isPending || (isSelf && user.is_active)}
          title={isSelf ? 'You cannot deactivate yourself' : undefined}
          onClick={() => update.mutate({ id: user.id, patch: { is_active: !user.is_active } })}
        >
          {user.is_active ? 'Deactivate' : 'Activate'}
        </button>
        {update.isError && <ErrorMessage error={update.error} />}
      </td>
    </tr>
  );
}

export function UsersPage({ currentUserId }: { currentUserId: number }) {
  const [page, setPage] = useState(1);
  const users = useUsers(page);
  return (
    <div className="page">
      <h1>Users</h1>
      <CreateUserForm />
      {users.isLoading && <Loading />}
      {users.isError && <ErrorMessage error={users.error} onRetry={() => users.refetch()} />}
      {users.data && (
        <>
          <div className="table-wrap">
            <table className="data-table" aria-label="Users">
              <thead>
                <tr>
                  <th>Username</th>
                  <th>Full name</th>
                  <th>Role</th>
                  <th>Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {users.data.results.map((user) => (
                  <UserRow key={user.id} user={user} isSelf={user.id === currentUserId} />
                ))}
              </tbody>
            </table>
          </div>
          {users.data.count > USERS_PAGE_SIZE && (
            <Pagination page={page} pageSize={USERS_PAGE_SIZE} count={users.data.count} onPageChange={setPage} />
          )}
        </>
      )}
    </div>
  );
}
