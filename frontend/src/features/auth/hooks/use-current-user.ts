import { useMe } from '../api/get-me';
import type { User } from '../api/user-schema';

/** For components rendered inside the authenticated shell, where the user is known. */
export function useCurrentUser(): User {
  const { data } = useMe();
  if (!data) throw new Error('useCurrentUser used outside an authenticated route');
  return data;
}

export function isAdmin(user: User | null | undefined): boolean {
  return user?.role === 'admin';
}
