import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { useVocabulary } from '../api/vocabulary';
import { CategoryForm } from './category-form';
import { CategorySection } from './category-section';

/** `canEdit`: admins manage the vocabulary; others may look it up. */
export function VocabularyPage({ canEdit }: { canEdit: boolean }) {
  const vocabulary = useVocabulary();
  const [adding, setAdding] = useState(false);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Vocabulary</h1>
        <span className="spacer" />
        {canEdit && !adding && (
          <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
            Add category
          </button>
        )}
      </div>
      {!canEdit && <p className="muted">The terms pathologists tag slides with. Only administrators change them.</p>}
      {adding && <CategoryForm onDone={() => setAdding(false)} />}
      {vocabulary.isLoading && <Loading />}
      {vocabulary.isError && <ErrorMessage error={vocabulary.error} onRetry={() => vocabulary.refetch()} />}
      {(vocabulary.data ?? []).map((category) => (
        <CategorySection key={category.id} category={category} canEdit={canEdit} />
      ))}
    </div>
  );
}
