import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, listOf } from './api';

/**
 * Id-and-name lists for pickers in forms that launch runs (tiling, clusters). Only what a picker
 * needs; the tiling and groups features own the full resources.
 */
const optionSchema = z.object({ id: z.number(), name: z.string(), slide_count: z.number().optional() }).loose();
export type Option = z.infer<typeof optionSchema>;

export const optionKeys = {
  tilingConfigs: ['options', 'tiling-configs'] as const,
  groups: ['options', 'groups'] as const,
};

export function useTilingConfigOptions(enabled = true) {
  return useQuery({
    queryKey: optionKeys.tilingConfigs,
    queryFn: () => api('/api/tiling-configs/', listOf(optionSchema), { params: { page_size: 200 } }),
    enabled,
  });
}

export function useGroupOptions(enabled: boolean) {
  return useQuery({
    queryKey: optionKeys.groups,
    queryFn: () => api('/api/groups/', listOf(optionSchema), { params: { page_size: 200 } }),
    enabled,
  });
}
