import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { Pagination } from '@/components/pagination';
import { paths } from '@/config/paths';
import { PREVIEW_PAGE_SIZE, useRulePreview } from '../api/tag-rules';
import type { TagRule } from '../api/schemas';

/** The slides a rule matches, and whether each already has the rule's term. */
export function RulePreviewPanel({ rule }: { rule: TagRule }) {
  const [page, setPage] = useState(1);
  const preview = useRulePreview(rule.id, page);
  if (preview.isLoading) return <Loading label="Matching slides…" />;
  if (preview.isError) return <ErrorMessage error={preview.error} onRetry={() => preview.refetch()} />;
  const data = preview.data;
  if (!data) return null;
  return (
    <div className="rule-preview-panel" data-testid="rule-preview-panel">
      <p>
        <strong>{data.count.toLocaleString('en-US')}</strong> slides match; {data.results.filter((s) => !s.has_term).length} on this page lack “
        {rule.term_name}”.
      </p>
      {data.results.length > 0 && (
        <table className="data-table compact" aria-label={`Slides matching ${rule.name}`}>
          <thead>
            <tr>
              <th>Slide</th>
              <th>Path</th>
              <th>Has term</th>
            </tr>
          </thead>
          <tbody>
            {data.results.map((s) => (
              <tr key={s.id} data-testid="preview-slide">
                <td>
                  <Link to={paths.slide(s.id)}>{s.name}</Link>
                </td>
                <td className="path-cell">{s.relative_path}</td>
                <td>{s.has_term ? 'yes' : <strong>no</strong>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data.count > PREVIEW_PAGE_SIZE && <Pagination page={page} pageSize={PREVIEW_PAGE_SIZE} count={data.count} onPageChange={setPage} />}
    </div>
  );
}
