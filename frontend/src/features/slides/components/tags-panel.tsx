import { ErrorMessage } from '@/components/error-message';
import { useCategories } from '../api/get-categories';
import { useAddSlideTag, useRemoveSlideTag } from '../api/slide-tags';
import type { SlideDetail, SlideTag } from '../api/slide-schemas';
import { ReviewControls } from './review-controls';
import { SlideTagChip } from './slide-tag-chip';
import { SuggestionsList } from './suggestions-list';
import { TermSearchPicker } from './term-search-picker';

interface Props {
  slide: SlideDetail;
  canEdit: boolean;
}

/** The slide's pathologist knowledge: terms by category, suggestions and review state. */
export function TagsPanel({ slide, canEdit }: Props) {
  const categories = useCategories();
  const add = useAddSlideTag(slide.id);
  const remove = useRemoveSlideTag(slide.id);
  const busy = add.isPending || remove.isPending;
  const tagIds = new Set(slide.tags.map((t) => t.term));

  const byCategory = new Map<string, SlideTag[]>();
  slide.tags.forEach((tag) => byCategory.set(tag.category_key, [...(byCategory.get(tag.category_key) ?? []), tag]));
  // Tags whose category the vocabulary no longer lists still show, under their key.
  const known = new Set((categories.data ?? []).map((c) => c.key));
  const orphanKeys = [...byCategory.keys()].filter((key) => !known.has(key));

  return (
    <section className="tags-panel" aria-label="Tags" data-testid="tags-panel">
      <h3>Review</h3>
      <ReviewControls slideId={slide.id} status={slide.review_status} reason={slide.review_reason} canEdit={canEdit} />

      <h3>Tags</h3>
      {categories.isError && <ErrorMessage error={categories.error} onRetry={() => categories.refetch()} />}
      {categories.isLoading && <p className="muted">Loading vocabulary…</p>}
      <dl className="tag-list">
        {(categories.data ?? []).map((category) => {
          const tags = byCategory.get(category.key) ?? [];
          if (!canEdit && tags.length === 0) return null;
          return (
            <div key={category.key} className="tag-row" data-testid={`tag-category-${category.key}`}>
              <dt title={category.multi_valued ? 'several terms allowed' : 'one term'}>{category.name}</dt>
              <dd>
                <span className="chips">
                  {tags.map((tag) => (
                    <SlideTagChip key={tag.id} tag={tag} disabled={busy} onRemove={canEdit ? () => remove.mutate(tag.term) : undefined} />
                  ))}
                </span>
                {canEdit && (
                  <TermSearchPicker
                    category={category}
                    exclude={tagIds}
                    disabled={busy}
                    replaces={!category.multi_valued && tags.length > 0}
                    onPick={(termId) => add.mutate(termId)}
                  />
                )}
              </dd>
            </div>
          );
        })}
        {orphanKeys.map((key) => (
          <div key={key} className="tag-row">
            <dt>{key}</dt>
            <dd className="chips">
              {(byCategory.get(key) ?? []).map((tag) => (
                <SlideTagChip key={tag.id} tag={tag} disabled={busy} onRemove={canEdit ? () => remove.mutate(tag.term) : undefined} />
              ))}
            </dd>
          </div>
        ))}
      </dl>
      {!canEdit && slide.tags.length === 0 && <p className="muted">No tags yet.</p>}
      {add.isError && <ErrorMessage error={add.error} />}
      {remove.isError && <ErrorMessage error={remove.error} />}

      <h3>Suggestions</h3>
      <SuggestionsList slideId={slide.id} canEdit={canEdit} />
    </section>
  );
}
