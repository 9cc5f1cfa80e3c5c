/** The slide's curation state; an excluded slide shows its reason on hover. */
export function ReviewBadge({ status, reason }: { status: string; reason?: string }) {
  return (
    <span className={`badge review-${status}`} data-testid="review-status" title={reason || undefined}>
      {status}
    </span>
  );
}
