import { NavLink, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { ErrorBoundary } from '@/components/error-boundary';
import { ErrorMessage } from '@/components/error-message';
import { env } from '@/config/env';
import { paths } from '@/config/paths';
import { isAdmin, useCurrentUser, useLogout } from '@/features/auth';

export function AppShell() {
  const user = useCurrentUser();
  const logout = useLogout();
  const navigate = useNavigate();
  const location = useLocation();
  const admin = isAdmin(user);
  if (!user) return null;

  return (
    <div className="app-shell">
      <header className="app-header">
        <NavLink to={paths.slides} className="brand">
          <span className="brand-mark" aria-hidden="true" />
          RudolfV
        </NavLink>
        <nav className="main-nav" aria-label="Main">
          <NavLink to={paths.slides}>Slides</NavLink>
          <NavLink to={paths.groups}>Groups</NavLink>
          {admin && <NavLink to={paths.vocabulary}>Vocabulary</NavLink>}
          {admin && <NavLink to={paths.tagRules}>Tag rules</NavLink>}
          <NavLink to={paths.audit}>Audit</NavLink>
          <NavLink to={paths.tiling}>Tiling</NavLink>
          <NavLink to={paths.clusters}>Clusters</NavLink>
          <NavLink to={paths.datasets}>Datasets</NavLink>
          <NavLink to={paths.training}>Training</NavLink>
          {admin && <NavLink to={paths.slideRoots}>Slide roots</NavLink>}
          {admin && <NavLink to={paths.users}>Users</NavLink>}
          <a href={env.apiDocsUrl} target="_blank" rel="noreferrer">
            API docs
          </a>
        </nav>
        <span className="spacer" />
        <NavLink to={paths.accountTokens} className="header-link">
          API tokens
        </NavLink>
        <span className="user-badge" data-testid="current-user">
          <span className="username">{user.full_name || user.username}</span>
          <span className={`role role-${user.role}`}>{user.role}</span>
        </span>
        <button
          type="button"
          className="btn btn-small btn-ghost"
          disabled={logout.isPending}
          onClick={() => logout.mutate(undefined, { onSettled: () => navigate(paths.login, { replace: true }) })}
        >
          Log out
        </button>
      </header>
      {logout.isError && <ErrorMessage error={logout.error} />}
      <main className="app-main">
        <ErrorBoundary resetKey={location.pathname}>
          <Outlet />
        </ErrorBoundary>
      </main>
    </div>
  );
}
