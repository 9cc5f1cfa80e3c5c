import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import type { TagRule } from '../api/schemas';
import { useTagRules } from '../api/tag-rules';
import { TagRuleForm } from './tag-rule-form';
import { TagRuleRow } from './tag-rule-row';

type Editing = { rule: TagRule | null } | null;

/** Path and name patterns that suggest (and, applied, add) a term. Admins only. */
export function TagRulesPage() {
  const rules = useTagRules();
  const [editing, setEditing] = useState<Editing>(null);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Tag rules</h1>
        <span className="spacer" />
        {!editing && (
          <button type="button" className="btn btn-primary" onClick={() => setEditing({ rule: null })}>
            New rule
          </button>
        )}
      </div>
      <p className="muted">
        A rule matches a regular expression against each slide's relative path or file name. Active rules feed the suggestions in the
        viewer; “Apply” tags every matching slide at once.
      </p>
      {editing && <TagRuleForm key={editing.rule?.id ?? 'new'} rule={editing.rule} onDone={() => setEditing(null)} />}
      {rules.isLoading && <Loading />}
      {rules.isError && <ErrorMessage error={rules.error} onRetry={() => rules.refetch()} />}
      {rules.data && (
        <div className="table-wrap">
          <table className="data-table" aria-label="Tag rules">
            <thead>
              <tr>
                <th>Name</th>
                <th>Field</th>
                <th>Pattern</th>
                <th>Term</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rules.data.results.map((rule) => (
                <TagRuleRow key={rule.id} rule={rule} onEdit={() => setEditing({ rule })} />
              ))}
              {rules.data.results.length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    No tag rules yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
