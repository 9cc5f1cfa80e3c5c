import { errorMessage } from '@/lib/api-error';

interface Props {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}

/** Inline, readable rendering of a failed query or mutation. */
export function ErrorMessage({ error, title, onRetry }: Props) {
  return (
    <div className="error-message" role="alert" data-testid="error-message">
      {title && <strong>{title} </strong>}
      <span>{errorMessage(error)}</span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
