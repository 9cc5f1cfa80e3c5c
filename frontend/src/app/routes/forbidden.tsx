import { Link } from 'react-router-dom';
import { PageMessage } from '@/components/page-message';
import { paths } from '@/config/paths';

export function ForbiddenPage() {
  return (
    <PageMessage title="You don't have access">
      <p>This page is for administrators. Ask an administrator if you need it.</p>
      <Link to={paths.slides}>Back to slides</Link>
    </PageMessage>
  );
}
