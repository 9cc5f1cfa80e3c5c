import { errorMessage } from '@/lib/api-error';
import { useDebouncedValue } from '@/utils/use-debounced-value';
import { useRulePreview } from '../api/preview-rule';

/** While a rule is typed: how many slides it would hold, or where it does not parse. */
export function RulePreview({ rule }: { rule: string }) {
  const settled = useDebouncedValue(rule.trim(), 400);
  const preview = useRulePreview(settled);
  if (!settled) return <span className="muted rule-preview">Type a rule to see how many slides match.</span>;
  if (preview.isError) {
    return (
      <span className="rule-error" role="alert" data-testid="rule-error">
        {errorMessage(preview.error)}
      </span>
    );
  }
  return (
    <span className="rule-preview" data-testid="rule-preview" aria-live="polite">
      {preview.data ? (
        <>
          <strong>{preview.data.slide_count.toLocaleString('en-US')}</strong> slides match
        </>
      ) : (
        'Counting…'
      )}
      {preview.isFetching && <span className="spinner" aria-hidden="true" />}
    </span>
  );
}
