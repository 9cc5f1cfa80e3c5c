import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import type { SlideRoot } from '../api/schemas';
import { useUpdateRootAccess, useUserOptions } from '../api/update-root-access';

/** A root's access: open to everyone logged in, or restricted to admins and chosen users. */
export function RootAccess({ root }: { root: SlideRoot }) {
  const [restricted, setRestricted] = useState(root.restricted);
  const [allowed, setAllowed] = useState<number[]>(root.allowed_users);
  const users = useUserOptions();
  const update = useUpdateRootAccess();
  const changed =
    restricted !== root.restricted ||
    allowed.length !== root.allowed_users.length ||
    allowed.some((id) => !root.allowed_users.includes(id));

  return (
    <div className="root-access" data-testid="root-access">
      <label>
        <input type="checkbox" checked={restricted} onChange={(e) => setRestricted(e.target.checked)} /> Restricted
      </label>
      {restricted && (
        <select
          multiple
          aria-label={`Users allowed to see ${root.name}`}
          value={allowed.map(String)}
          onChange={(e) => setAllowed(Array.from(e.target.selectedOptions, (o) => Number(o.value)))}
        >
          {(users.data ?? []).map((u) => (
            <option key={u.id} value={u.id}>
              {u.username} ({u.role})
            </option>
          ))}
        </select>
      )}
      {changed && (
        <button
          type="button"
          className="btn"
          disabled={update.isPending}
          onClick={() => update.mutate({ id: root.id, restricted, allowed_users: allowed })}
        >
          {update.isPending ? 'Saving…' : 'Save access'}
        </button>
      )}
      {update.isError && <ErrorMessage error={update.error} />}
    </div>
  );
}
