import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, paginated } from '@/lib/api';
import { managedUserSchema, userKeys } from './schemas';

export const USERS_PAGE_SIZE = 100;

export function getUsers(page: number) {
  return api('/api/users/', paginated(managedUserSchema), { params: { page, page_size: USERS_PAGE_SIZE } });
}

export function useUsers(page: number) {
  return useQuery({ queryKey: userKeys.list(page), queryFn: () => getUsers(page), placeholderData: keepPreviousData });
}
