import type { KeyCount } from '../api/schemas';

const TOP = 8;

/** Tiles by one attribute (lab, scanner, stain) as horizontal bars, share of `total`. */
export function CountBars({ title, entries, total }: { title: string; entries: KeyCount[]; total: number }) {
  const sorted = [...entries].sort((a, b) => b.count - a.count);
  const shown = sorted.slice(0, TOP);
  const rest = sorted.slice(TOP).reduce((s, e) => s + e.count, 0);
  const denominator = Math.max(1, total || entries.reduce((s, e) => s + e.count, 0));
  return (
    <section className="bar-chart" aria-label={title}>
      <h3>{title}</h3>
      {shown.length === 0 && <p className="muted small">Nothing recorded.</p>}
      {[...shown, ...(rest > 0 ? [{ key: 'other', count: rest }] : [])].map((entry) => (
        <div key={entry.key} className="bar-row" title={`${entry.key || 'unknown'}: ${entry.count.toLocaleString('en-US')} tiles`}>
          <span className="bar-label">{entry.key || 'unknown'}</span>
          <span className="bar-track">
            <span className="bar-fill" style={{ width: `${Math.max(1, Math.min(100, (entry.count / denominator) * 100))}%` }} />
          </span>
          <span className="bar-value">{entry.count.toLocaleString('en-US')}</span>
        </div>
      ))}
    </section>
  );
}

/** Tiles per slide as a histogram: one SVG bar per bin. */
export function TilesPerSlideHistogram({ stats }: { stats: { min: number; median: number; max: number; histogram: Array<{ from: number; to: number; count: number }> } }) {
  const bins = stats.histogram;
  const top = Math.max(1, ...bins.map((b) => b.count));
  const width = 320;
  const height = 90;
  const barW = bins.length ? width / bins.length : width;
  return (
    <section className="bar-chart histogram" aria-label="Tiles per slide">
      <h3>Tiles per slide</h3>
      <p className="muted small" data-testid="tiles-per-slide">
        min {stats.min.toLocaleString('en-US')} · median {stats.median.toLocaleString('en-US')} · max {stats.max.toLocaleString('en-US')}
      </p>
      {bins.length > 0 && (
        <svg viewBox={`0 0 ${width} ${height + 14}`} className="histogram-svg" role="img" aria-label="Histogram of tiles per slide">
          {bins.map((bin, i) => {
            const h = (bin.count / top) * height;
            return (
              <g key={`${bin.from}-${bin.to}`}>
                <rect x={i * barW + 1} y={height - h} width={Math.max(1, barW - 2)} height={h} className="histogram-bar">
                  <title>{`${bin.from}–${bin.to} tiles: ${bin.count} slide${bin.count === 1 ? '' : 's'}`}</title>
                </rect>
              </g>
            );
          })}
          <text x={0} y={height + 12} className="histogram-axis">
            {bins[0].from}
          </text>
          <text x={width} y={height + 12} textAnchor="end" className="histogram-axis">
            {bins[bins.length - 1].to}
          </text>
        </svg>
      )}
    </section>
  );
}
