import { useState } from 'react';
import type { CategoryOption } from '../api/get-categories';
import { termMatches } from '../lib/term-match';

interface Props {
  categories: CategoryOption[];
  selected: number[];
  onChange: (selected: number[]) => void;
  /** At most one term per single-valued category (bulk add: the server refuses two). */
  onePerSingleCategory?: boolean;
  /** Offer inactive terms too (filtering by and removing old terms must stay possible). */
  includeInactive?: boolean;
  idPrefix: string;
}

const FILTER_FROM = 8;

function CategoryChecklist({
  category,
  selected,
  onChange,
  onePerSingleCategory,
  includeInactive,
  idPrefix,
}: Omit<Props, 'categories'> & { category: CategoryOption }) {
  const [query, setQuery] = useState('');
  const terms = category.terms.filter((t) => (includeInactive || t.active || selected.includes(t.id)) && termMatches(t, query));
  const toggle = (id: number) => {
    if (selected.includes(id)) return onChange(selected.filter((s) => s !== id));
    const others = onePerSingleCategory && !category.multi_valued ? category.terms.map((t) => t.id) : [];
    onChange([...selected.filter((s) => !others.includes(s)), id]);
  };
  return (
    <fieldset className="filter-group term-checklist" data-testid={`${idPrefix}-${category.key}`}>
      <legend>{category.name}</legend>
      {category.terms.length > FILTER_FROM && (
        <input type="search" aria-label={`Find ${category.name} term`} placeholder="Find…" value={query} onChange={(e) => setQuery(e.target.value)} />
      )}
      <div className="term-checks">
        {terms.map((term) => (
          <label key={term.id} className="check">
            <input
              type={onePerSingleCategory && !category.multi_valued ? 'radio' : 'checkbox'}
              name={`${idPrefix}-${category.key}`}
              checked={selected.includes(term.id)}
              onClick={() => toggle(term.id)}
              onChange={() => undefined}
            />
            {term.name}
            {!term.active && <span className="muted"> (inactive)</span>}
          </label>
        ))}
        {terms.length === 0 && <span className="muted">—</span>}
      </div>
    </fieldset>
  );
}

/** Term checkboxes grouped by category, shared by the filters and the bulk tag form. */
export function TermChecklist({ categories, ...rest }: Props) {
  return (
    <>
      {categories.map((category) => (
        <CategoryChecklist key={category.key} category={category} {...rest} />
      ))}
    </>
  );
}
