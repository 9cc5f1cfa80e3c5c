import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { groupKeys, groupSummarySchema } from './schemas';

export function getGroupSummary() {
  return api('/api/groups/summary/', groupSummarySchema);
}

export function useGroupSummary() {
  return useQuery({ queryKey: groupKeys.summary, queryFn: getGroupSummary });
}
