#!/usr/bin/env node
/**
 * End-to-end check against a running RudolfV server: log in, find one slide, open it in the
 * deep-zoom viewer, zoom in, and save screenshots.
 *
 * Env: BASE_URL (e.g. http://127.0.0.1:8123), E2E_USERNAME, E2E_PASSWORD, E2E_SEARCH (text
 * matching exactly one registered slide's name), SCREENSHOT_DIR, CHROMIUM_PATH (optional,
 * default /usr/bin/chromium), E2E_TIMEOUT_MS (optional, default 90000).
 * Prints one JSON summary line and exits 0 on success; prints "E2E FAILED: ..." and exits 1.
 */
import { join } from 'node:path';
import { env, launchPage, logIn, pass, run, startWatchdog, step, waitFor } from './harness.mjs';

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('E2E_USERNAME');
const PASSWORD = env('E2E_PASSWORD');
const SEARCH = env('E2E_SEARCH');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
startWatchdog({ defaultTotalMs: 90_000, pollMs: 100 });

const tiles = []; // {level, url}
const cspViolations = []; // console messages: the server's Content-Security-Policy blocked something
const maxLevel = () => tiles.reduce((m, t) => Math.max(m, t.level), -1);

run(SCREENSHOT_DIR, async () => {
  const page = await launchPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on('response', (response) => {
    const url = response.url();
    const match = /\/dzi_files\/(\d+)\/\d+_\d+\.jpeg/.exec(url);
    if (!match || response.status() !== 200) return;
    if (!(response.headers()['content-type'] || '').startsWith('image/jpeg')) return;
    tiles.push({ level: Number(match[1]), url });
  });
  await logIn(page, BASE_URL, USERNAME, PASSWORD);

  step('see the slide browser');
  const items = page.locator('[data-testid="slide-item"]');
  await items.first().waitFor();
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'browser.png') });
  const listed = await items.count();

  step(`search for "${SEARCH}"`);
  await page.locator('[data-testid="slide-search"]').fill(SEARCH);
  await waitFor(async () => new URL(page.url()).searchParams.get('search') === SEARCH, 'the search to reach the URL');
  await waitFor(async () => (await items.count()) === 1, 'exactly one slide item');

  step('open the slide');
  await items.first().locator('a').first().click();
  await page.waitForURL(/\/slides\/\d+/);
  await page.locator('[data-testid="slide-viewer"] canvas').first().waitFor({ state: 'attached' });
  await waitFor(async () => tiles.length > 0, 'a deep-zoom tile (image/jpeg, 200)');

  step('let the first view settle');
  let seen = -1;
  await waitFor(async () => {
    // Settled when no new tile arrived during the last poll interval window.
    const settled = tiles.length === seen;
    seen = tiles.length;
    if (!settled) await new Promise((r) => setTimeout(r, 400));
    return settled;
  }, 'the initial tiles to finish', 15_000).catch(() => undefined);
  const levelBeforeZoom = maxLevel();
  const tilesBeforeZoom = tiles.length;

  step('zoom in');
  const zoomIn = page.locator('[data-testid="zoom-in"]');
  for (let i = 0; i < 3; i += 1) {
    await zoomIn.click();
    await page.waitForTimeout(250);
  }
  await waitFor(async () => maxLevel() > levelBeforeZoom && tiles.length > tilesBeforeZoom, 'tiles at a deeper level after zooming in');

  step('check the scale bar');
  const scaleBar = page.locator('[data-testid="scale-bar"]');
  await waitFor(async () => /\d\s*(µm|mm)|no scale/.test(await scaleBar.innerText().catch(() => '')), 'a scale bar label');
  const scaleText = (await scaleBar.innerText()).trim();
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'viewer.png') });

  const levels = [...new Set(tiles.map((t) => t.level))].sort((a, b) => a - b);
  await pass({
    ok: true,
    slides_listed: listed,
    tiles_loaded: tiles.length,
    levels_seen: levels,
    level_before_zoom: levelBeforeZoom,
    level_after_zoom: maxLevel(),
    scale_bar: scaleText,
    csp_violations: cspViolations,
  });
});
