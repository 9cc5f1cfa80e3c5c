import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { isAdmin, useMe } from '@/features/auth';
import { ForbiddenPage } from '../routes/forbidden';

/** Sends anonymous visitors to the login page, remembering where they were going. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isLoading) return <Loading label="Checking your session…" />;
  if (me.isError) {
    return (
      <div className="page-message">
        <ErrorMessage error={me.error} onRetry={() => me.refetch()} />
      </div>
    );
  }
  if (!me.data) {
    const from = `${location.pathname}${location.search}${location.hash}`;
    return <Navigate to={paths.login} replace state={{ from }} />;
  }
  return <>{children}</>;
}

/** Client-side courtesy only; the server enforces roles on every admin endpoint. */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const me = useMe();
  if (!isAdmin(me.data)) return <ForbiddenPage />;
  return <>{children}</>;
}
