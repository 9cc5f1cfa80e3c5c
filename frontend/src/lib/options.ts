import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, listOf } from './api';

/**
 * Id-and-name lists for pickers in forms that launch runs (tiling, clusters). Only what a picker
 * needs; the tiling and groups features own the full resources.
 */
const optionSchema = z
  .object({ id: z.number(), name: z.string(), slide_count: z.number().optional(), weight: z.number().nullable().optional() })
  .loose();
export type Option = z.infer<typeof optionSchema>;

export const optionKeys = {
  tilingConfigs: ['options', 'tiling-configs'] as const,
  groups: ['options', 'groups'] as const,
  semanticCategories: ['options', 'semantic-categories'] as const,
  succeededClusterRuns: ['options', 'cluster-runs', 'succeeded'] as const,
};

const semanticCategoryOptionSchema = z
  .object({ id: z.number(), name: z.string(), colour: z.string().nullable().optional(), default_weight: z.number().nullable().optional() })
  .loose();
export type SemanticCategoryOption = z.infer<typeof semanticCategoryOptionSchema>;

const clusterRunOptionSchema = z
  .object({
    id: z.number(),
    name: z.string().nullable().optional().transform((v) => v ?? ''),
    status: z.string().optional(),
    tile_count: z.number().nullable().optional(),
    review: z.object({ total: z.number(), reviewed: z.number() }).loose().nullable().optional(),
  })
  .loose();
export type ClusterRunOption = z.infer<typeof clusterRunOptionSchema>;

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

/** Semantic categories (names, colours, default weights) for recipes and legends. */
export function useSemanticCategoryOptions(enabled = true) {
  return useQuery({
    queryKey: optionKeys.semanticCategories,
    queryFn: () => api('/api/semantic-categories/', listOf(semanticCategoryOptionSchema), { params: { page_size: 200 } }),
    enabled,
  });
}

/** Finished cluster runs, newest first, with their review progress. */
export function useSucceededClusterRunOptions(enabled = true) {
  return useQuery({
    queryKey: optionKeys.succeededClusterRuns,
    queryFn: async () => {
      const runs = await api('/api/cluster-runs/', listOf(clusterRunOptionSchema), { params: { status: 'succeeded', page_size: 100 } });
      return [...runs].sort((a, b) => b.id - a.id);
    },
    enabled,
  });
}
