import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import type { Category, Term } from '../api/schemas';
import { useUpdateTerm } from '../api/vocabulary';
import { TermForm } from './term-form';

type Editing = { term: Term | null } | null;

function TermRow({ term, canEdit, onEdit }: { term: Term; canEdit: boolean; onEdit: () => void }) {
  const update = useUpdateTerm();
  return (
    <tr data-testid="term-row" className={term.active ? '' : 'is-inactive'}>
      <td>{term.name}</td>
      <td>{term.code ? <code>{term.code}</code> : '—'}</td>
      <td>{term.synonyms.join(', ') || '—'}</td>
      <td>{term.active ? 'active' : <span className="muted">inactive</span>}</td>
      {canEdit && (
        <td className="row-actions">
          <button type="button" className="btn btn-small" onClick={onEdit}>
            Edit
          </button>
          <button
            type="button"
            className="btn btn-small"
            disabled={update.isPending}
            // Terms in use cannot be deleted; deactivating keeps old tags but hides the term from pickers.
            onClick={() => update.mutate({ id: term.id, patch: { active: !term.active } })}
          >
            {term.active ? 'Deactivate' : 'Activate'}
          </button>
          {update.isError && <ErrorMessage error={update.error} />}
        </td>
      )}
    </tr>
  );
}

export function CategorySection({ category, canEdit }: { category: Category; canEdit: boolean }) {
  const [editing, setEditing] = useState<Editing>(null);
  return (
    <section className="category-section" aria-label={category.name} data-testid={`category-${category.key}`}>
      <div className="page-head">
        <h2>
          {category.name} <code className="muted">{category.key}</code>
        </h2>
        <span className="muted">{category.multi_valued ? 'several terms per slide' : 'one term per slide'}</span>
        <span className="spacer" />
        {canEdit && !editing && (
          <button type="button" className="btn btn-small" onClick={() => setEditing({ term: null })}>
            Add term
          </button>
        )}
      </div>
      {category.description && <p className="muted">{category.description}</p>}
      {editing && (
        <TermForm key={editing.term?.id ?? 'new'} categoryId={category.id} term={editing.term} onDone={() => setEditing(null)} />
      )}
      <table className="data-table compact" aria-label={`${category.name} terms`}>
        <thead>
          <tr>
            <th>Term</th>
            <th>Code</th>
            <th>Synonyms</th>
            <th>State</th>
            {canEdit && <th />}
          </tr>
        </thead>
        <tbody>
          {category.terms.map((term) => (
            <TermRow key={term.id} term={term} canEdit={canEdit} onEdit={() => setEditing({ term })} />
          ))}
          {category.terms.length === 0 && (
            <tr>
              <td colSpan={canEdit ? 5 : 4} className="muted">
                No terms yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
