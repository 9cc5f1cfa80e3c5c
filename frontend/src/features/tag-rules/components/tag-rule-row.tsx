import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import type { TagRule } from '../api/schemas';
import { useApplyTagRule, useDeleteTagRule } from '../api/tag-rules';
import { RulePreviewPanel } from './rule-preview-panel';

type Confirm = 'apply' | 'delete' | null;

export function TagRuleRow({ rule, onEdit }: { rule: TagRule; onEdit: () => void }) {
  const [previewing, setPreviewing] = useState(false);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const apply = useApplyTagRule();
  const remove = useDeleteTagRule();
  const failed = apply.isError ? apply.error : remove.isError ? remove.error : null;

  return (
    <>
      <tr data-testid="tag-rule-row" className={rule.active ? '' : 'is-inactive'}>
        <td>
          <strong>{rule.name}</strong>
        </td>
        <td>{rule.field}</td>
        <td>
          <code>{rule.pattern}</code>
        </td>
        <td>
          {rule.term_name} <span className="muted">({rule.category_key})</span>
        </td>
        <td>{rule.active ? 'active' : 'inactive'}</td>
        <td className="row-actions">
          <button type="button" className="btn btn-small" aria-pressed={previewing} onClick={() => setPreviewing(!previewing)}>
            Preview
          </button>
          <button type="button" className="btn btn-small" onClick={onEdit}>
            Edit
          </button>
          {confirm === null && (
            <>
              <button type="button" className="btn btn-small" onClick={() => setConfirm('apply')}>
                Apply
              </button>
              <button type="button" className="btn btn-small" onClick={() => setConfirm('delete')}>
                Delete
              </button>
            </>
          )}
          {confirm === 'apply' && (
            <span className="confirm" role="group" aria-label="Confirm apply">
              Tag every matching slide with “{rule.term_name}”?
              <button
                type="button"
                className="btn btn-small btn-primary"
                disabled={apply.isPending}
                onClick={() => apply.mutate(rule.id, { onSettled: () => setConfirm(null) })}
              >
                Yes, apply
              </button>
              <button type="button" className="btn btn-small" onClick={() => setConfirm(null)}>
                Cancel
              </button>
            </span>
          )}
          {confirm === 'delete' && (
            <span className="confirm" role="group" aria-label="Confirm delete">
              <button type="button" className="btn btn-small btn-danger" disabled={remove.isPending} onClick={() => remove.mutate(rule.id)}>
                Really delete
              </button>
              <button type="button" className="btn btn-small" onClick={() => setConfirm(null)}>
                Keep
              </button>
            </span>
          )}
          {apply.data && (
            <span className="ok-message" role="status" data-testid="apply-result">
              {apply.data.matched} matched, {apply.data.added} added.
            </span>
          )}
          {failed && <ErrorMessage error={failed} />}
        </td>
      </tr>
      {previewing && (
        <tr className="sub-row">
          <td colSpan={6}>
            <RulePreviewPanel rule={rule} />
          </td>
        </tr>
      )}
    </>
  );
}
