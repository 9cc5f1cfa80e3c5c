import { z } from 'zod';

/** Shapes from the training REST contract. Lenient on optional parts so a missing key is not a broken page. */

const str = z.string().nullable().optional().transform((v) => v ?? '');
const count = z.number().nullable().optional().transform((v) => v ?? 0);
const maybeNumber = z.number().nullable().optional().transform((v) => v ?? null);
const maybeString = z.string().nullable().optional().transform((v) => v ?? null);

export const TRAINING_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled'] as const;

/** A recipe as the server sends it: every `trainer.train.recipe.Recipe` field. */
export const recipeSchema = z.record(z.string(), z.unknown());
export type Recipe = z.infer<typeof recipeSchema>;

export const presetSchema = z.object({
  name: z.string(),
  description: str,
  recipe: recipeSchema.nullable().optional().transform((v) => v ?? {}),
});
export type Preset = z.infer<typeof presetSchema>;

const evalSchema = z.record(z.string(), z.unknown());

export const trainingRunSchema = z.object({
  id: z.number(),
  name: str,
  status: z.string(),
  dataset_version: z
    .object({ id: z.number(), name: str, row_count: maybeNumber, checksum: str })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? null),
  preset: str,
  model: str,
  recipe: recipeSchema.nullable().optional().transform((v) => v ?? {}),
  step: count,
  total_steps: count,
  progress: count,
  eta_s: maybeNumber,
  images_per_s: maybeNumber,
  gpu_mem_mb: maybeNumber,
  device: str,
  world_size: maybeNumber,
  last_metrics: z.record(z.string(), z.unknown()).nullable().optional().transform((v) => v ?? null),
  latest_eval: evalSchema.nullable().optional().transform((v) => v ?? null),
  checkpoint_step: maybeNumber,
  backbone: z
    .object({ available: z.boolean(), url: str, card_url: str })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? { available: false, url: '', card_url: '' }),
  cancel_requested: z.boolean().nullable().optional().transform((v) => v ?? false),
  message: str,
  error: str,
  created_by: maybeString,
  created_at: str,
  started_at: maybeString,
  finished_at: maybeString,
  heartbeat_at: maybeString,
  can_cancel: z.boolean().nullable().optional().transform((v) => v ?? false),
  can_resume: z.boolean().nullable().optional().transform((v) => v ?? false),
});
export type TrainingRun = z.infer<typeof trainingRunSchema>;

const series = z
  .array(z.number().nullable())
  .nullable()
  .optional()
  .transform((v) => v ?? []);

export const metricsSchema = z.object({
  steps: z
    .object({
      step: series,
      loss: series,
      dino: series,
      ibot: series,
      koleo: series,
      lr: series,
      wd: series,
      images_per_s: series,
      gpu_mem_mb: series,
    })
    .loose()
    .nullable()
    .optional()
    .transform((v) => v ?? { step: [], loss: [], dino: [], ibot: [], koleo: [], lr: [], wd: [], images_per_s: [], gpu_mem_mb: [] }),
  eval: z
    .array(z.object({ step: z.number(), knn_accuracy: maybeNumber, linear_probe_accuracy: maybeNumber }).loose())
    .nullable()
    .optional()
    .transform((v) => v ?? []),
});
export type Metrics = z.infer<typeof metricsSchema>;
export type MetricSeries = Metrics['steps'];
export type EvalPoint = Metrics['eval'][number];

/** Queued or running: the run (and its curves) are polled. */
export function isActive(status: string): boolean {
  return status === 'queued' || status === 'running';
}

export const trainingKeys = {
  all: ['training'] as const,
  runs: ['training', 'runs'] as const,
  run: (id: number) => ['training', 'runs', id] as const,
  metrics: (id: number) => ['training', 'runs', id, 'metrics'] as const,
  presets: ['training', 'presets'] as const,
};
