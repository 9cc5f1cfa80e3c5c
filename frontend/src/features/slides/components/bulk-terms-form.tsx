import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useCategories } from '../api/get-categories';
import { TermChecklist } from './term-checklist';

interface Props {
  mode: 'add' | 'remove';
  pending: boolean;
  onSubmit: (termIds: number[]) => void;
  onCancel: () => void;
}

/** Pick the terms to add to (or remove from) every selected slide. */
export function BulkTermsForm({ mode, pending, onSubmit, onCancel }: Props) {
  const categories = useCategories();
  const [picked, setPicked] = useState<number[]>([]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (picked.length) onSubmit(picked);
  };
  return (
    <form className="bulk-panel" onSubmit={submit} aria-label={mode === 'add' ? 'Add terms' : 'Remove terms'} data-testid="bulk-terms-form">
      {categories.isError && <ErrorMessage error={categories.error} />}
      <div className="bulk-term-grid">
        <TermChecklist
          idPrefix={`bulk-${mode}`}
          categories={categories.data ?? []}
          selected={picked}
          onChange={setPicked}
          onePerSingleCategory={mode === 'add'}
          includeInactive={mode === 'remove'}
        />
      </div>
      <div className="bulk-panel-actions">
        <button type="submit" className="btn btn-primary btn-small" disabled={!picked.length || pending} data-testid="bulk-apply">
          {mode === 'add' ? `Add ${picked.length || ''} term${picked.length === 1 ? '' : 's'}` : `Remove ${picked.length || ''} term${picked.length === 1 ? '' : 's'}`}
        </button>
        <button type="button" className="btn btn-small" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
