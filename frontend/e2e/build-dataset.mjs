#!/usr/bin/env node
/**
 * End-to-end check of the dataset builder against a running RudolfV server with a finished,
 * fully reviewed cluster run, a slide group and a Celery worker: log in as a pathologist, open
 * Datasets, start a new version on the run, give the group a weight, tick two categories and
 * weigh one double, watch the live preview follow (the heavier category gets about twice the
 * tiles), build, wait for the version page, read its composition, row count and checksum, then
 * create a read-only API token on the API tokens page and read its key (shown once).
 *
 * Env: BASE_URL, E2E_USERNAME and E2E_PASSWORD (a pathologist or admin), E2E_RUN (a succeeded
 * cluster run id with every cluster reviewed), E2E_GROUP (a group's name), E2E_CATEGORIES
 * (two category names with accepted clusters, comma-separated; the first gets weight 2),
 * E2E_NAME (optional version name), E2E_BUDGET (optional, default 300), SCREENSHOT_DIR,
 * CHROMIUM_PATH (optional), E2E_TIMEOUT_MS (optional, default 170000).
 * Prints one JSON summary line ({"ok":true,"dataset":N,"rows":N,"checksum":"…","token":"…",…})
 * and exits 0; prints "E2E FAILED: ..." and exits 1.
 */
import { join } from 'node:path';
import { env, fail, launchPage, logIn, pass, run, startWatchdog, step, waitFor } from './harness.mjs';

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('E2E_USERNAME');
const PASSWORD = env('E2E_PASSWORD');
const RUN = Number(env('E2E_RUN'));
const GROUP = env('E2E_GROUP');
const CATEGORIES = env('E2E_CATEGORIES').split(',').map((c) => c.trim());
const NAME = env('E2E_NAME', 'e2e colon v1');
const BUDGET = env('E2E_BUDGET', '300');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
if (!Number.isInteger(RUN) || RUN <= 0) fail('E2E_RUN must be a cluster run id');
if (CATEGORIES.length !== 2) fail('E2E_CATEGORIES must name two categories');
startWatchdog({ defaultTotalMs: 170_000, pollMs: 150 });

let page;
const answers = {}; // "METHOD path-pattern" → HTTP statuses

function record(response) {
  const url = new URL(response.url());
  if (!url.pathname.startsWith('/api/datasets') && !url.pathname.startsWith('/api/tokens')) return;
  const key = `${response.request().method()} ${url.pathname.replace(/\/\d+\//, '/N/')}`;
  (answers[key] ??= []).push(response.status());
}

async function visibleError() {
  const alert = page.locator('[data-testid="error-message"]').first();
  return (await alert.isVisible().catch(() => false)) ? (await alert.innerText()).trim() : '';
}

/** Numbers of the matrix cells: {"group/category": [value, reference]}. */
async function matrix(label) {
  return page.getByRole('table', { name: label }).locator('[data-testid="matrix-cell"]').evaluateAll((cells) =>
    Object.fromEntries(
      cells.map((cell) => {
        const value = Number(cell.querySelector('.matrix-value')?.textContent?.replace(/,/g, '') ?? NaN);
        const ref = /of ([\d,]+)/.exec(cell.querySelector('.matrix-reference')?.textContent ?? '');
        return [`${cell.dataset.group}/${cell.dataset.category}`, [value, ref ? Number(ref[1].replace(/,/g, '')) : null]];
      }),
    ),
  );
}

const previewCount = () => answers['POST /api/datasets/N/preview/']?.length ?? 0;

run(SCREENSHOT_DIR, async () => {
  page = await launchPage();
  page.on('response', record);
  await logIn(page, BASE_URL, USERNAME, PASSWORD);

  step('open the Datasets page');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Datasets' }).click();
  await page.waitForURL(/\/datasets$/);
  await page.getByRole('heading', { name: 'Datasets', exact: true }).waitFor();

  step('start a new version on the cluster run');
  await page.getByRole('button', { name: 'New version' }).click();
  const form = page.getByRole('form', { name: 'New version' });
  await form.getByLabel('Name').fill(NAME);
  const runSelect = form.getByLabel('Cluster run');
  await waitFor(async () => (await runSelect.locator(`option[value="${RUN}"]`).count()) === 1, `run #${RUN} in the cluster run list`);
  await runSelect.selectOption(String(RUN));
  await form.getByRole('button', { name: 'Create draft' }).click();
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the draft was refused: ${error}`);
    return /\/datasets\/\d+$/.test(new URL(page.url()).pathname);
  }, 'the new draft to open');
  const datasetId = Number(new URL(page.url()).pathname.split('/').pop());

  step('see the first preview');
  const recipe = page.getByRole('form', { name: 'Recipe' });
  await recipe.waitFor();
  const preview = page.getByRole('region', { name: 'Preview' });
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the builder shows an error: ${error}`);
    return (await preview.getByTestId('preview-estimated').count()) === 1;
  }, 'the first estimate');

  step(`weigh the group "${GROUP}" and two categories`);
  const groupRows = recipe.locator('[data-testid="group-weight-row"]');
  const rowCount = await groupRows.count();
  let groupRow = null;
  for (let i = 0; i < rowCount; i += 1) {
    const chosen = await groupRows.nth(i).locator('select').evaluate((s) => s.options[s.selectedIndex]?.text ?? '');
    if (chosen.startsWith(GROUP)) groupRow = groupRows.nth(i);
  }
  if (!groupRow) throw new Error(`no row for the group "${GROUP}" in the recipe (${rowCount} rows)`);
  await groupRow.getByRole('spinbutton').fill('2');
  await recipe.getByRole('checkbox', { name: CATEGORIES[0] }).check();
  await recipe.getByRole('checkbox', { name: CATEGORIES[1] }).check();
  const before = previewCount();
  await recipe.getByLabel(`Weight of ${CATEGORIES[0]}`).fill('2');
  await recipe.getByLabel('Budget (tiles)').fill(BUDGET);
  await recipe.getByLabel('Validation fraction').fill('0.34');

  step('watch the preview follow the weights');
  let estimate = {};
  await waitFor(async () => {
    if (previewCount() <= before) return false;
    if ((await preview.getAttribute('aria-busy')) === 'true') return false;
    estimate = await matrix('Estimated composition');
    const a = estimate[`${GROUP}/${CATEGORIES[0]}`];
    const b = estimate[`${GROUP}/${CATEGORIES[1]}`];
    return a && b && Object.keys(estimate).every((k) => CATEGORIES.some((c) => k.endsWith(`/${c}`)));
  }, 'an estimate with only the two ticked categories');
  const requestsForEdits = previewCount() - before;
  const estimatedTotal = Number((await preview.getByTestId('preview-estimated').innerText()).replace(/,/g, ''));
  // The viewport only: a full-page picture repeats the sticky header and action bar mid-page.
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'dataset-builder.png') });

  step('build');
  await recipe.getByRole('button', { name: 'Build' }).click();
  await waitFor(async () => {
    const refused = page.getByTestId('build-refused');
    if (await refused.isVisible().catch(() => false)) throw new Error(`the build was refused: ${await refused.innerText()}`);
    const error = await visibleError();
    if (error) throw new Error(`the build failed to start: ${error}`);
    return (await page.getByRole('heading', { name: 'Building…' }).count()) > 0 || (await page.getByRole('region', { name: 'Composition' }).count()) > 0;
  }, 'the build to start');

  step('wait for the built version');
  await waitFor(
    async () => {
      const failed = page.locator('.error-message', { hasText: 'The build failed' });
      if (await failed.isVisible().catch(() => false)) throw new Error(await failed.innerText());
      return (await page.getByRole('region', { name: 'Composition' }).count()) > 0;
    },
    'the composition of the built version',
    90_000,
  );
  const composition = page.getByRole('region', { name: 'Composition' });
  await composition.getByRole('table', { name: 'Achieved composition' }).waitFor();
  const achieved = await matrix('Achieved composition');
  const totals = (await composition.getByTestId('stats-totals').innerText()).replace(/\s+/g, ' ');
  const rows = Number((await page.getByTestId('row-count').innerText()).replace(/,/g, ''));
  const checksum = (await page.getByTestId('full-checksum').innerText()).trim();
  const downloads = await page.getByRole('region', { name: 'Export' }).getByRole('link').evaluateAll((links) => links.map((a) => a.getAttribute('href')));
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'dataset-version.png'), fullPage: true });

  step('create a read-only API token');
  await page.getByRole('link', { name: 'API tokens' }).first().click();
  await page.waitForURL(/\/account\/tokens$/);
  const tokenForm = page.getByRole('form', { name: 'New token' });
  await tokenForm.getByLabel('Name').fill('e2e export script');
  await tokenForm.getByLabel(/Read only/).check();
  await tokenForm.getByRole('button', { name: 'Create token' }).click();
  const created = page.getByTestId('new-token');
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the token was refused: ${error}`);
    return created.isVisible();
  }, 'the new key');
  const token = (await created.getByTestId('token-key').innerText()).trim();
  const snippet = await created.getByTestId('token-snippet').innerText();
  if (!snippet.includes(token) || !snippet.includes(`/api/datasets/{DATASET}/manifest.parquet`)) throw new Error('the Python snippet does not use the key and the manifest URL');
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'dataset-token.png'), fullPage: true });
  await created.getByRole('button', { name: 'Done, hide the key' }).click();
  await waitFor(async () => (await page.getByTestId('new-token').count()) === 0, 'the key to be hidden');
  const listed = (await page.locator('[data-testid="token-row"]').allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
  if (listed.some((t) => t.includes(token))) throw new Error('the token list shows the whole key');

  await pass({
    ok: true,
    dataset: datasetId,
    preview: { estimated_total: estimatedTotal, cells: estimate, requests_for_edits: requestsForEdits },
    achieved,
    totals,
    rows,
    checksum,
    downloads,
    token,
    snippet,
    tokens_listed: listed,
    answers,
  });
});
