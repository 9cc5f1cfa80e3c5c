import { z } from 'zod';

const str = z.string().nullable().optional().transform((v) => v ?? '');
const count = z.number().nullable().optional().transform((v) => v ?? 0);
const maybeNumber = z.number().nullable().optional().transform((v) => v ?? null);

export const configParamsSchema = z
  .object({
    tile_size: maybeNumber,
    target_mpp: maybeNumber,
    stride: maybeNumber,
    min_tissue_fraction: maybeNumber,
    features: z.boolean().nullable().optional(),
  })
  // `tissue` and any future parameter pass through untouched; we only show these.
  .loose();

export const tilingConfigSchema = z.object({
  id: z.number(),
  name: z.string(),
  description: str,
  params: configParamsSchema,
  key: str,
  created_at: str,
});
export type TilingConfig = z.infer<typeof tilingConfigSchema>;

export const tilingRunSchema = z.object({
  id: z.number(),
  config: z.number(),
  config_name: str,
  status: z.string(),
  selection: z.unknown().optional(),
  total: count,
  done: count,
  failed: count,
  skipped: count,
  tile_count: count,
  created_at: str,
  started_at: z.string().nullable().optional(),
  finished_at: z.string().nullable().optional(),
});
export type TilingRun = z.infer<typeof tilingRunSchema>;

export const slideTilingSchema = z.object({
  id: z.number(),
  slide: z.number(),
  slide_name: str,
  config: z.number(),
  config_name: str,
  run: z.number().nullable().optional(),
  status: z.string(),
  error: str,
  tile_count: count,
  tissue_area_mm2: maybeNumber,
  tiles_done: count,
  tiles_total: count,
  seconds: maybeNumber,
  mask_url: z.string().nullable().optional().transform((v) => v ?? null),
  updated_at: str,
  finished_at: z.string().nullable().optional(),
});
export type SlideTiling = z.infer<typeof slideTilingSchema>;

export const tileGridSchema = z.object({
  size: z.number(),
  mpp: z.number().nullable().optional(),
  x: z.array(z.number()),
  y: z.array(z.number()),
  tissue_fraction: z.array(z.number()).optional(),
});
export type TileGrid = z.infer<typeof tileGridSchema>;

export const galleryTileSchema = z.object({
  slide: z.number(),
  tiling: z.number(),
  index: z.number(),
  x: z.number(),
  y: z.number(),
  url: z.string(),
});
export type GalleryTile = z.infer<typeof galleryTileSchema>;

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed'] as const;
export const SLIDE_TILING_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

/** Runs and per-slide tilings are both "in flight" while queued or running. */
export function isActive(status: string): boolean {
  return status === 'queued' || status === 'running';
}

/** Slides handled so far: skipped and failed ones count as handled too. */
export function runHandled(run: TilingRun): number {
  return run.done + run.skipped + run.failed;
}

export const tilingKeys = {
  all: ['tiling'] as const,
  configs: ['tiling', 'configs'] as const,
  runs: ['tiling', 'runs'] as const,
  run: (id: number) => ['tiling', 'runs', id] as const,
  runSlides: (id: number, params: Record<string, unknown>) => ['tiling', 'runs', id, 'slides', params] as const,
  gallery: (id: number) => ['tiling', 'runs', id, 'gallery'] as const,
  slideTilings: (slideId: number) => ['tiling', 'slide', slideId] as const,
  grid: (tilingId: number) => ['tiling', 'grid', tilingId] as const,
};
