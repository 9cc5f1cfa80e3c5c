import { useMe } from '../api/get-me';
import type { User } from '../api/user-schema';

/**
 * The logged-in user, or null for the moment between logout and the redirect to the
 * login page (components render once more before the route guard moves them away).
 */
export function useCurrentUser(): User | null {
  return useMe().data ?? null;
}

export function isAdmin(user: User | null | undefined): boolean {
  return user?.role === 'admin';
}

/** Pathologists and admins tag, review and manage groups; viewers only read. */
export function canCurate(user: User | null | undefined): boolean {
  return user?.role === 'admin' || user?.role === 'pathologist';
}
