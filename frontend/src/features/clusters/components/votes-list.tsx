import type { Vote } from '../api/schemas';

export function voteText(vote: Vote): string {
  if (vote.status === 'accepted') return vote.category_name || 'accepted';
  if (vote.status === 'rejected') return `rejected${vote.reject_reason ? `: ${vote.reject_reason.replace(/_/g, ' ')}` : ''}`;
  return vote.status;
}

/** Each reviewer's own latest decision on one cluster, small. */
export function VotesList({ votes }: { votes: Vote[] }) {
  if (votes.length === 0) return <p className="muted small">No votes yet.</p>;
  return (
    <ul className="votes" aria-label="Votes">
      {votes.map((v) => (
        <li key={v.user}>
          <strong>{v.user}</strong> {voteText(v)}
          {v.weight !== null && <span className="muted"> · weight {v.weight}</span>}
          {v.note && <span className="muted"> · “{v.note}”</span>}
        </li>
      ))}
    </ul>
  );
}
