import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { managedUserSchema, type Role, userKeys } from './schemas';

export interface NewUser {
  username: string;
  password: string;
  full_name: string;
  role: Role;
}

export function createUser(body: NewUser) {
  return api('/api/users/', managedUserSchema, { method: 'POST', body });
}

export function useCreateUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createUser,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: userKeys.all }),
  });
}
