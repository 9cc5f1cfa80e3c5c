import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, paginated } from '@/lib/api';
import { groupKeys, groupSchema } from './schemas';

export const GROUPS_PAGE_SIZE = 100;

export function getGroups(page: number) {
  return api('/api/groups/', paginated(groupSchema), { params: { page, page_size: GROUPS_PAGE_SIZE } });
}

export function useGroups(page: number) {
  return useQuery({ queryKey: groupKeys.list(page), queryFn: () => getGroups(page), placeholderData: keepPreviousData });
}
