import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, ensureCsrf } from '@/lib/api';
import { meQueryKey, userSchema } from './user-schema';

export interface Credentials {
  username: string;
  password: string;
}

export async function login(credentials: Credentials) {
  await ensureCsrf();
  return api('/api/auth/login/', userSchema, { method: 'POST', body: credentials });
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: login,
    onSuccess: (user) => {
      // Django rotates the CSRF token at login; the new cookie is read on the next request.
      queryClient.clear();
      queryClient.setQueryData(meQueryKey, user);
    },
  });
}
