#!/usr/bin/env node
/**
 * End-to-end check of training runs against a running RudolfV server with a built dataset
 * version and a Celery worker that runs the real trainer: log in as an admin, open Training,
 * launch the cpu_smoke preset on the version with small overrides, watch the summary and the
 * curves update (the step increases, the uPlot canvases draw), cancel the run (it stops at the
 * next step and exports its backbone), resume it, wait for it to succeed, download the backbone
 * (and read the model card), then launch a cluster run on deep embeddings from that training
 * run's backbone from the Clusters page and wait for it to succeed.
 *
 * Env: BASE_URL, E2E_USERNAME and E2E_PASSWORD (an admin), E2E_DATASET (a built dataset version
 * id), E2E_CONFIG (the name of the tiling configuration the cluster run uses), E2E_STEPS
 * (optional total_steps, default 40), E2E_BATCH (optional batch_size, default 4), E2E_CHECKPOINT
 * (optional checkpoint_every, default 5), E2E_NAME (optional run name), E2E_EVAL_FOLDER
 * (optional labelled tile folder: the run then evaluates every E2E_EVAL_EVERY steps, default 20,
 * and the evaluation table and accuracies must show), SCREENSHOT_DIR,
 * CHROMIUM_PATH (optional), E2E_TIMEOUT_MS (optional, default 540000), E2E_CLUSTER_TIMEOUT_MS
 * (optional, default 240000).
 * Prints one JSON summary line ({"ok":true,"training_run":N,"cluster_run":N,…}) and exits 0;
 * prints "E2E FAILED: ..." and exits 1.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { env, fail, launchPage, logIn, pass, run, startWatchdog, step, waitFor } from './harness.mjs';

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('E2E_USERNAME');
const PASSWORD = env('E2E_PASSWORD');
const DATASET = Number(env('E2E_DATASET'));
const CONFIG = env('E2E_CONFIG');
const STEPS = Number(env('E2E_STEPS', '40'));
const BATCH = env('E2E_BATCH', '4');
const CHECKPOINT = env('E2E_CHECKPOINT', '5');
const NAME = env('E2E_NAME', 'e2e smoke');
// Optional: a labelled tile folder to evaluate on (kNN and linear probe), every N steps.
const EVAL_FOLDER = process.env.E2E_EVAL_FOLDER || '';
const EVAL_EVERY = env('E2E_EVAL_EVERY', '20');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
const CLUSTER_TIMEOUT_MS = Number(env('E2E_CLUSTER_TIMEOUT_MS', '240000'));
if (!Number.isInteger(DATASET) || DATASET <= 0) fail('E2E_DATASET must be a dataset version id');
if (!Number.isInteger(STEPS) || STEPS < 4) fail('E2E_STEPS must be an integer of at least 4');
startWatchdog({ defaultTotalMs: 540_000, pollMs: 150 });

let page;
const answers = {}; // "METHOD path-pattern" → HTTP statuses (writes only, and the metrics reads' count)

function record(response) {
  const url = new URL(response.url());
  if (!url.pathname.startsWith('/api/training') && !url.pathname.startsWith('/api/cluster-runs')) return;
  const method = response.request().method();
  if (method === 'GET' && !url.pathname.endsWith('/metrics/')) return;
  const key = `${method} ${url.pathname.replace(/\/\d+\//, '/N/')}`;
  (answers[key] ??= []).push(response.status());
}

async function textOf(locator) {
  return (await locator.count()) ? (await locator.first().innerText()).trim() : '';
}

async function visibleError(scope = page) {
  const alert = scope.locator('[data-testid="error-message"]').first();
  return (await alert.isVisible().catch(() => false)) ? (await alert.innerText()).trim() : '';
}

/** The badge's text as written (innerText would give the CSS upper case). */
async function badgeText(locator) {
  return (await locator.count()) ? ((await locator.first().textContent()) ?? '').trim().toLowerCase() : '';
}

const status = () => badgeText(page.getByTestId('training-status'));

/** "12 / 40" → 12. */
async function currentStep() {
  const m = /(\d+)\s*\/\s*(\d+)/.exec(await textOf(page.getByTestId('summary-step')));
  return m ? Number(m[1]) : NaN;
}

async function summary() {
  return page.getByTestId('training-summary').evaluate((dl) =>
    Object.fromEntries([...dl.querySelectorAll('dd[data-testid]')].map((dd) => [dd.dataset.testid.replace('summary-', ''), dd.textContent.trim()])),
  );
}

/** Canvases uPlot drew on the run page, and whether any has non-blank pixels. */
async function charts() {
  return page.locator('.training-chart canvas').evaluateAll((canvases) => ({
    count: canvases.length,
    drawn: canvases.some((c) => {
      const ctx = c.getContext('2d');
      if (!ctx || !c.width || !c.height) return false;
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
      return false;
    }),
  }));
}

/** Fails fast when the run ends up failed (its error is on the page). */
async function throwIfFailed() {
  if ((await status()) === 'failed') throw new Error(`the training run failed: ${await textOf(page.getByTestId('run-error'))}`);
}

run(SCREENSHOT_DIR, async () => {
  page = await launchPage();
  page.on('response', record);
  await logIn(page, BASE_URL, USERNAME, PASSWORD);

  step('open the Training page');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Training' }).click();
  await page.waitForURL(/\/training$/);
  await page.getByRole('heading', { name: 'Training', exact: true }).waitFor();

  step('fill the new training run form');
  await page.getByRole('button', { name: 'New training run' }).click();
  const form = page.getByRole('form', { name: 'New training run' });
  await form.getByLabel('Name', { exact: true }).fill(NAME);
  const versions = form.getByLabel('Dataset version');
  await waitFor(async () => (await versions.locator(`option[value="${DATASET}"]`).count()) === 1, `built version #${DATASET} in the list`);
  await versions.selectOption(String(DATASET));
  const presets = form.getByLabel('Preset');
  await waitFor(async () => (await presets.locator('option[value="cpu_smoke"]').count()) === 1, 'the cpu_smoke preset');
  await presets.selectOption('cpu_smoke');
  await form.getByTestId('preset-summary').waitFor();
  const presetSummary = (await form.getByTestId('preset-summary').innerText()).replace(/\s+/g, ' ');
  const model = await form.getByLabel('Model (timm name)').inputValue();
  await form.getByLabel('Total steps').fill(String(STEPS));
  await form.getByLabel('Batch size').fill(BATCH);
  await form.getByLabel('Checkpoint every').fill(CHECKPOINT);
  if (EVAL_FOLDER) {
    await form.getByLabel('Evaluate every').fill(EVAL_EVERY);
    await form.getByLabel('Evaluation folder').fill(EVAL_FOLDER);
  }
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'training-form.png') });

  step('launch the run');
  await form.getByRole('button', { name: 'Start training' }).click();
  await waitFor(async () => {
    const error = await visibleError(form);
    if (error) throw new Error(`the launch was refused: ${error}`);
    return /\/training\/runs\/\d+$/.test(new URL(page.url()).pathname);
  }, 'the run page');
  const runId = Number(new URL(page.url()).pathname.split('/').pop());
  await page.getByTestId('training-summary').waitFor();

  step('watch the step increase and the curves draw');
  const seen = [];
  await waitFor(
    async () => {
      await throwIfFailed();
      const s = await currentStep();
      if (s > 0 && !seen.includes(s)) seen.push(s);
      if ((await status()) === 'succeeded') throw new Error(`the run finished before it could be cancelled (steps seen: ${seen.join(', ')}); raise E2E_STEPS`);
      return seen.length >= 2;
    },
    'two different steps in the summary',
    180_000,
  );
  await waitFor(async () => (await charts()).count >= 3, 'the uPlot charts');
  const drawn = await charts();
  const running = await summary();
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'training-running.png'), fullPage: true });

  step('cancel the run');
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
  await page.getByRole('button', { name: 'Really cancel' }).click();
  let sawStopping = false;
  await waitFor(
    async () => {
      const error = await visibleError();
      if (error) throw new Error(`the cancel was refused: ${error}`);
      if (await page.getByTestId('cancel-requested').isVisible().catch(() => false)) sawStopping = true;
      await throwIfFailed();
      const now = await status();
      if (now === 'succeeded') throw new Error('the run succeeded instead of stopping; raise E2E_STEPS');
      return now === 'cancelled';
    },
    'the run to be cancelled',
    120_000,
  );
  const cancelledAt = await currentStep();
  const cancelled = await summary();
  await page.getByRole('link', { name: 'Download backbone' }).waitFor();
  if (cancelledAt >= STEPS) throw new Error(`the run was cancelled at its last step (${cancelledAt}); raise E2E_STEPS`);

  step('resume the run');
  await page.getByRole('button', { name: 'Resume' }).click();
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the resume was refused: ${error}`);
    return ['queued', 'running'].includes(await status());
  }, 'the run to be queued again');
  const resumedFrom = await currentStep();

  step('wait for the run to succeed');
  const afterResume = [];
  await waitFor(
    async () => {
      await throwIfFailed();
      const s = await currentStep();
      if (!afterResume.includes(s)) afterResume.push(s);
      return (await status()) === 'succeeded';
    },
    'the run to succeed',
    300_000,
  );
  await waitFor(async () => (await currentStep()) === STEPS, `step ${STEPS} in the summary`);
  if (EVAL_FOLDER) {
    await waitFor(
      async () => (await page.locator('[data-testid="eval-row"]').count()) > 0 && (await textOf(page.getByTestId('summary-knn'))) !== '—',
      'the evaluations in the table and the summary',
    );
  }
  const finished = await summary();
  const evalRows = await page.locator('[data-testid="eval-row"]').allInnerTexts();
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'training-succeeded.png'), fullPage: true });

  step('see the run in the list');
  await page.getByRole('link', { name: 'All training runs' }).click();
  await page.waitForURL(/\/training$/);
  const listRow = page.locator('[data-testid="training-run-row"]', { has: page.locator(`a[href="/training/runs/${runId}"]`) });
  await waitFor(async () => (await badgeText(listRow.getByTestId('training-status'))) === 'succeeded', 'the succeeded run in the list');
  const listed = (await listRow.innerText()).replace(/\s+/g, ' ');
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'training-list.png') });
  await listRow.getByRole('link', { name: new RegExp(`^#${runId} `) }).click();
  await page.waitForURL(new RegExp(`/training/runs/${runId}$`));

  step('download the backbone');
  const link = page.getByRole('link', { name: 'Download backbone' });
  const href = await link.getAttribute('href');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const downloaded = await download.path();
  const downloadSize = downloaded ? statSync(downloaded).size : 0;
  if (!downloadSize) throw new Error(`the download ${download.suggestedFilename()} is empty (${await download.failure()})`);
  const fetched = await page.request.get(`${BASE_URL}${href}`);
  const fetchedBody = await fetched.body();
  const cardHref = await page.getByRole('link', { name: 'Model card' }).getAttribute('href');
  const cardAnswer = await page.request.get(`${BASE_URL}${cardHref}`);
  const card = cardAnswer.ok() ? await cardAnswer.json() : null;
  const metricsAnswer = await page.request.get(`${BASE_URL}/api/training/runs/${runId}/metrics/?max_points=5000`);
  const metrics = metricsAnswer.ok() ? await metricsAnswer.json() : null;

  step('open the new cluster run form');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
  await page.waitForURL(/\/clusters$/);
  const clusterForm = page.getByRole('form', { name: 'New cluster run' });
  await clusterForm.getByLabel('Name', { exact: true }).fill(`e2e backbone of run ${runId}`);
  const configs = clusterForm.getByLabel('Tiling configuration');
  await waitFor(async () => (await configs.locator('option', { hasText: CONFIG }).count()) > 0, `the tiling configuration "${CONFIG}"`);
  await configs.selectOption({ label: CONFIG });
  await clusterForm.getByLabel('Deep embeddings').check();
  await clusterForm.getByLabel('Backbone from a training run').check();
  const trainingRuns = clusterForm.getByLabel(/^Training run/);
  await waitFor(async () => (await trainingRuns.locator(`option[value="${runId}"]`).count()) === 1, `training run #${runId} among the backbones`);
  const backboneOption = (await trainingRuns.locator(`option[value="${runId}"]`).innerText()).trim();
  await trainingRuns.selectOption(String(runId));
  await clusterForm.getByLabel('Tiles per slide').fill('50');
  await clusterForm.getByLabel('k (clusters)').fill('3');
  await clusterForm.getByLabel('Iterations').fill('5');
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'training-cluster-form.png') });

  step('launch the cluster run on the backbone');
  await clusterForm.getByRole('button', { name: 'Start cluster run' }).click();
  const queued = clusterForm.getByRole('status').filter({ hasText: 'queued' });
  await waitFor(async () => {
    const error = await visibleError(clusterForm);
    if (error) throw new Error(`the cluster run was refused: ${error}`);
    const fieldError = await textOf(clusterForm.locator('.field-error'));
    if (fieldError) throw new Error(`the cluster run was refused: ${fieldError}`);
    return (await queued.count()) > 0;
  }, 'the queued cluster run');
  const clusterRun = Number((await queued.getByRole('link').innerText()).replace('#', ''));

  step('wait for the cluster run to succeed');
  const row = page.locator('[data-testid="cluster-run-row"]', { has: page.locator(`a[href="/clusters/runs/${clusterRun}"]`) });
  let clusterStatus = '';
  await waitFor(
    async () => {
      clusterStatus = await badgeText(row.locator('.badge[class*="badge-cluster-"]'));
      if (clusterStatus === 'failed') throw new Error(`the cluster run failed: ${(await row.innerText()).replace(/\s+/g, ' ')}`);
      return clusterStatus === 'succeeded';
    },
    'the cluster run to succeed',
    CLUSTER_TIMEOUT_MS,
  );
  const clusterRow = (await row.innerText()).replace(/\s+/g, ' ');
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'training-cluster-run.png'), fullPage: true });

  await pass({
    ok: true,
    training_run: runId,
    model,
    preset_summary: presetSummary,
    steps_seen: seen,
    charts: drawn,
    running,
    saw_stopping: sawStopping,
    cancelled_at: cancelledAt,
    cancelled,
    resumed_from: resumedFrom,
    steps_after_resume: afterResume,
    finished,
    eval_rows: evalRows,
    listed,
    backbone: {
      href,
      download_name: download.suggestedFilename(),
      download_size: downloadSize,
      fetched_status: fetched.status(),
      fetched_size: fetchedBody.length,
      card,
    },
    metric_steps: metrics ? metrics.steps.step : null,
    backbone_option: backboneOption,
    cluster_run: clusterRun,
    cluster_status: clusterStatus,
    cluster_row: clusterRow,
    answers,
  });
});
