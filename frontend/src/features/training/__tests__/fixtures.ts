/** Training API answers shaped as the training REST contract describes them. */

export function makePreset(name: string, overrides: Record<string, unknown> = {}) {
  const recipes: Record<string, Record<string, unknown>> = {
    cpu_smoke: { name: 'cpu_smoke', model: 'vit_tiny_patch16_224', batch_size: 4, total_steps: 20, lr: 0.0005, global_crops_size: 32, local_crops_number: 2, local_crops_size: 16, prototypes: 64, checkpoint_every: 10, eval_every: 0 },
    vit_s_single_gpu: { name: 'vit_s_single_gpu', model: 'vit_small_patch14_reg4_dinov2', batch_size: 128, total_steps: 125000, lr: 0.0014, global_crops_size: 224, local_crops_number: 8, local_crops_size: 98, prototypes: 65536, checkpoint_every: 1000, eval_every: 0 },
  };
  return {
    name,
    description: name === 'cpu_smoke' ? 'A tiny ViT on 32/16 px crops: tests and smoke runs.' : 'ViT-S/14 with registers on one GPU.',
    recipe: recipes[name] ?? { name, model: 'vit_large_patch14_reg4_dinov2' },
    ...overrides,
  };
}

export function makeTrainingRun(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: `smoke #${id}`,
    status: 'running',
    dataset_version: { id: 4, name: 'colon H&E v4', row_count: 1000, checksum: 'ab12' },
    preset: 'cpu_smoke',
    model: 'vit_tiny_patch16_224',
    recipe: makePreset('cpu_smoke').recipe,
    step: 12,
    total_steps: 40,
    progress: 0.3,
    eta_s: 95,
    images_per_s: 18.4,
    gpu_mem_mb: null,
    device: 'cpu',
    world_size: 1,
    last_metrics: { step: 12, loss: 10.52, dino: 4.12, ibot: 6.31, koleo: -0.42, lr: 0.00045, wd: 0.061, images_per_s: 18.4, gpu_mem_mb: null },
    latest_eval: { step: 10, knn_accuracy: 0.625, linear_probe_accuracy: 0.7 },
    checkpoint_step: 10,
    backbone: { available: false, url: `/api/training/runs/${id}/backbone/`, card_url: `/api/training/runs/${id}/backbone/card/` },
    cancel_requested: false,
    message: '',
    error: '',
    created_by: 'ada',
    created_at: '2026-11-26T12:00:00Z',
    started_at: '2026-11-26T12:00:02Z',
    finished_at: null,
    heartbeat_at: '2026-11-26T12:01:00Z',
    can_cancel: true,
    can_resume: false,
    ...overrides,
  };
}

export function makeMetrics(steps: number, evals: Array<[number, number, number]> = []) {
  const step = Array.from({ length: steps }, (_, i) => i + 1);
  return {
    steps: {
      step,
      loss: step.map((s) => 11 - s * 0.05),
      dino: step.map((s) => 4.5 - s * 0.02),
      ibot: step.map((s) => 6.5 - s * 0.02),
      koleo: step.map(() => -0.4),
      lr: step.map((s) => 0.0005 * Math.min(1, s / 4)),
      wd: step.map((s) => 0.04 + s * 0.001),
      images_per_s: step.map(() => 18),
      gpu_mem_mb: step.map(() => null),
    },
    eval: evals.map(([s, knn, lin]) => ({ step: s, knn_accuracy: knn, linear_probe_accuracy: lin })),
  };
}
