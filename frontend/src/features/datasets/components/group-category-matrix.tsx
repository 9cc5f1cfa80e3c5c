import type { SemanticCategoryOption } from '@/lib/options';

/**
 * One cell of a group × category composition: `value` tiles out of `reference` (estimated of
 * eligible for a preview, achieved of target for a built version).
 */
export interface MatrixCell {
  group: string;
  category: string;
  value: number;
  /** null: no target recorded. */
  reference: number | null;
}

interface Props {
  cells: MatrixCell[];
  /** 'preview': value = estimated, reference = eligible; 'built': value = achieved, reference = target. */
  mode: 'preview' | 'built';
  categories?: SemanticCategoryOption[];
  label: string;
}

const n = (v: number) => v.toLocaleString('en-US');

function unique(values: string[]) {
  return [...new Set(values)];
}

/**
 * Groups down, categories across; each cell a number, a bar (its share of the largest cell) and
 * what it is measured against. A preview cell that takes every eligible tile is marked: asking
 * for more there falls short. A built cell that got less than its target is marked short.
 */
export function GroupCategoryMatrix({ cells, mode, categories = [], label }: Props) {
  if (cells.length === 0) return <p className="muted">No tiles in any group and category.</p>;
  const groups = unique(cells.map((c) => c.group));
  const order = new Map(categories.map((c, i) => [c.name, i]));
  const cats = unique(cells.map((c) => c.category)).sort((a, b) => (order.get(a) ?? 999) - (order.get(b) ?? 999));
  const colour = new Map(categories.map((c) => [c.name, c.colour ?? '']));
  const at = new Map(cells.map((c) => [`${c.group}\u0000${c.category}`, c]));
  const max = Math.max(1, ...cells.map((c) => c.value));
  const sum = (list: MatrixCell[], key: 'value' | 'reference') => list.reduce((s, c) => s + (c[key] ?? 0), 0);
  const hasReference = cells.some((c) => c.reference !== null);
  const referenceWord = mode === 'preview' ? 'eligible' : 'target';

  return (
    <div className="table-wrap">
      <table className="data-table compact matrix" aria-label={label}>
        <thead>
          <tr>
            <th>Group</th>
            {cats.map((cat) => (
              <th key={cat} className="num">
                {colour.get(cat) && <span className="swatch" style={{ background: colour.get(cat) }} />} {cat}
              </th>
            ))}
            <th className="num">Total</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((group) => {
            const row = cells.filter((c) => c.group === group);
            return (
              <tr key={group}>
                <th scope="row">{group}</th>
                {cats.map((cat) => {
                  const cell = at.get(`${group}\u0000${cat}`);
                  if (!cell) {
                    return (
                      <td key={cat} className="num muted">
                        —
                      </td>
                    );
                  }
                  const reference = cell.reference;
                  const flagged = reference === null ? false : mode === 'preview' ? reference > 0 && cell.value >= reference : cell.value < reference;
                  const title =
                    reference === null
                      ? `${group} · ${cat}: ${n(cell.value)} tiles`
                      : mode === 'preview'
                        ? `${group} · ${cat}: about ${n(cell.value)} of ${n(reference)} eligible tiles${flagged ? ' (every eligible tile; a bigger share falls short)' : ''}`
                        : `${group} · ${cat}: ${n(cell.value)} of ${n(reference)} wanted${flagged ? ` (short by ${n(reference - cell.value)})` : ''}`;
                  return (
                    <td
                      key={cat}
                      className={`num matrix-cell${flagged ? (mode === 'preview' ? ' is-exhausted' : ' is-short') : ''}`}
                      data-testid="matrix-cell"
                      data-group={group}
                      data-category={cat}
                      title={title}
                    >
                      <span className="matrix-value">{n(cell.value)}</span>
                      <span className="bar-track">
                        <span className="bar-fill" style={{ width: `${Math.max(cell.value > 0 ? 2 : 0, (cell.value / max) * 100)}%`, background: colour.get(cat) || undefined }} />
                      </span>
                      {reference !== null && (
                        <span className="matrix-reference muted">
                          of {n(reference)} {referenceWord}
                        </span>
                      )}
                    </td>
                  );
                })}
                <td className="num strong">
                  {n(sum(row, 'value'))}
                  {hasReference && <span className="matrix-reference muted">of {n(sum(row, 'reference'))}</span>}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
