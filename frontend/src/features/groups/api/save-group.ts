import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { type GroupKind, groupKeys, groupSchema } from './schemas';

export interface GroupInput {
  name: string;
  description: string;
  weight: number;
  kind: GroupKind;
  rule: string;
}

export function createGroup(body: GroupInput) {
  return api('/api/groups/', groupSchema, { method: 'POST', body });
}

export function updateGroup(id: number, body: GroupInput) {
  return api(`/api/groups/${id}/`, groupSchema, { method: 'PATCH', body });
}

export function deleteGroup(id: number) {
  return api(`/api/groups/${id}/`, null, { method: 'DELETE' });
}

/**
 * Any change moves counts in the table and the summary bar. The slide browser caches its own
 * group list for the filter and "Add to group…" (['slides', 'group-options']); refresh it too.
 */
function useInvalidateGroups() {
  const queryClient = useQueryClient();
  return () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: groupKeys.all }),
      queryClient.invalidateQueries({ queryKey: ['slides', 'group-options'] }),
    ]);
}

export function useSaveGroup() {
  const invalidate = useInvalidateGroups();
  return useMutation({
    mutationFn: ({ id, input }: { id: number | null; input: GroupInput }) => (id === null ? createGroup(input) : updateGroup(id, input)),
    onSuccess: invalidate,
  });
}

export function useDeleteGroup() {
  const invalidate = useInvalidateGroups();
  return useMutation({ mutationFn: deleteGroup, onSuccess: invalidate });
}
