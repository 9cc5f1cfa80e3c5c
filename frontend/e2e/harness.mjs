/**
 * Shared machinery for the browser end-to-end scripts in this folder (browse-and-view.mjs,
 * tag-and-group.mjs): plain Node ESM on playwright-core with the system's Chromium.
 *
 * The contract every script keeps: read its settings from env variables, print one JSON summary
 * line on stdout and exit 0 on success, or print "E2E FAILED: <step>: <reason>" on stderr and
 * exit 1 (a missing variable, a failed step, or the whole-run watchdog firing).
 *
 * A script's shape:
 *   const BASE_URL = env('BASE_URL').replace(/\/$/, '');          // settings first
 *   startWatchdog({ defaultTotalMs: 90_000 });
 *   run(SCREENSHOT_DIR, async () => {
 *     const page = await launchPage();
 *     await logIn(page, BASE_URL, USERNAME, PASSWORD);
 *     step('do the thing'); ... await waitFor(async () => ..., 'the thing');
 *     await pass({ ok: true, ... });
 *   });
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

/** Default timeout of one step: playwright's default for the page, and waitFor's default. */
export const STEP_TIMEOUT_MS = 30_000;

/** Errors thrown by the page's own scripts ('pageerror'), collected since launchPage(). */
export const pageErrors = [];

let browser;
let page;
let watchdog;
let pollMs = 100;
let currentStep = 'start';

/** Names the step now running; failures and the watchdog report it ("last step: …"). */
export function step(name) {
  currentStep = name;
}

/** Prints "E2E FAILED: MESSAGE" on stderr and exits 1, closing the browser without waiting for it. */
export function fail(message) {
  console.error(`E2E FAILED: ${message}`);
  // Closing the browser may itself hang on a wedged page; do not wait for it.
  browser?.close().catch(() => undefined);
  process.exit(1);
}

/** The env variable NAME, else FALLBACK; fail()s when neither is set (or both are empty). */
export function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') fail(`environment variable ${name} is required`);
  return value;
}

/**
 * Starts the whole-run watchdog: after E2E_TIMEOUT_MS (default DEFAULTTOTALMS) it fail()s with
 * "timed out after N s (last step: …)". POLLMS sets how often waitFor() asks its predicate.
 */
export function startWatchdog({ defaultTotalMs, pollMs: poll = 100 }) {
  const totalMs = Number(process.env.E2E_TIMEOUT_MS || defaultTotalMs);
  pollMs = poll;
  watchdog = setTimeout(() => fail(`timed out after ${totalMs / 1000} s (last step: ${currentStep})`), totalMs);
}

/** Resolves once `await predicate()` is truthy; throws "gave up waiting for WHAT after N s". */
export async function waitFor(predicate, what, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
}

/**
 * Launches headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium) and returns a new page
 * in a 1400×900 viewport, with STEP_TIMEOUT_MS as its default timeout and its errors going to
 * pageErrors.
 */
export async function launchPage() {
  step('launch chromium');
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
  return page;
}

/**
 * Opens BASEURL/, expects the redirect to the login page, logs in and waits for /slides; throws
 * "login refused: <the page's alert>" when the server says no.
 */
export async function logIn(page, baseUrl, username, password) {
  step('open the app and expect the login page');
  await page.goto(`${baseUrl}/`);
  await page.waitForURL(/\/login/);

  step('log in');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
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
}

/**
 * Ends a successful run: throws if the page threw (so run() reports it), else closes the
 * browser, stops the watchdog, prints SUMMARY as one JSON line and exits 0.
 */
export async function pass(summary) {
  if (pageErrors.length) throw new Error(`the page threw: ${pageErrors.join(' | ')}`);
  await browser.close();
  clearTimeout(watchdog);
  console.log(JSON.stringify(summary));
  process.exit(0);
}

/**
 * Creates SCREENSHOTDIR and runs MAIN; if it throws, saves SCREENSHOTDIR/failure.png and fail()s
 * with "<step>: <first line of the error>[; page errors: …]".
 */
export function run(screenshotDir, main) {
  (async () => {
    mkdirSync(screenshotDir, { recursive: true });
    await main();
  })().catch(async (err) => {
    // A picture of the failing page is usually the quickest diagnosis.
    await page?.screenshot({ path: join(screenshotDir, 'failure.png'), timeout: 5000 }).catch(() => undefined);
    const extra = pageErrors.length ? `; page errors: ${pageErrors.join(' | ')}` : '';
    fail(`${currentStep}: ${err?.message?.split('\n')[0] ?? err}${extra}`);
  });
}
