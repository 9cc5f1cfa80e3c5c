import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { meQueryKey } from './user-schema';

export function logout() {
  return api('/api/auth/logout/', null, { method: 'POST' });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: logout,
    onSettled: () => {
      // Whatever the answer, drop every cached answer that belonged to this user.
      queryClient.clear();
      queryClient.setQueryData(meQueryKey, null);
    },
  });
}
