import { formatDateTime } from '@/utils/format';
import type { SlideTag } from '../api/slide-schemas';

function describe(tag: SlideTag): string {
  const who = tag.created_by === null ? 'unknown' : typeof tag.created_by === 'number' ? `user #${tag.created_by}` : tag.created_by;
  const source = tag.source && tag.source !== 'manual' ? ` (${tag.source})` : '';
  return `Added by ${who}, ${formatDateTime(tag.created_at)}${source}`;
}

interface Props {
  tag: SlideTag;
  onRemove?: () => void;
  disabled?: boolean;
}

/** A slide's term; who added it and when show on hover. */
export function SlideTagChip({ tag, onRemove, disabled }: Props) {
  return (
    <span className="chip" title={describe(tag)} data-testid="slide-tag">
      {tag.term_name}
      {onRemove && (
        <button type="button" className="chip-remove" aria-label={`Remove ${tag.term_name}`} disabled={disabled} onClick={onRemove}>
          ×
        </button>
      )}
    </span>
  );
}
