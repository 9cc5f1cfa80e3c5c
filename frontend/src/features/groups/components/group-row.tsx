import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { paths } from '@/config/paths';
import { useDeleteGroup } from '../api/save-group';
import type { Group } from '../api/schemas';
import { useFreezeGroup } from '../api/snapshots';
import { SnapshotList } from './snapshot-list';

interface Props {
  group: Group;
  canEdit: boolean;
  onEdit: () => void;
}

const COLUMNS = 6;

export function GroupRow({ group, canEdit, onEdit }: Props) {
  const [showSnapshots, setShowSnapshots] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const freeze = useFreezeGroup();
  const remove = useDeleteGroup();
  const failed = freeze.isError ? freeze.error : remove.isError ? remove.error : null;

  return (
    <>
      <tr data-testid="group-row" data-group-name={group.name}>
        <td>
          <strong>{group.name}</strong>
          {group.description && <div className="muted">{group.description}</div>}
        </td>
        <td>{group.kind}</td>
        <td className="rule-cell">{group.kind === 'rule' ? <code>{group.rule}</code> : <span className="muted">explicit members</span>}</td>
        <td className="num">{group.weight}</td>
        <td className="num">
          <Link to={`${paths.slides}?group=${group.id}`} data-testid="group-count" title="Show these slides">
            {group.slide_count.toLocaleString('en-US')}
          </Link>
        </td>
        <td className="row-actions">
          <button type="button" className="btn btn-small" aria-pressed={showSnapshots} onClick={() => setShowSnapshots(!showSnapshots)}>
            Snapshots
          </button>
          {canEdit && (
            <>
              <button type="button" className="btn btn-small" onClick={onEdit}>
                Edit
              </button>
              <button
                type="button"
                className="btn btn-small"
                disabled={freeze.isPending}
                title="Keep today's membership, e.g. for a dataset version"
                onClick={() => freeze.mutate(group.id, { onSuccess: () => setShowSnapshots(true) })}
              >
                Freeze membership
              </button>
              {confirmDelete ? (
                <>
                  <button type="button" className="btn btn-small btn-danger" disabled={remove.isPending} onClick={() => remove.mutate(group.id)}>
                    Really delete
                  </button>
                  <button type="button" className="btn btn-small" onClick={() => setConfirmDelete(false)}>
                    Keep
                  </button>
                </>
              ) : (
                <button type="button" className="btn btn-small" onClick={() => setConfirmDelete(true)}>
                  Delete
                </button>
              )}
            </>
          )}
          {failed && <ErrorMessage error={failed} />}
        </td>
      </tr>
      {showSnapshots && (
        <tr className="sub-row">
          <td colSpan={COLUMNS}>
            <SnapshotList groupId={group.id} />
          </td>
        </tr>
      )}
    </>
  );
}
