import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { paths } from '@/config/paths';
import { useGroupSummary } from '../api/get-group-summary';

const n = (value: number) => value.toLocaleString('en-US');

/** How the whole collection splits into groups; the odd cases link to those slides. */
export function GroupSummaryBar() {
  const summary = useGroupSummary();
  if (summary.isError) return <ErrorMessage error={summary.error} onRetry={() => summary.refetch()} />;
  const s = summary.data;
  return (
    <div className="summary-bar" data-testid="group-summary">
      <span>
        <strong>{s ? n(s.slides) : '…'}</strong> slides
      </span>
      <span>
        <Link to={`${paths.slides}?groups=none`}>
          <strong>{s ? n(s.in_no_group) : '…'}</strong> in no group
        </Link>
      </span>
      <span>
        <Link to={`${paths.slides}?groups=multiple`}>
          <strong>{s ? n(s.in_multiple_groups) : '…'}</strong> in several groups
        </Link>
      </span>
    </div>
  );
}
