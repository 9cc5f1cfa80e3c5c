#!/usr/bin/env node
/**
 * End-to-end check of cluster review against a running RudolfV server with a finished cluster
 * run: log in as a pathologist, open the run's review gallery from the Clusters page, decide on
 * EVERY cluster with the keyboard only (number keys accept as a category, b/a/f/p/o reject; the
 * gallery moves on to the next unreviewed cluster by itself), write a note with n (Enter keeps
 * it for the decision), watch the progress bar reach 100%, look up similar tiles with s and the
 * (empty) disagreements, then press v to open the current
 * cluster's first representative tile in the slide viewer, check that the viewer is zoomed to
 * it (the highlight outline is large and centred), and turn on the cluster-label overlay there
 * (canvas draws, legend names the categories).
 *
 * Env: BASE_URL (e.g. http://127.0.0.1:8123), E2E_USERNAME and E2E_PASSWORD (a pathologist or
 * admin), E2E_RUN (the id of a succeeded cluster run with no decisions yet), E2E_NOTE (optional
 * note text), SCREENSHOT_DIR, CHROMIUM_PATH (optional, default /usr/bin/chromium),
 * E2E_TIMEOUT_MS (optional, default 150000).
 * Prints one JSON summary line ({"ok":true,"clusters":N,"decisions":[...],...}) and exits 0 on
 * success; prints "E2E FAILED: ..." and exits 1.
 */
import { join } from 'node:path';
import { env, fail, launchPage, logIn, pass, run, startWatchdog, step, waitFor } from './harness.mjs';

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('E2E_USERNAME');
const PASSWORD = env('E2E_PASSWORD');
const RUN = Number(env('E2E_RUN'));
const NOTE = env('E2E_NOTE', 'dense stroma, jk: typed keys stay text');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
if (!Number.isInteger(RUN) || RUN <= 0) fail('E2E_RUN must be a cluster run id');
startWatchdog({ defaultTotalMs: 150_000, pollMs: 100 });

/** Decisions cycle through accepts and rejects, so both kinds are exercised. */
const KEYS = ['1', 'b', '2', 'a', '3', 'f', '4', 'p', '5', 'o', '6', '7', '8', '9'];
const REJECT = { b: 'background', a: 'artefact', f: 'out_of_focus', p: 'pen', o: 'other' };

let page;
const reviewAnswers = []; // HTTP status of every POST …/review/

/** Text of the first match, or '' at once when there is none (innerText alone would wait). */
async function textOf(locator) {
  return (await locator.count()) ? (await locator.first().innerText()).trim() : '';
}

/** The first visible error message on the page, or '' — so a refusal fails fast and says why. */
async function visibleError(scope = page) {
  const alert = scope.locator('[data-testid="error-message"], [data-testid="review-problem"]').first();
  return (await alert.isVisible().catch(() => false)) ? (await alert.innerText()).trim() : '';
}

const currentCluster = () => new URL(page.url()).searchParams.get('cluster');

/** "3/5 (60%)" → [3, 5]. */
async function progress() {
  const text = await textOf(page.locator('[data-testid="review-progress"]'));
  const m = /(\d+)\/(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
}

/** Non-transparent pixels of a canvas. */
async function drawnPixels(locator) {
  return locator.evaluate((canvas) => {
    const { width, height } = canvas;
    if (!width || !height) return 0;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn += 1;
    return drawn;
  });
}

run(SCREENSHOT_DIR, async () => {
  page = await launchPage();
  page.on('response', (response) => {
    if (/\/api\/clusters\/\d+\/review\/$/.test(new URL(response.url()).pathname) && response.request().method() === 'POST') {
      reviewAnswers.push(response.status());
    }
  });
  await logIn(page, BASE_URL, USERNAME, PASSWORD);

  step('open the Clusters page');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
  await page.waitForURL(/\/clusters$/);
  const row = page.locator('[data-testid="cluster-run-row"]', { has: page.locator(`a[href="/clusters/runs/${RUN}"]`) });
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the runs could not be loaded: ${error}`);
    return (await row.count()) === 1;
  }, `a row for run #${RUN}`);
  const runStatus = ((await row.locator('.badge').first().textContent()) ?? '').trim().toLowerCase();
  if (runStatus !== 'succeeded') throw new Error(`run #${RUN} is "${runStatus}", not succeeded`);

  step(`open the review gallery of run #${RUN}`);
  await row.locator(`a[href="/clusters/runs/${RUN}"]`).click();
  await page.waitForURL(new RegExp(`/clusters/runs/${RUN}\\?cluster=\\d+`));
  const rows = page.locator('[data-testid="cluster-row"]');
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the gallery shows an error: ${error}`);
    return (await rows.count()) > 0 && (await page.locator('.category-button').count()) > 0;
  }, 'the cluster list and the category buttons');
  const total = await rows.count();
  const [startReviewed, startTotal] = await progress();
  if (startTotal !== total || startReviewed !== 0) {
    throw new Error(`expected 0/${total} reviewed at the start, the progress bar says ${startReviewed}/${startTotal}`);
  }
  if (total > KEYS.length) throw new Error(`the run has ${total} clusters; this script decides on at most ${KEYS.length}`);

  step('see the first cluster’s tiles');
  const first = currentCluster();
  const exemplars = page.locator(`[data-testid="exemplars"][data-cluster="${first}"]`);
  await exemplars.waitFor();
  const images = exemplars.locator('img');
  let loaded = 0;
  await waitFor(async () => {
    loaded = await images.evaluateAll((imgs) => imgs.filter((img) => img.complete && img.naturalWidth > 0).length);
    return loaded > 0;
  }, 'an exemplar tile image to load (naturalWidth > 0)');
  const sections = (await page.locator('.exemplar-section h3').allTextContents()).map((t) => t.trim());
  if (!['Representative', 'Boundary', 'Random'].every((s) => sections.some((t) => t.startsWith(s)))) {
    throw new Error(`expected Representative / Boundary / Random sections, got ${sections.join(' | ')}`);
  }

  step('write a note with n, Enter keeps it');
  const noteCluster = first;
  await page.keyboard.press('n');
  const note = page.getByLabel('Note');
  await waitFor(() => note.evaluate((el) => el === document.activeElement), 'the note field to have the focus');
  await page.keyboard.type(NOTE);
  await page.keyboard.press('Enter');
  await waitFor(() => note.evaluate((el) => el !== document.activeElement), 'Enter to leave the note field');
  if (currentCluster() !== noteCluster) throw new Error(`typing the note moved the gallery to cluster ${currentCluster()}`);
  if ((await note.inputValue()) !== NOTE) throw new Error(`the note field holds "${await note.inputValue()}"`);

  step('decide on every cluster with the keyboard');
  const decisions = [];
  for (let i = 0; i < total; i += 1) {
    const index = currentCluster();
    step(`decide on cluster #${index} (${i + 1} of ${total})`);
    await page.getByRole('heading', { name: `Cluster #${index}`, exact: true }).waitFor();
    const status = await page.locator('[data-testid="cluster-status"]').innerText();
    if (status.trim().toLowerCase() !== 'unreviewed') throw new Error(`cluster #${index} is already "${status}"`);
    const key = KEYS[i];
    await page.keyboard.press(key);
    decisions.push({ index: Number(index), key, status: REJECT[key] ? 'rejected' : 'accepted', reject_reason: REJECT[key] ?? '' });
    await waitFor(async () => {
      const error = await visibleError();
      if (error) throw new Error(`the gallery refused the decision: ${error}`);
      const [reviewed] = await progress();
      // It moves on by itself; after the last cluster there is nowhere to go.
      return reviewed === i + 1 && (i + 1 === total || currentCluster() !== index);
    }, `the decision on #${index} to count and the gallery to move on`);
  }

  step('see the progress bar reach 100%');
  await waitFor(async () => {
    const [reviewed, all] = await progress();
    return reviewed === total && all === total && (await textOf(page.locator('[data-testid="review-progress"]'))).includes('(100%)');
  }, `${total}/${total} (100%)`);
  await page.locator('[data-testid="all-reviewed"]').waitFor();
  await waitFor(async () => reviewAnswers.length >= total, `${total} review requests to be answered`);
  const refused = reviewAnswers.filter((s) => s !== 200);
  if (refused.length) throw new Error(`review requests answered ${reviewAnswers.join(', ')}`);
  const unreviewedRows = await page.locator('[data-testid="cluster-row"][data-status="unreviewed"]').count();
  if (unreviewedRows) throw new Error(`${unreviewedRows} clusters still listed as unreviewed`);
  await waitFor(async () => (await textOf(page.locator('[data-testid="save-status"]'))) === 'Saved', 'the last decision to show "Saved"');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'clusters-gallery.png'), fullPage: true });

  step('find similar tiles with s');
  await page.keyboard.press('s');
  const similar = page.getByRole('region', { name: 'Similar tiles' });
  await similar.waitFor();
  let similarShown = 0;
  await waitFor(async () => {
    const error = await visibleError(similar);
    if (error) throw new Error(`the similar-tile search failed: ${error}`);
    similarShown = await similar.locator('[data-testid="similar-tile"]').count();
    return similarShown > 0;
  }, 'similar tiles, each with its cluster');
  const similarClusters = await similar.locator('.tile-cluster').allInnerTexts();
  if (similarClusters.length !== similarShown) throw new Error(`${similarShown} similar tiles but ${similarClusters.length} cluster labels`);
  await page.keyboard.press('Escape');
  await waitFor(async () => (await similar.count()) === 0, 'Esc to close the similar tiles');

  step('see no disagreements (one reviewer)');
  await page.getByRole('button', { name: /^Disagreements/ }).click();
  const disagreements = page.getByRole('region', { name: 'Disagreements' });
  await waitFor(async () => {
    const error = await visibleError(disagreements);
    if (error) throw new Error(`the disagreements failed: ${error}`);
    return (await disagreements.getByText('The reviewers agree on every cluster.').count()) > 0;
  }, '"The reviewers agree on every cluster."');
  await disagreements.getByRole('button', { name: 'Close' }).click();

  step('open the first representative tile in the viewer with v');
  const lastCluster = currentCluster();
  await page.locator(`[data-testid="exemplars"][data-cluster="${lastCluster}"]`).waitFor();
  const tileHref = await page.locator('section[aria-label="Representative tiles"] a').first().getAttribute('href');
  await page.keyboard.press('v');
  await page.waitForURL(/\/slides\/\d+\?x=\d+&y=\d+&size=\d+/);
  const viewerUrl = new URL(page.url());
  if (`${viewerUrl.pathname}${viewerUrl.search}` !== tileHref) throw new Error(`v opened ${viewerUrl.pathname}${viewerUrl.search}, the tile links to ${tileHref}`);

  step('see the viewer zoomed to the tile');
  const viewer = page.locator('[data-testid="slide-viewer"]');
  await viewer.locator('canvas').first().waitFor({ state: 'attached' });
  const highlight = page.locator('[data-testid="focus-highlight"]');
  await highlight.waitFor({ state: 'attached' });
  let zoom = null;
  await waitFor(async () => {
    const box = await viewer.boundingBox();
    const rect = await highlight.boundingBox();
    if (!box || !rect) return false;
    zoom = {
      viewer: [box.width, box.height].map(Math.round),
      highlight: [rect.width, rect.height].map(Math.round),
      share: Number((rect.width / box.width).toFixed(3)),
      centre_offset: Number((Math.hypot(rect.x + rect.width / 2 - (box.x + box.width / 2), rect.y + rect.height / 2 - (box.y + box.height / 2)) / box.width).toFixed(3)),
    };
    const win = await page.evaluate(() => [window.innerWidth, window.innerHeight]);
    zoom.on_screen = rect.x >= 0 && rect.y >= 0 && rect.x + rect.width <= win[0] && rect.y + rect.height <= win[1];
    // Fitted with a margin of 0.75 × the tile on each side: the tile spans ~40% of the fitted side.
    return zoom.share > 0.15 && zoom.centre_offset < 0.1 && zoom.on_screen;
  }, 'the viewer to fit the tile (a large, centred highlight)').catch((err) => {
    throw new Error(`${err.message} (${JSON.stringify(zoom)})`);
  });

  step('turn on the cluster-label overlay');
  const panel = page.getByRole('region', { name: 'Cluster labels' });
  await panel.waitFor().catch(() => {
    throw new Error('no "Cluster labels" panel over the viewer');
  });
  const runOption = panel.getByLabel('Cluster run').locator(`option[value="${RUN}"]`);
  await runOption.waitFor({ state: 'attached' });
  await panel.getByLabel('Cluster run').selectOption(String(RUN));
  await panel.getByLabel('Cluster labels').check();
  const overlay = page.locator('[data-testid="cluster-label-overlay"]');
  let pixels = 0;
  await waitFor(async () => {
    const error = await visibleError(panel);
    if (error) throw new Error(`the labels failed to load: ${error}`);
    if (!(await overlay.count())) return false;
    pixels = await drawnPixels(overlay);
    return pixels > 0;
  }, 'the label overlay to draw (non-transparent canvas pixels)');
  const legend = (await panel.locator('[data-testid="legend-entry"]').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  if (!legend.length) throw new Error('the overlay has no legend');
  if (legend.some((t) => t.startsWith('Unreviewed'))) throw new Error(`every cluster has a decision, yet the legend shows ${legend.join(' | ')}`);
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'clusters-viewer.png') });

  step('see the labels over the whole slide');
  await page.getByRole('toolbar', { name: 'Viewer controls' }).getByRole('button', { name: 'Home' }).click();
  await page.waitForTimeout(1200); // the home animation, then tiles of the overview
  const wholeSlidePixels = await drawnPixels(overlay);
  if (!wholeSlidePixels) throw new Error('the label overlay drew nothing over the whole slide');
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'clusters-overlay.png') });

  await pass({
    ok: true,
    run: RUN,
    clusters: total,
    decisions,
    note_cluster: Number(noteCluster),
    note: NOTE,
    review_answers: reviewAnswers,
    images_loaded: loaded,
    similar_shown: similarShown,
    viewer: `${viewerUrl.pathname}${viewerUrl.search}`,
    zoom,
    overlay_pixels: pixels,
    whole_slide_pixels: wholeSlidePixels,
    legend,
  });
});
