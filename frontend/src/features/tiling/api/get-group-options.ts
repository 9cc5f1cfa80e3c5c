import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, paginated } from '@/lib/api';
import { tilingKeys } from './schemas';

/** Only what the run target picker needs; the groups feature owns the rest. */
const groupOptionSchema = z.object({ id: z.number(), name: z.string(), slide_count: z.number().optional() }).loose();

export function getGroupOptions() {
  return api('/api/groups/', paginated(groupOptionSchema), { params: { page_size: 200 } });
}

export function useGroupOptions(enabled: boolean) {
  return useQuery({ queryKey: tilingKeys.groupOptions, queryFn: getGroupOptions, enabled });
}
