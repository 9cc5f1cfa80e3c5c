import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, listOf } from '@/lib/api';

/**
 * Training runs whose backbone is exported (finished, or stopped on request): a cluster run can
 * embed its tiles with one. Only what the picker needs; the training feature owns the runs.
 */
const backboneRunSchema = z
  .object({
    id: z.number(),
    name: z.string().nullable().optional().transform((v) => v ?? ''),
    status: z.string(),
    model: z.string().nullable().optional().transform((v) => v ?? ''),
    step: z.number().nullable().optional().transform((v) => v ?? 0),
    backbone: z
      .object({ available: z.boolean() })
      .loose()
      .nullable()
      .optional()
      .transform((v) => v ?? { available: false }),
  })
  .loose();
export type BackboneRun = z.infer<typeof backboneRunSchema>;

export function useBackboneRuns(enabled: boolean) {
  return useQuery({
    queryKey: ['training', 'runs', 'backbones'] as const,
    queryFn: async () => {
      const runs = await api('/api/training/runs/', listOf(backboneRunSchema), { params: { page_size: 100 } });
      return runs.filter((r) => r.backbone.available).sort((a, b) => b.id - a.id);
    },
    enabled,
    staleTime: 0,
  });
}
