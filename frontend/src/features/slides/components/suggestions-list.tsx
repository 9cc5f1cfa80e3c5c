import { ErrorMessage } from '@/components/error-message';
import { useSuggestions } from '../api/get-suggestions';
import { useAddSlideTag } from '../api/slide-tags';

/** Terms the metadata or the tag rules suggest; confirming one tags the slide with it. */
export function SuggestionsList({ slideId, canEdit }: { slideId: number; canEdit: boolean }) {
  const suggestions = useSuggestions(slideId, true);
  const add = useAddSlideTag(slideId);
  if (suggestions.isLoading) return <p className="muted">Loading suggestions…</p>;
  if (suggestions.isError) return <ErrorMessage error={suggestions.error} />;
  const list = suggestions.data ?? [];
  if (list.length === 0) return <p className="muted">No suggestions.</p>;
  return (
    <>
      <ul className="suggestions" aria-label="Suggestions">
        {list.map((s) => (
          <li key={s.term.id} data-testid="suggestion">
            <span>
              <strong>{s.term.name}</strong>
              {s.term.category_key && <span className="muted"> · {s.term.category_key}</span>}
              {s.reason && <span className="muted suggestion-reason">{s.reason}</span>}
            </span>
            {canEdit && (
              <button
                type="button"
                className="btn btn-small"
                aria-label={`Confirm ${s.term.name}`}
                disabled={add.isPending}
                onClick={() => add.mutate(s.term.id)}
              >
                Confirm
              </button>
            )}
          </li>
        ))}
      </ul>
      {add.isError && <ErrorMessage error={add.error} />}
    </>
  );
}
