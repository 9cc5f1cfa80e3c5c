import { Navigate, useLocation, useNavigate } from 'react-router-dom';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { LoginForm, useMe } from '@/features/auth';

/** Only same-app paths are followed after login, never another origin. */
export function safeRedirect(from: unknown): string {
  if (typeof from !== 'string' || !from.startsWith('/') || from.startsWith('//') || from.startsWith(paths.login)) {
    return paths.slides;
  }
  return from;
}

export function LoginPage() {
  const me = useMe();
  const location = useLocation();
  const navigate = useNavigate();
  const target = safeRedirect((location.state as { from?: unknown } | null)?.from);

  if (me.isLoading) return <Loading />;
  if (me.data) return <Navigate to={target} replace />;

  return (
    <div className="login-page">
      <div className="login-card">
        <div className="brand login-brand">
          <span className="brand-mark" aria-hidden="true" />
          RudolfV
        </div>
        <p className="muted">Computational pathology platform</p>
        <LoginForm onSuccess={() => navigate(target, { replace: true })} />
      </div>
    </div>
  );
}
