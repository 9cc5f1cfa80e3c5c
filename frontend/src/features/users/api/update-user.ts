import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { managedUserSchema, type Role, userKeys } from './schemas';

export interface UserPatch {
  role?: Role;
  is_active?: boolean;
  full_name?: string;
}

export function updateUser(id: number, patch: UserPatch) {
  return api(`/api/users/${id}/`, managedUserSchema, { method: 'PATCH', body: patch });
}

export function useUpdateUser() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, patch }: { id: number; patch: UserPatch }) => updateUser(id, patch),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: userKeys.all }),
  });
}
