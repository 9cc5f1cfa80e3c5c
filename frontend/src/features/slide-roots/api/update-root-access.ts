import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, paginated } from '@/lib/api';
import { rootKeys, slideRootSchema, userOptionSchema } from './schemas';

export interface RootAccess {
  restricted: boolean;
  allowed_users: number[];
}

/** Restrict a root to admins and the chosen users, or open it again (admins only). */
export function updateRootAccess({ id, ...body }: RootAccess & { id: number }) {
  return api(`/api/slide-roots/${id}/`, slideRootSchema, { method: 'PATCH', body });
}

export function useUpdateRootAccess() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: updateRootAccess,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: rootKeys.list }),
  });
}

/** The users an admin may grant access to (admins see everything anyway). */
export function useUserOptions() {
  return useQuery({
    queryKey: rootKeys.users,
    queryFn: () => api('/api/users/', paginated(userOptionSchema), { params: { page_size: 200 } }),
    select: (data) => data.results.filter((u) => u.role !== 'admin'),
  });
}
