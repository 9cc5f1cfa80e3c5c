import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api, paginated } from '@/lib/api';
import { groupKeys, snapshotSchema } from './schemas';

// The contract does not say whether the snapshot list is paginated; accept both shapes.
const snapshotListSchema = z.union([paginated(snapshotSchema).transform((p) => p.results), z.array(snapshotSchema)]);

export function getSnapshots(groupId: number) {
  return api(`/api/groups/${groupId}/snapshots/`, snapshotListSchema);
}

export function useSnapshots(groupId: number) {
  return useQuery({ queryKey: groupKeys.snapshots(groupId), queryFn: () => getSnapshots(groupId) });
}

export function freezeGroup(groupId: number) {
  return api(`/api/groups/${groupId}/freeze/`, snapshotSchema, { method: 'POST' });
}

export function useFreezeGroup() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: freezeGroup,
    onSuccess: (snapshot) => queryClient.invalidateQueries({ queryKey: groupKeys.snapshots(snapshot.group) }),
  });
}
