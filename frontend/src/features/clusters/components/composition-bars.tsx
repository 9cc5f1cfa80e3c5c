import type { CompositionEntry } from '../api/schemas';

const DIMENSIONS: Array<[string, string]> = [
  ['group', 'Group'],
  ['lab', 'Lab'],
  ['scanner', 'Scanner'],
  ['stain', 'Stain'],
  ['slide', 'Top slides'],
];

const TOP = 6;

/** Where the cluster's tiles come from, as small horizontal bars (share of the cluster's tiles). */
export function CompositionBars({ composition }: { composition: Record<string, CompositionEntry[]> }) {
  const present = DIMENSIONS.filter(([key]) => (composition[key] ?? []).length > 0);
  if (present.length === 0) return <p className="muted">No composition.</p>;
  return (
    <div className="composition" aria-label="Composition">
      {present.map(([key, title]) => (
        <section key={key} className="bar-chart" aria-label={title}>
          <h3>{title}</h3>
          {composition[key].slice(0, TOP).map((entry) => (
            <div key={entry.key} className="bar-row" title={`${entry.label || entry.key}: ${entry.count.toLocaleString('en-US')} tiles`}>
              <span className="bar-label">{entry.label || entry.key}</span>
              <span className="bar-track">
                <span className="bar-fill" style={{ width: `${Math.max(1, Math.min(100, entry.share * 100))}%` }} />
              </span>
              <span className="bar-value">{Math.round(entry.share * 100)}%</span>
            </div>
          ))}
        </section>
      ))}
    </div>
  );
}
