import { z } from 'zod';

/** Shapes from docs/datasets.md. Lenient on optional parts so a missing key is not a broken page. */

const str = z.string().nullable().optional().transform((v) => v ?? '');
const count = z.number().nullable().optional().transform((v) => v ?? 0);
const maybeNumber = z.number().nullable().optional().transform((v) => v ?? null);
const maybeString = z.string().nullable().optional().transform((v) => v ?? null);

export const SPLIT_BY = ['slide', 'case'] as const;
export type SplitBy = (typeof SPLIT_BY)[number];

export const recipeSchema = z.object({
  groups: z
    .array(z.object({ group: z.number(), weight: z.number() }).loose())
    .nullable()
    .optional()
    .transform((v) => v ?? []),
  categories: z
    .array(z.object({ category: z.number(), weight: maybeNumber }).loose())
    .nullable()
    .optional()
    .transform((v) => v ?? []),
  include_unreviewed: z.boolean().nullable().optional().transform((v) => v ?? false),
  budget: count,
  per_slide_cap: maybeNumber,
  quality: z
    .object({ min_tissue_fraction: count, min_sharpness: maybeNumber, max_pen_score: maybeNumber })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? { min_tissue_fraction: 0, min_sharpness: null, max_pen_score: null }),
  split: z
    .object({ by: z.string().nullable().optional().transform((v) => (v === 'case' ? 'case' : 'slide') as SplitBy), validation_fraction: count })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? { by: 'slide' as SplitBy, validation_fraction: 0 }),
  seed: count,
});
export type Recipe = z.infer<typeof recipeSchema>;

/** What the API takes: the recipe JSON exactly as docs/datasets.md writes it. */
export interface RecipeInput {
  groups: Array<{ group: number; weight: number }>;
  categories: Array<{ category: number; weight: number | null }>;
  include_unreviewed: boolean;
  budget: number;
  per_slide_cap: number | null;
  quality: { min_tissue_fraction: number; min_sharpness: number | null; max_pen_score: number | null };
  split: { by: SplitBy; validation_fraction: number };
  seed: number;
}

export const DATASET_STATUSES = ['draft', 'building', 'built', 'failed'] as const;

export const datasetSchema = z.object({
  id: z.number(),
  name: z.string(),
  status: z.string(),
  cluster_run: maybeNumber,
  cluster_run_name: str,
  recipe: recipeSchema.nullable().optional().transform((v) => v ?? recipeSchema.parse({})),
  parent: maybeNumber,
  checksum: str,
  row_count: count,
  progress_done: count,
  progress_total: count,
  message: str,
  error: str,
  shortfall: count,
  created_by: maybeString,
  created_at: str,
  built_by: maybeString,
  built_at: maybeString,
  /** The state of the inputs frozen at build time, when the server sends it. */
  inputs: z.unknown().optional(),
  manifest: z
    .object({ parquet: z.string(), csv: z.string(), jsonl: z.string() })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
});
export type Dataset = z.infer<typeof datasetSchema>;

const notes = z.array(z.string()).nullable().optional().transform((v) => v ?? []);

export const previewSchema = z.object({
  estimated_total: count,
  eligible_total: count,
  shortfall: count,
  unreviewed_clusters: count,
  cells: z
    .array(z.object({ group: z.union([z.string(), z.number()]).transform(String), category: z.union([z.string(), z.number()]).transform(String), eligible: count, estimated: count }).loose())
    .nullable()
    .optional()
    .transform((v) => v ?? []),
  notes,
});
export type Preview = z.infer<typeof previewSchema>;

const keyCount = z.object({ key: z.union([z.string(), z.number()]).nullable().transform((v) => (v === null ? '' : String(v))), count: count }).loose();
const keyCounts = z.array(keyCount).nullable().optional().transform((v) => v ?? []);
export type KeyCount = z.infer<typeof keyCount>;

export const statsSchema = z.object({
  rows: count,
  train: count,
  validation: count,
  slides: count,
  cells: z
    .array(z.object({ group: z.union([z.string(), z.number()]).transform(String), category: z.union([z.string(), z.number()]).transform(String), target: maybeNumber, achieved: count }).loose())
    .nullable()
    .optional()
    .transform((v) => v ?? []),
  by_lab: keyCounts,
  by_scanner: keyCounts,
  by_stain: keyCounts,
  tiles_per_slide: z
    .object({
      min: count,
      median: count,
      max: count,
      histogram: z
        .array(z.object({ from: z.number(), to: z.number(), count: count }).loose())
        .nullable()
        .optional()
        .transform((v) => v ?? []),
    })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? { min: 0, median: 0, max: 0, histogram: [] }),
  shortfall: count,
  notes,
});
export type Stats = z.infer<typeof statsSchema>;

const idList = z.array(z.union([z.number(), z.string()])).nullable().optional().transform((v) => v ?? []);

export const diffSchema = z.object({
  tiles_added: count,
  tiles_removed: count,
  tiles_kept: count,
  slides_added: idList,
  slides_removed: idList,
  cells: z
    .array(z.object({ group: z.union([z.string(), z.number()]).transform(String), category: z.union([z.string(), z.number()]).transform(String), a: count, b: count }).loose())
    .nullable()
    .optional()
    .transform((v) => v ?? []),
});
export type Diff = z.infer<typeof diffSchema>;

export const exportJobSchema = z.object({
  id: z.number(),
  dataset: maybeNumber,
  kind: str,
  status: z.string(),
  shard_size: maybeNumber,
  progress_done: count,
  progress_total: count,
  shards: z
    .array(z.object({ name: z.string(), size: maybeNumber, url: z.string() }).loose())
    .nullable()
    .optional()
    .transform((v) => v ?? []),
  report: z
    .object({
      missing_slides: z
        .array(z.object({ slide: z.union([z.number(), z.string()]), reason: str }).loose())
        .nullable()
        .optional()
        .transform((v) => v ?? []),
      tiles_written: maybeNumber,
      tiles_skipped: maybeNumber,
    })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  message: str,
  error: str,
  created_at: str,
  finished_at: maybeString,
});
export type ExportJob = z.infer<typeof exportJobSchema>;

export function isBuilding(status: string): boolean {
  return status === 'building' || status === 'queued';
}

export function isExportActive(status: string): boolean {
  return status === 'queued' || status === 'running';
}

export const datasetKeys = {
  all: ['datasets'] as const,
  list: ['datasets', 'list'] as const,
  detail: (id: number) => ['datasets', 'detail', id] as const,
  preview: (id: number, recipe: unknown) => ['datasets', 'detail', id, 'preview', recipe] as const,
  stats: (id: number) => ['datasets', 'detail', id, 'stats'] as const,
  recipe: (id: number) => ['datasets', 'detail', id, 'recipe'] as const,
  diff: (id: number, other: number) => ['datasets', 'detail', id, 'diff', other] as const,
  exportJob: (id: number) => ['datasets', 'exports', id] as const,
  exports: (id: number) => ['datasets', 'detail', id, 'exports'] as const,
};
