import { formatDimensions, formatMpp } from '@/utils/format';
import type { Slide } from '../api/slide-schemas';

export function SlideMetaLine({ slide }: { slide: Slide }) {
  const parts = [slide.vendor || null, slide.width ? formatDimensions(slide.width, slide.height) : null, slide.mpp_x ? formatMpp(slide.mpp_x) : null];
  return <span className="meta-line">{parts.filter(Boolean).join(' · ') || '—'}</span>;
}

/** Failed and missing slides say why, right where they are listed. */
export function FailureReason({ slide }: { slide: Slide }) {
  if (slide.status === 'registered') return null;
  const reason = slide.failure_reason || (slide.status === 'missing' ? 'File no longer found on disk.' : '');
  return reason ? (
    <span className="failure-reason" data-testid="failure-reason" title={reason}>
      {reason}
    </span>
  ) : null;
}
