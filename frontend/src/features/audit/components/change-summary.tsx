import { describeChange } from '../lib/describe-change';

/** before → after, only what changed, one line per key. */
export function ChangeSummary({ before, after }: { before: unknown; after: unknown }) {
  const parts = describeChange(before, after);
  if (parts.length === 0) return <span className="muted">—</span>;
  return (
    <ul className="change-summary" data-testid="change-summary">
      {parts.map((p) => (
        <li key={p.key}>
          {p.key && <span className="muted">{p.key}: </span>}
          {p.before !== null && <del>{p.before}</del>}
          {p.before !== null && p.after !== null && <span aria-hidden="true"> → </span>}
          {p.after !== null && <ins>{p.after}</ins>}
        </li>
      ))}
    </ul>
  );
}
