import { useState } from 'react';
import type { CategoryOption } from '../api/get-categories';
import { termMatches } from '../lib/term-match';

interface Props {
  category: CategoryOption;
  /** Term ids not to offer (the slide has them already). */
  exclude: ReadonlySet<number>;
  onPick: (termId: number) => void;
  disabled?: boolean;
  /** Single-valued categories say "Replace" so that nobody is surprised the old term goes. */
  replaces?: boolean;
}

const MAX_SHOWN = 10;

/** A type-to-filter list of one category's active terms; a click picks one. */
export function TermSearchPicker({ category, exclude, onPick, disabled, replaces }: Props) {
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState(false);
  const matches = category.terms.filter((t) => t.active && !exclude.has(t.id) && termMatches(t, query));

  const pick = (id: number) => {
    onPick(id);
    setQuery('');
    setOpen(false);
  };

  return (
    <div
      className="term-picker"
      onBlur={(e) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOpen(false);
      }}
    >
      <input
        type="search"
        aria-label={`${replaces ? 'Replace' : 'Add'} ${category.name} term`}
        placeholder={replaces ? 'Replace…' : 'Add term…'}
        value={query}
        disabled={disabled}
        onFocus={() => setOpen(true)}
        onChange={(e) => {
          setQuery(e.target.value);
          setOpen(true);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setOpen(false);
          if (e.key === 'Enter' && matches.length > 0) {
            e.preventDefault();
            pick(matches[0].id);
          }
        }}
      />
      {open && (
        <ul className="term-options" role="listbox" aria-label={`${category.name} terms`}>
          {matches.slice(0, MAX_SHOWN).map((term) => (
            <li key={term.id}>
              <button type="button" role="option" aria-selected={false} onClick={() => pick(term.id)}>
                {term.name}
                {term.synonyms.length > 0 && <span className="muted"> ({term.synonyms.join(', ')})</span>}
              </button>
            </li>
          ))}
          {matches.length === 0 && <li className="muted">No matching term</li>}
          {matches.length > MAX_SHOWN && <li className="muted">…type to narrow down</li>}
        </ul>
      )}
    </div>
  );
}
