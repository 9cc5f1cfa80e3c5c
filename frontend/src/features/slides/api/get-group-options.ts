import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, paginated } from '@/lib/api';
import { slideKeys } from './slide-schemas';

/** Only what the group filter and "Add to group…" need; the groups feature owns the rest. */
const groupOptionSchema = z.object({ id: z.number(), name: z.string(), kind: z.string() }).loose();
export type GroupOption = z.infer<typeof groupOptionSchema>;

export function getGroupOptions() {
  return api('/api/groups/', paginated(groupOptionSchema), { params: { page_size: 200 } });
}

export function useGroupOptions() {
  return useQuery({ queryKey: slideKeys.groupOptions, queryFn: getGroupOptions });
}
