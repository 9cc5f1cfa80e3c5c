import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useReviewSlides } from '../api/review-slides';
import { ExcludeForm } from './exclude-form';
import { ReviewBadge } from './review-badge';

interface Props {
  slideId: number;
  status: string;
  reason: string;
  canEdit: boolean;
}

export function ReviewControls({ slideId, status, reason, canEdit }: Props) {
  const review = useReviewSlides();
  const [excluding, setExcluding] = useState(false);
  return (
    <div className="review-controls">
      <div className="review-line">
        <ReviewBadge status={status} reason={reason} />
        {status === 'excluded' && reason && <span className="muted">{reason}</span>}
        {canEdit && !excluding && (
          <>
            <span className="spacer" />
            <button
              type="button"
              className="btn btn-small"
              disabled={review.isPending || status === 'reviewed'}
              onClick={() => review.mutate({ slides: [slideId], status: 'reviewed' })}
            >
              Mark reviewed
            </button>
            <button type="button" className="btn btn-small" disabled={review.isPending} onClick={() => setExcluding(true)}>
              Exclude…
            </button>
          </>
        )}
      </div>
      {excluding && (
        <ExcludeForm
          pending={review.isPending}
          onCancel={() => setExcluding(false)}
          onSubmit={(why) =>
            review.mutate({ slides: [slideId], status: 'excluded', reason: why }, { onSuccess: () => setExcluding(false) })
          }
        />
      )}
      {review.isError && <ErrorMessage error={review.error} />}
    </div>
  );
}
