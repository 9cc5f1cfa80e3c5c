import { ErrorMessage } from '@/components/error-message';
import { useFacets } from '../api/get-facets';
import { useRootOptions } from '../api/get-slide-roots-options';
import { useCommittedText } from '../hooks/use-committed-text';
import type { SlideFilters as Filters } from '../hooks/use-slide-filters';
import { KnowledgeFilters } from './knowledge-filters';

export const ORDERINGS: Array<{ value: string; label: string }> = [
  { value: 'name', label: 'Name (A–Z)' },
  { value: '-name', label: 'Name (Z–A)' },
  { value: '-created_at', label: 'Newest first' },
  { value: 'created_at', label: 'Oldest first' },
  { value: '-size_bytes', label: 'Largest first' },
  { value: 'size_bytes', label: 'Smallest first' },
  { value: 'mpp_x', label: 'Resolution (finest first)' },
  { value: '-mpp_x', label: 'Resolution (coarsest first)' },
];

interface Props {
  filters: Filters;
  update: (patch: Partial<Filters>, opts?: { replace?: boolean }) => void;
  clear: () => void;
}

function toggled(list: string[], value: string): string[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

export function SlideFilters({ filters, update, clear }: Props) {
  const facets = useFacets();
  const roots = useRootOptions();
  const [search, setSearch] = useCommittedText(filters.search, (v) => update({ search: v }, { replace: true }));
  const [mppMin, setMppMin] = useCommittedText(filters.mpp_min, (v) => update({ mpp_min: v }, { replace: true }), 500);
  const [mppMax, setMppMax] = useCommittedText(filters.mpp_max, (v) => update({ mpp_max: v }, { replace: true }), 500);

  // Selected values stay visible even when the facets have not loaded or no longer list them.
  const statusOptions = facets.data?.status ?? [];
  const vendorOptions = facets.data?.vendor ?? [];
  const withSelected = (options: Array<{ value: string; count: number }>, selected: string[]) => [
    ...options,
    ...selected.filter((s) => !options.some((o) => o.value === s)).map((value) => ({ value, count: 0 })),
  ];

  return (
    <aside className="filters" aria-label="Filters">
      <div className="filter-group">
        <label htmlFor="slide-search">Search</label>
        <input
          id="slide-search"
          type="search"
          data-testid="slide-search"
          placeholder="Name or path…"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>

      <fieldset className="filter-group">
        <legend>Status</legend>
        {facets.isError && <ErrorMessage error={facets.error} />}
        {withSelected(statusOptions, filters.status).map((o) => (
          <label key={o.value} className="check">
            <input
              type="checkbox"
              checked={filters.status.includes(o.value)}
              onChange={() => update({ status: toggled(filters.status, o.value) })}
            />
            <span className={`dot dot-${o.value}`} aria-hidden="true" />
            {o.value}
            <span className="muted count">{o.count}</span>
          </label>
        ))}
      </fieldset>

      <fieldset className="filter-group">
        <legend>Vendor</legend>
        {vendorOptions.length === 0 && filters.vendor.length === 0 && <span className="muted">—</span>}
        {withSelected(vendorOptions, filters.vendor).map((o) => (
          <label key={o.value} className="check">
            <input
              type="checkbox"
              checked={filters.vendor.includes(o.value)}
              onChange={() => update({ vendor: toggled(filters.vendor, o.value) })}
            />
            {o.value || '(unknown)'}
            <span className="muted count">{o.count}</span>
          </label>
        ))}
      </fieldset>

      <fieldset className="filter-group">
        <legend>
          Resolution <span className="unit">(µm/px)</span>
        </legend>
        <div className="range-inputs">
          <input
            type="number"
            step="0.01"
            min="0"
            placeholder="min"
            aria-label="Minimum mpp"
            value={mppMin}
            onChange={(e) => setMppMin(e.target.value)}
          />
          <span aria-hidden="true">–</span>
          <input
            type="number"
            step="0.01"
            min="0"
            placeholder="max"
            aria-label="Maximum mpp"
            value={mppMax}
            onChange={(e) => setMppMax(e.target.value)}
          />
        </div>
      </fieldset>

      <div className="filter-group">
        <label htmlFor="slide-root">Slide root</label>
        {roots.isError && <ErrorMessage error={roots.error} />}
        <select id="slide-root" value={filters.root} onChange={(e) => update({ root: e.target.value })}>
          <option value="">All roots</option>
          {(roots.data?.results ?? []).map((r) => (
            <option key={r.id} value={String(r.id)}>
              {r.name}
            </option>
          ))}
          {filters.root && !roots.data?.results.some((r) => String(r.id) === filters.root) && (
            <option value={filters.root}>Root #{filters.root}</option>
          )}
        </select>
      </div>

      <KnowledgeFilters filters={filters} update={update} />

      <div className="filter-group">
        <label htmlFor="slide-ordering">Sort by</label>
        <select id="slide-ordering" value={filters.ordering} onChange={(e) => update({ ordering: e.target.value })}>
          {ORDERINGS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </div>

      <button type="button" className="btn btn-small" onClick={clear}>
        Reset filters
      </button>
    </aside>
  );
}
