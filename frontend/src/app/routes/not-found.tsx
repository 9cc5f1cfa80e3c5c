import { Link } from 'react-router-dom';
import { PageMessage } from '@/components/page-message';
import { paths } from '@/config/paths';

export function NotFoundPage() {
  return (
    <PageMessage title="Page not found">
      <Link to={paths.slides}>Go to slides</Link>
    </PageMessage>
  );
}
