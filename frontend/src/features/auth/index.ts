export { useMe } from './api/get-me';
export { useLogout } from './api/logout';
export { LoginForm } from './components/login-form';
export { useCurrentUser, isAdmin, canCurate } from './hooks/use-current-user';
export type { User, Role } from './api/user-schema';
