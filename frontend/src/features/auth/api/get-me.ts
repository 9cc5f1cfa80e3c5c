import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { isApiError } from '@/lib/api-error';
import { meQueryKey, userSchema, type User } from './user-schema';

/** `null` means "not logged in" (the server said 401); other failures stay errors. */
export async function getMe(): Promise<User | null> {
  try {
    return await api('/api/auth/me/', userSchema);
  } catch (err) {
    if (isApiError(err, 401) || isApiError(err, 403)) return null;
    throw err;
  }
}

export function useMe() {
  return useQuery({ queryKey: meQueryKey, queryFn: getMe, staleTime: 5 * 60_000 });
}
