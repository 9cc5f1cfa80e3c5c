import { ErrorMessage } from '@/components/error-message';
import { formatDateTime } from '@/utils/format';
import { useSnapshots } from '../api/snapshots';

/** Frozen memberships of one group (kept for dataset versions). */
export function SnapshotList({ groupId }: { groupId: number }) {
  const snapshots = useSnapshots(groupId);
  if (snapshots.isLoading) return <span className="muted">Loading snapshots…</span>;
  if (snapshots.isError) return <ErrorMessage error={snapshots.error} />;
  const list = snapshots.data ?? [];
  if (list.length === 0) return <span className="muted">No snapshots yet.</span>;
  return (
    <ul className="snapshot-list" aria-label="Snapshots">
      {list.map((s) => (
        <li key={s.id} data-testid="snapshot">
          #{s.id} · {formatDateTime(s.created_at)} · {s.slide_count.toLocaleString('en-US')} slides
        </li>
      ))}
    </ul>
  );
}
