import { useMemo, useState } from 'react';

/** The full OpenSlide property map; long, so folded away and filterable. */
export function PropertiesTable({ properties }: { properties: Record<string, string> }) {
  const [query, setQuery] = useState('');
  const entries = useMemo(() => Object.entries(properties).sort(([a], [b]) => a.localeCompare(b)), [properties]);
  const q = query.trim().toLowerCase();
  const shown = q ? entries.filter(([k, v]) => k.toLowerCase().includes(q) || v.toLowerCase().includes(q)) : entries;

  return (
    <details className="properties">
      <summary>OpenSlide properties ({entries.length})</summary>
      <input
        type="search"
        placeholder="Filter properties…"
        aria-label="Filter properties"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      <div className="table-wrap properties-scroll">
        <table className="data-table compact">
          <tbody>
            {shown.map(([key, value]) => (
              <tr key={key}>
                <th scope="row">{key}</th>
                <td>{value}</td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={2} className="muted">
                  No property matches.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </details>
  );
}
