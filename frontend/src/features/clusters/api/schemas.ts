import { z } from 'zod';

const str = z.string().nullable().optional().transform((v) => v ?? '');
const count = z.number().nullable().optional().transform((v) => v ?? 0);
const maybeNumber = z.number().nullable().optional().transform((v) => v ?? null);
const maybeString = z.string().nullable().optional().transform((v) => v ?? null);

export const semanticCategorySchema = z.object({
  id: z.number(),
  name: z.string(),
  colour: z.string(),
  default_weight: z.number(),
  shortcut: str,
  description: str,
  position: count,
  cluster_count: count,
});
export type SemanticCategory = z.infer<typeof semanticCategorySchema>;

export const reviewSummarySchema = z.object({
  total: count,
  reviewed: count,
  accepted: count,
  rejected: count,
  merged: count,
  disagreements: count,
});
export type ReviewSummary = z.infer<typeof reviewSummarySchema>;

const emptyReview: ReviewSummary = { total: 0, reviewed: 0, accepted: 0, rejected: 0, merged: 0, disagreements: 0 };

export const runParamsSchema = z
  .object({
    k: maybeNumber,
    per_slide: maybeNumber,
    iterations: maybeNumber,
    restarts: maybeNumber,
    spherical: z.boolean().nullable().optional(),
    method: str,
    levels: z.array(z.number()).nullable().optional(),
    seed: maybeNumber,
  })
  .loose();

export const clusterRunSchema = z.object({
  id: z.number(),
  name: str,
  config: z.number(),
  config_name: str,
  feature_kind: z.string(),
  embedding_model: z
    .object({ name: z.string(), weights: maybeString, image_size: maybeNumber })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  params: runParamsSchema.nullable().optional().transform((v) => v ?? runParamsSchema.parse({})),
  selection: z.unknown().optional(),
  status: z.string(),
  phase: str,
  progress_done: count,
  progress_total: count,
  message: str,
  error: str,
  device: str,
  slide_count: count,
  tile_count: count,
  inertia: maybeNumber,
  locked: z.boolean().nullable().optional().transform((v) => v ?? false),
  locked_by: maybeString,
  locked_at: maybeString,
  review: reviewSummarySchema.nullable().optional().transform((v) => v ?? emptyReview),
  created_by: maybeString,
  created_at: str,
  started_at: maybeString,
  finished_at: maybeString,
});
export type ClusterRun = z.infer<typeof clusterRunSchema>;

export const CLUSTER_STATUSES = ['unreviewed', 'accepted', 'rejected', 'merged'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

export const REJECT_REASONS = [
  { value: 'background', label: 'Background', key: 'b' },
  { value: 'artefact', label: 'Artefact', key: 'a' },
  { value: 'out_of_focus', label: 'Out of focus', key: 'f' },
  { value: 'pen', label: 'Pen', key: 'p' },
  { value: 'other', label: 'Other', key: 'o' },
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number]['value'];

export const clusterSchema = z.object({
  id: z.number(),
  run: z.number(),
  index: z.number(),
  size: count,
  share: count,
  slide_count: count,
  status: z.string(),
  category: maybeNumber,
  category_name: str,
  category_colour: str,
  reject_reason: str,
  weight: maybeNumber,
  note: str,
  merged_into: maybeNumber,
  version: z.number(),
  reviewed_by: maybeString,
  reviewed_at: maybeString,
  map_x: maybeNumber,
  map_y: maybeNumber,
  quality: z.record(z.string(), z.unknown()).nullable().optional().transform((v) => v ?? {}),
  montage_url: maybeString,
});
export type Cluster = z.infer<typeof clusterSchema>;

export const tileRefSchema = z.object({
  slide: z.number(),
  slide_name: str,
  tiling: z.number().nullable().optional(),
  index: z.number(),
  x: z.number(),
  y: z.number(),
  /** Side in level-0 pixels; null when the slide's tiling is gone. */
  size: maybeNumber,
  distance: maybeNumber,
  /** null when the slide has no tiling under the run's configuration any more. */
  url: maybeString,
});
export type TileRef = z.infer<typeof tileRefSchema>;

export const compositionEntrySchema = z.object({
  key: z.union([z.string(), z.number()]).transform(String),
  label: str,
  count: count,
  share: count,
});
export type CompositionEntry = z.infer<typeof compositionEntrySchema>;

const tileList = z.array(tileRefSchema).nullable().optional().transform((v) => v ?? []);

export const clusterDetailSchema = clusterSchema.extend({
  exemplars: z
    .object({ representative: tileList, boundary: tileList, random: tileList })
    .nullable()
    .optional()
    .transform((v) => v ?? { representative: [], boundary: [], random: [] }),
  composition: z
    .record(z.string(), z.array(compositionEntrySchema))
    .nullable()
    .optional()
    .transform((v) => v ?? {}),
});
export type ClusterDetail = z.infer<typeof clusterDetailSchema>;

export const clusterMapSchema = z.object({
  method: str,
  centroids: z.array(
    z.object({
      cluster: maybeNumber,
      index: z.number(),
      x: z.number(),
      y: z.number(),
      size: count,
      category_colour: str,
      status: str,
    }),
  ),
  tiles: z.array(z.object({ cluster_index: z.number(), x: z.number(), y: z.number() })).nullable().optional().transform((v) => v ?? []),
});
export type ClusterMap = z.infer<typeof clusterMapSchema>;

export const similarSchema = z.object({
  results: z.array(tileRefSchema.extend({ cluster_index: z.number().nullable().optional().transform((v) => v ?? null) })),
});
export type SimilarTile = z.infer<typeof similarSchema>['results'][number];

export const labelClusterSchema = z.object({
  id: maybeNumber,
  category: maybeNumber,
  colour: str,
  status: str,
});

export const slideLabelsSchema = z.object({
  size: z.number(),
  x: z.array(z.number()),
  y: z.array(z.number()),
  cluster_index: z.array(z.number()),
  clusters: z.record(z.string(), labelClusterSchema),
});
export type SlideLabels = z.infer<typeof slideLabelsSchema>;

export const voteSchema = z.object({
  user: z.string(),
  status: z.string(),
  category: maybeNumber,
  category_name: str,
  reject_reason: str,
  weight: maybeNumber,
  note: str,
  updated_at: str,
});
export type Vote = z.infer<typeof voteSchema>;

export const disagreementSchema = z.object({ cluster: clusterSchema, votes: z.array(voteSchema) });
export type Disagreement = z.infer<typeof disagreementSchema>;

/** Runs are "in flight" while queued or running: their list polls. */
export function isActive(status: string): boolean {
  return status === 'queued' || status === 'running';
}

export const clusterKeys = {
  all: ['clusters'] as const,
  categories: ['clusters', 'categories'] as const,
  runs: ['clusters', 'runs'] as const,
  run: (id: number) => ['clusters', 'runs', id] as const,
  list: (runId: number) => ['clusters', 'runs', runId, 'clusters'] as const,
  map: (runId: number) => ['clusters', 'runs', runId, 'map'] as const,
  disagreements: (runId: number) => ['clusters', 'runs', runId, 'disagreements'] as const,
  similar: (runId: number, slide: number, index: number) => ['clusters', 'runs', runId, 'similar', slide, index] as const,
  labels: (runId: number, slideId: number) => ['clusters', 'runs', runId, 'labels', slideId] as const,
  detail: (id: number) => ['clusters', 'detail', id] as const,
  votes: (id: number) => ['clusters', 'detail', id, 'votes'] as const,
};
