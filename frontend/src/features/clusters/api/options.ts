import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { clusterKeys, listOf } from './schemas';

/** Only what the new-run form needs; the tiling and groups features own the rest. */
const optionSchema = z.object({ id: z.number(), name: z.string(), slide_count: z.number().optional() }).loose();
export type Option = z.infer<typeof optionSchema>;

export function useTilingConfigOptions(enabled = true) {
  return useQuery({
    queryKey: clusterKeys.configOptions,
    queryFn: () => api('/api/tiling-configs/', listOf(optionSchema), { params: { page_size: 200 } }),
    enabled,
  });
}

export function useGroupOptions(enabled: boolean) {
  return useQuery({
    queryKey: clusterKeys.groupOptions,
    queryFn: () => api('/api/groups/', listOf(optionSchema), { params: { page_size: 200 } }),
    enabled,
  });
}
