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
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') fail(`environment variable ${name} is required`);
  return value;
};

let browser;
let page;
function fail(message) {
  console.error(`E2E FAILED: ${message}`);
  // Closing the browser may itself hang on a wedged page; do not wait for it.
  browser?.close().catch(() => undefined);
  process.exit(1);
}

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('E2E_USERNAME');
const PASSWORD = env('E2E_PASSWORD');
const SEARCH = env('E2E_SEARCH');
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
const TOTAL_TIMEOUT_MS = Number(process.env.E2E_TIMEOUT_MS || 90_000);
const STEP_TIMEOUT_MS = 30_000;

const watchdog = setTimeout(() => fail(`timed out after ${TOTAL_TIMEOUT_MS / 1000} s (last step: ${step})`), TOTAL_TIMEOUT_MS);

let step = 'start';
const tiles = []; // {level, url}
const pageErrors = [];

async function waitFor(predicate, what, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
}

const maxLevel = () => tiles.reduce((m, t) => Math.max(m, t.level), -1);

async function main() {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  step = 'launch chromium';
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('response', (response) => {
    const url = response.url();
    const match = /\/dzi_files\/(\d+)\/\d+_\d+\.jpeg/.exec(url);
    if (!match || response.status() !== 200) return;
    if (!(response.headers()['content-type'] || '').startsWith('image/jpeg')) return;
    tiles.push({ level: Number(match[1]), url });
  });

  step = 'open the app and expect the login page';
  await page.goto(`${BASE_URL}/`);
  await page.waitForURL(/\/login/);

  step = 'log in';
  await page.getByLabel('Username').fill(USERNAME);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await Promise.race([
    page.waitForURL(/\/slides/),
    page
      .getByRole('alert')
      .waitFor()
      .then(async () => {
        throw new Error(`login refused: ${await page.getByRole('alert').innerText()}`);
      }),
  ]);

  step = 'see the slide browser';
  const items = page.locator('[data-testid="slide-item"]');
  await items.first().waitFor();
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'browser.png') });
  const listed = await items.count();

  step = `search for "${SEARCH}"`;
  await page.locator('[data-testid="slide-search"]').fill(SEARCH);
  await waitFor(async () => new URL(page.url()).searchParams.get('search') === SEARCH, 'the search to reach the URL');
  await waitFor(async () => (await items.count()) === 1, 'exactly one slide item');

  step = 'open the slide';
  await items.first().locator('a').first().click();
  await page.waitForURL(/\/slides\/\d+/);
  await page.locator('[data-testid="slide-viewer"] canvas').first().waitFor({ state: 'attached' });
  await waitFor(async () => tiles.length > 0, 'a deep-zoom tile (image/jpeg, 200)');

  step = 'let the first view settle';
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

  step = 'zoom in';
  const zoomIn = page.locator('[data-testid="zoom-in"]');
  for (let i = 0; i < 3; i += 1) {
    await zoomIn.click();
    await page.waitForTimeout(250);
  }
  await waitFor(async () => maxLevel() > levelBeforeZoom && tiles.length > tilesBeforeZoom, 'tiles at a deeper level after zooming in');

  step = 'check the scale bar';
  const scaleBar = page.locator('[data-testid="scale-bar"]');
  await waitFor(async () => /\d\s*(µm|mm)|no scale/.test(await scaleBar.innerText().catch(() => '')), 'a scale bar label');
  const scaleText = (await scaleBar.innerText()).trim();
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'viewer.png') });

  if (pageErrors.length) throw new Error(`the page threw: ${pageErrors.join(' | ')}`);
  await browser.close();
  clearTimeout(watchdog);
  const levels = [...new Set(tiles.map((t) => t.level))].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      ok: true,
      slides_listed: listed,
      tiles_loaded: tiles.length,
      levels_seen: levels,
      level_before_zoom: levelBeforeZoom,
      level_after_zoom: maxLevel(),
      scale_bar: scaleText,
    }),
  );
  process.exit(0);
}

main().catch(async (err) => {
  // A picture of the failing page is usually the quickest diagnosis.
  await page?.screenshot({ path: join(SCREENSHOT_DIR, 'failure.png'), timeout: 5000 }).catch(() => undefined);
  const extra = pageErrors.length ? `; page errors: ${pageErrors.join(' | ')}` : '';
  fail(`${step}: ${err?.message?.split('\n')[0] ?? err}${extra}`);
});
