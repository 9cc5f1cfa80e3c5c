import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { slideKeys } from './slide-schemas';

export function addGroupMembers(groupId: number, slideIds: number[]) {
  return api(`/api/groups/${groupId}/members/`, z.unknown(), {
    method: 'POST',
    body: { add: slideIds, remove: [] },
  });
}

export function useAddGroupMembers() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ groupId, slideIds }: { groupId: number; slideIds: number[] }) => addGroupMembers(groupId, slideIds),
    // Group counts live on the groups page; here the group filter's results may change.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: slideKeys.all }),
  });
}
