#!/usr/bin/env node
/**
 * End-to-end check of tiling against a running RudolfV server with a Celery worker: log in as
 * an admin, find one slide in the browser, tile it with a configuration through "Tile…" in the
 * selection toolbar, follow the run until it succeeds, see the slide's row with its tile count
 * and tiles in the gallery, then open the slide in the viewer and turn on the tissue-mask and
 * tile-grid overlays, checking that the mask image loads and the grid canvas draws.
 *
 * Env: BASE_URL (e.g. http://127.0.0.1:8123), E2E_USERNAME and E2E_PASSWORD (an admin),
 * E2E_CONFIG (a tiling configuration's name), E2E_SLIDE (text matching exactly one slide's
 * name, e.g. "aperio"), SCREENSHOT_DIR, CHROMIUM_PATH (optional, default /usr/bin/chromium),
 * E2E_TIMEOUT_MS (optional, default 150000).
 * Prints one JSON summary line ({"ok":true,"tiles":N,...}) and exits 0 on success; prints
 * "E2E FAILED: ..." and exits 1.
 */
import { join } from 'node:path';
import { env, launchPage, logIn, pass, run, startWatchdog, step, waitFor } from './harness.mjs';

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('E2E_USERNAME');
const PASSWORD = env('E2E_PASSWORD');
const CONFIG = env('E2E_CONFIG');
const SLIDE = env('E2E_SLIDE');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
startWatchdog({ defaultTotalMs: 150_000, pollMs: 150 });

/** How long the worker may take to tile the slide (queued → succeeded). */
const RUN_TIMEOUT_MS = 90_000;

let page;
const deepZoomTiles = []; // URLs of deep-zoom tiles the viewer loaded (image/jpeg, 200)

/** Text of the first match, or '' at once when there is none (innerText alone would wait). */
async function textOf(locator) {
  return (await locator.count()) ? (await locator.first().innerText()).trim() : '';
}

/** The first visible error message on the page, or '' — so a refusal fails fast and says why. */
async function visibleError(scope = page) {
  const alert = scope.locator('[data-testid="error-message"]').first();
  return (await alert.isVisible().catch(() => false)) ? (await alert.innerText()).trim() : '';
}

/** A status badge's word as the API spells it (CSS shows badges in capitals). */
async function badgeOf(scope) {
  const badge = scope.locator('.badge');
  return (await badge.count()) ? ((await badge.first().textContent()) ?? '').trim().toLowerCase() : '';
}

const number = (text) => Number(String(text).replace(/[^\d]/g, '') || NaN);

run(SCREENSHOT_DIR, async () => {
  page = await launchPage();
  page.on('response', (response) => {
    if (!/\/dzi_files\/\d+\/\d+_\d+\.jpeg/.test(response.url()) || response.status() !== 200) return;
    deepZoomTiles.push(response.url());
  });
  await logIn(page, BASE_URL, USERNAME, PASSWORD);

  step('see the slide browser');
  const items = page.locator('[data-testid="slide-item"]');
  await items.first().waitFor();

  step(`search for "${SLIDE}"`);
  await page.locator('[data-testid="slide-search"]').fill(SLIDE);
  await waitFor(async () => new URL(page.url()).searchParams.get('search') === SLIDE, 'the search to reach the URL');
  await waitFor(async () => (await items.count()) === 1, `exactly one slide matching "${SLIDE}"`).catch(async (err) => {
    throw new Error(`${err.message} (${await items.count()} listed)`);
  });

  step('select the slide');
  await items.first().locator('input[type="checkbox"]').first().check();
  await waitFor(
    async () => (await textOf(page.locator('[data-testid="selection-count"]'))).startsWith('1 selected'),
    '"1 selected"',
  );

  step('open "Tile…"');
  const tileButton = page.getByRole('toolbar', { name: 'Selection' }).getByRole('button', { name: 'Tile…', exact: true });
  await tileButton.waitFor().catch(() => {
    throw new Error('no "Tile…" in the selection toolbar: is E2E_USERNAME an admin?');
  });
  await tileButton.click();
  const form = page.locator('form[aria-label="Tile slides"]');
  await form.waitFor();

  step(`choose the configuration "${CONFIG}"`);
  const select = form.getByLabel('Tiling configuration');
  const option = select.locator('option', { hasText: CONFIG });
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the configurations could not be loaded: ${error}`);
    return (await option.count()) > 0 || (await form.getByText('No configurations yet').count()) > 0;
  }, 'the configurations to load');
  const offered = (await select.locator('option').allInnerTexts()).slice(1);
  if (!offered.includes(CONFIG)) {
    throw new Error(`no configuration named "${CONFIG}" (offered: ${offered.join(', ') || 'none'})`);
  }
  await select.selectOption({ label: CONFIG });

  step('start the run');
  await form.getByRole('button', { name: /^Tile 1 slide$/ }).click();
  const result = page.locator('[data-testid="tile-result"]');
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the server refused the run: ${error}`);
    return result.isVisible();
  }, 'the "Run #… started" message');
  const resultText = (await result.innerText()).trim();
  const runId = number(await result.getByRole('link').innerText());
  if (!Number.isInteger(runId) || runId <= 0) throw new Error(`no run number in "${resultText}"`);
  if (!/for 1 slide\b/.test(resultText)) throw new Error(`expected a run over one slide, got "${resultText}"`);

  step(`follow the link to run #${runId}`);
  await result.getByRole('link').click();
  await page.waitForURL(new RegExp(`/tiling/runs/${runId}$`));
  const summary = page.locator('[data-testid="run-summary"]');
  await summary.waitFor();

  step(`wait for run #${runId} to succeed`);
  const progressSeen = [];
  let status = '';
  await waitFor(
    async () => {
      const error = await visibleError();
      if (error) throw new Error(`the run page shows an error: ${error}`);
      status = await badgeOf(summary);
      const progress = (await textOf(summary.locator(`[data-testid="run-progress-${runId}"] .progress-row`))).replace(/\s+/g, ' ');
      if (progress && progressSeen.at(-1) !== `${status} ${progress}`) progressSeen.push(`${status} ${progress}`);
      if (status === 'failed' || status === 'partial') {
        const reason = await textOf(page.locator('[data-testid="run-slide-row"] .failure-reason'));
        throw new Error(`the run ended "${status}"${reason ? `: ${reason}` : ''}`);
      }
      return status === 'succeeded';
    },
    `run #${runId} to succeed`,
    RUN_TIMEOUT_MS,
  ).catch((err) => {
    throw new Error(`${err.message} (last status: ${status || 'none'}; progress seen: ${progressSeen.join(' → ') || 'none'})`);
  });
  if (!progressSeen.length) throw new Error('the run page showed no progress');

  step("see the slide's row with its tile count");
  const row = page.locator('[data-testid="run-slide-row"]', { hasText: SLIDE });
  let tiles = NaN;
  // No reload: the page itself must refresh the table when the run ends.
  await waitFor(async () => {
    if (await row.count()) {
      const rowStatus = await badgeOf(row);
      tiles = number(await textOf(row.locator('td.num').first()));
      if (rowStatus === 'done' && tiles > 0) return true;
    }
    return false;
  }, `a row for "${SLIDE}" marked done with a tile count > 0`).catch(async (err) => {
    throw new Error(`${err.message} (row: ${(await textOf(row)).replace(/\s+/g, ' ') || 'none'})`);
  });
  const runTiles = number(await textOf(summary.locator('[data-testid="run-tile-count"]')));
  if (runTiles !== tiles) throw new Error(`the run shows ${runTiles} tiles, its only slide ${tiles}`);

  step('see tiles in the gallery');
  const gallery = page.locator('section[aria-label="Gallery"]');
  // The page refetches the gallery when the run ends; no click needed.
  const galleryImages = gallery.locator('img');
  await waitFor(async () => {
    const error = await visibleError(gallery);
    if (error) throw new Error(`the gallery failed: ${error}`);
    return (await galleryImages.count()) > 0;
  }, 'tiles in the gallery');
  await galleryImages.first().scrollIntoViewIfNeeded(); // they load lazily
  let galleryLoaded = 0;
  await waitFor(async () => {
    galleryLoaded = await galleryImages.evaluateAll((imgs) => imgs.filter((img) => img.complete && img.naturalWidth > 0).length);
    return galleryLoaded > 0;
  }, 'a gallery tile image to load (naturalWidth > 0)');
  const galleryShown = await galleryImages.count();
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'tiling-run.png'), fullPage: true });

  step('open the slide in the viewer');
  await row.getByRole('link').first().click();
  await page.waitForURL(/\/slides\/\d+/);
  await page.locator('[data-testid="slide-viewer"] canvas').first().waitFor({ state: 'attached' });
  await waitFor(async () => deepZoomTiles.length > 0, 'a deep-zoom tile');

  step('see the tiling overlay panel');
  const panel = page.getByRole('region', { name: 'Tiling overlays' });
  await panel.waitFor().catch(() => {
    throw new Error('no tiling overlay panel over the viewer');
  });
  await panel.getByRole('combobox', { name: 'Tiling', exact: true }).selectOption({ label: CONFIG });
  const facts = panel.locator('[data-testid="tiling-facts"]');
  await waitFor(async () => {
    const text = (await textOf(facts)).replace(/\s+/g, ' ');
    return (await badgeOf(facts)) === 'done' && number(text.split('tiles')[0]) === tiles;
  }, `the panel to show "done" and ${tiles} tiles`).catch(async (err) => {
    throw new Error(`${err.message} (panel: ${(await textOf(facts)).replace(/\s+/g, ' ')})`);
  });

  step('let the first view settle');
  let seen = -1;
  await waitFor(async () => {
    const settled = deepZoomTiles.length === seen;
    seen = deepZoomTiles.length;
    if (!settled) await new Promise((r) => setTimeout(r, 400));
    return settled;
  }, 'the initial tiles to finish', 10_000).catch(() => undefined);

  step('turn on "Tissue mask"');
  await panel.getByLabel('Tissue mask').check();
  const mask = page.locator('[data-testid="tissue-mask-overlay"]');
  await mask.waitFor({ state: 'attached' });
  let maskInfo = null;
  await waitFor(async () => {
    maskInfo = await mask.evaluate((img) => {
      const r = img.getBoundingClientRect();
      return { complete: img.complete, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, width: r.width, height: r.height };
    });
    return maskInfo.complete && maskInfo.naturalWidth > 0 && maskInfo.width > 0 && maskInfo.height > 0;
  }, 'the tissue mask image to load and be placed over the slide').catch((err) => {
    throw new Error(`${err.message} (${JSON.stringify(maskInfo)})`);
  });

  step('turn on "Tile grid"');
  await panel.getByLabel('Tile grid').check();
  const grid = page.locator('[data-testid="tile-grid-overlay"]');
  await waitFor(async () => {
    const error = await visibleError(panel);
    if (error) throw new Error(`the grid failed to load: ${error}`);
    return (await grid.count()) > 0;
  }, 'the tile-grid canvas');
  let gridInfo = null;
  await waitFor(async () => {
    gridInfo = await grid.evaluate((canvas, maskSelector) => {
      const { width, height } = canvas;
      if (!width || !height) return { drawn: 0, width, height };
      const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
      const ratio = width / canvas.getBoundingClientRect().width || 1;
      // Drawn pixels, their bounding box (CSS px, page coordinates), and how many of them lie on
      // tissue according to the mask PNG (white = tissue), which is stretched over the slide.
      const box = canvas.getBoundingClientRect();
      const img = document.querySelector(maskSelector);
      const m = img.getBoundingClientRect();
      const probe = document.createElement('canvas');
      probe.width = img.naturalWidth;
      probe.height = img.naturalHeight;
      const pctx = probe.getContext('2d');
      pctx.drawImage(img, 0, 0);
      const maskData = pctx.getImageData(0, 0, probe.width, probe.height).data;
      let drawn = 0;
      let onTissue = 0;
      let inside = 0;
      let minX = Infinity;
      let minY = Infinity;
      let maxX = -Infinity;
      let maxY = -Infinity;
      for (let y = 0; y < height; y += 1) {
        for (let x = 0; x < width; x += 1) {
          if (data[(y * width + x) * 4 + 3] === 0) continue;
          drawn += 1;
          const px = box.left + x / ratio;
          const py = box.top + y / ratio;
          minX = Math.min(minX, px);
          minY = Math.min(minY, py);
          maxX = Math.max(maxX, px);
          maxY = Math.max(maxY, py);
          const mx = Math.floor(((px - m.left) / m.width) * probe.width);
          const my = Math.floor(((py - m.top) / m.height) * probe.height);
          if (mx < 0 || my < 0 || mx >= probe.width || my >= probe.height) continue;
          inside += 1;
          if (maskData[(my * probe.width + mx) * 4] > 127) onTissue += 1;
        }
      }
      return {
        drawn,
        width,
        height,
        inside_slide: drawn ? inside / drawn : 0,
        on_tissue: drawn ? onTissue / drawn : 0,
        box: drawn ? [minX, minY, maxX, maxY].map(Math.round) : null,
        slide_box: [m.left, m.top, m.right, m.bottom].map(Math.round),
      };
    }, '[data-testid="tissue-mask-overlay"]');
    return gridInfo.drawn > 0;
  }, 'the tile grid to draw (non-transparent canvas pixels)').catch((err) => {
    throw new Error(`${err.message} (${JSON.stringify(gridInfo)})`);
  });
  // Every kept tile lies inside the slide; its outline must too (allowing for the 1 px stroke).
  if (gridInfo.inside_slide < 0.98) {
    throw new Error(`the grid is not over the slide: only ${(gridInfo.inside_slide * 100).toFixed(1)}% of it lies within the mask (${JSON.stringify(gridInfo)})`);
  }
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'overlay.png') });

  await pass({
    ok: true,
    tiles,
    run: runId,
    progress_seen: progressSeen,
    gallery_shown: galleryShown,
    gallery_loaded: galleryLoaded,
    mask: { width: maskInfo.naturalWidth, height: maskInfo.naturalHeight },
    grid_pixels: gridInfo.drawn,
    grid_on_tissue: Number(gridInfo.on_tissue.toFixed(3)),
  });
});
