import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useGroupOptions } from '../api/get-group-options';

interface Props {
  pending: boolean;
  onSubmit: (groupId: number) => void;
  onCancel: () => void;
}

/** Only explicit groups take members by hand; rule groups follow their rule. */
export function AddToGroupForm({ pending, onSubmit, onCancel }: Props) {
  const groups = useGroupOptions();
  const explicit = (groups.data?.results ?? []).filter((g) => g.kind === 'explicit');
  const [groupId, setGroupId] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (groupId) onSubmit(Number(groupId));
  };
  return (
    <form className="bulk-panel inline" onSubmit={submit} aria-label="Add to group">
      {groups.isError && <ErrorMessage error={groups.error} />}
      <select aria-label="Group to add to" value={groupId} onChange={(e) => setGroupId(e.target.value)}>
        <option value="">Choose an explicit group…</option>
        {explicit.map((g) => (
          <option key={g.id} value={String(g.id)}>
            {g.name}
          </option>
        ))}
      </select>
      {groups.data && explicit.length === 0 && <span className="muted">No explicit groups yet (create one on the Groups page).</span>}
      <button type="submit" className="btn btn-primary btn-small" disabled={!groupId || pending}>
        Add to group
      </button>
      <button type="button" className="btn btn-small" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
