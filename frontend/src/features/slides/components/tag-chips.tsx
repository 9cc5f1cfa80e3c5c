import type { SlideTag } from '../api/slide-schemas';

/** Compact, read-only term chips for lists; the category shows on hover. */
export function TagChips({ tags, max = 6 }: { tags: SlideTag[]; max?: number }) {
  if (tags.length === 0) return null;
  const shown = tags.slice(0, max);
  return (
    <span className="chips compact" data-testid="tag-chips">
      {shown.map((tag) => (
        <span key={tag.id} className="chip" title={`${tag.category_key}: ${tag.term_name}`}>
          {tag.term_name}
        </span>
      ))}
      {tags.length > max && <span className="muted">+{tags.length - max}</span>}
    </span>
  );
}
