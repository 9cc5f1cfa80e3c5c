#!/usr/bin/env node
/**
 * End-to-end check of the pathologist workflow against a running RudolfV server: log in, tag
 * every slide on the first page of the browser with one term through the bulk toolbar, then
 * create a rule group over that term and wait until its row shows the expected slide count.
 *
 * Env: BASE_URL (e.g. http://127.0.0.1:8123), E2E_USERNAME and E2E_PASSWORD (a pathologist or
 * admin), E2E_TERM (a term name as the vocabulary spells it, e.g. "H&E"), E2E_GROUP (a name no
 * group has yet), E2E_RULE (e.g. `stain = "H&E"`), E2E_EXPECTED_COUNT (slides the rule should
 * hold), SCREENSHOT_DIR, CHROMIUM_PATH (optional, default /usr/bin/chromium), E2E_TIMEOUT_MS
 * (optional, default 120000).
 * Prints one JSON summary line and exits 0 on success; prints "E2E FAILED: ..." and exits 1.
 */
import { join } from 'node:path';
import { env, fail, launchPage, logIn, pass, run, startWatchdog, step, waitFor } from './harness.mjs';

const BASE_URL = env('BASE_URL').replace(/\/$/, '');
const USERNAME = env('E2E_USERNAME');
const PASSWORD = env('E2E_PASSWORD');
const TERM = env('E2E_TERM');
const GROUP = env('E2E_GROUP');
const RULE = env('E2E_RULE');
const EXPECTED_COUNT = Number(env('E2E_EXPECTED_COUNT'));
const SCREENSHOT_DIR = env('SCREENSHOT_DIR');
if (!Number.isInteger(EXPECTED_COUNT) || EXPECTED_COUNT < 0) fail('E2E_EXPECTED_COUNT must be a whole number');
startWatchdog({ defaultTotalMs: 120_000, pollMs: 150 });

let page;

/** Text of the first match, or '' at once when there is none (innerText alone would wait). */
async function textOf(locator) {
  return (await locator.count()) ? (await locator.first().innerText()).trim() : '';
}

/** The first visible error message on the page, or '' — so a refusal fails fast and says why. */
async function visibleError(scope = page) {
  const alert = scope.locator('[data-testid="error-message"], [data-testid="rule-error"]').first();
  return (await alert.isVisible().catch(() => false)) ? (await alert.innerText()).trim() : '';
}

run(SCREENSHOT_DIR, async () => {
  page = await launchPage();
  await logIn(page, BASE_URL, USERNAME, PASSWORD);

  step('see the slide browser');
  const items = page.locator('[data-testid="slide-item"]');
  await items.first().waitFor();
  const onPage = await items.count();

  step('select all slides on the page');
  await page.locator('[data-testid="select-all-on-page"]').check();
  await waitFor(
    async () => (await textOf(page.locator('[data-testid="selection-count"]'))).startsWith(`${onPage} selected`),
    `"${onPage} selected"`,
  );

  step('open "Add terms…"');
  const addTerms = page.locator('[data-testid="bulk-add-terms"]');
  await addTerms.waitFor().catch(() => {
    throw new Error('no bulk toolbar: is E2E_USERNAME a pathologist or admin?');
  });
  await addTerms.click();
  const form = page.locator('[data-testid="bulk-terms-form"]');
  await form.waitFor();

  step(`pick the term "${TERM}"`);
  const term = form.getByLabel(TERM, { exact: true }).first();
  await term.waitFor().catch(() => {
    throw new Error(`the vocabulary offers no active term named "${TERM}"`);
  });
  await term.check();

  step('apply the bulk tagging');
  await form.locator('[data-testid="bulk-apply"]').click();
  const result = page.locator('[data-testid="bulk-result"]');
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the server refused: ${error}`);
    return result.isVisible();
  }, 'the bulk result');
  const bulkResult = (await result.innerText()).trim();
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'bulk-tagged.png') });

  step('open the Groups page');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Groups', exact: true }).click();
  await page.waitForURL(/\/groups/);

  step(`create the rule group "${GROUP}"`);
  const row = page.locator(`[data-testid="group-row"][data-group-name=${JSON.stringify(GROUP)}]`);
  await page.locator('[data-testid="group-summary"]').waitFor();
  await page.locator('table[aria-label="Groups"]').waitFor();
  // A leftover group from an earlier run would satisfy the count check without testing anything.
  if (await row.count()) throw new Error(`a group named "${GROUP}" exists already; choose a new E2E_GROUP`);
  await page.locator('[data-testid="new-group"]').click();
  await page.locator('[data-testid="group-name"]').fill(GROUP);
  await page.locator('[data-testid="group-kind"]').selectOption('rule');
  await page.locator('[data-testid="group-rule"]').fill(RULE);
  // The live preview doubles as a syntax check: a parse error stops here with the server's words.
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`the rule was refused: ${error}`);
    return /\d/.test(await textOf(page.locator('[data-testid="rule-preview"]')));
  }, 'the live count of the rule');
  const previewText = (await textOf(page.locator('[data-testid="rule-preview"]'))).replace(/\s+/g, ' ');
  const save = page.locator('[data-testid="group-save"]');
  await save.click();
  // Saved when the form closes; a refusal (duplicate name, bad rule) shows instead.
  await waitFor(async () => {
    const error = await visibleError();
    if (error) throw new Error(`saving the group failed: ${error}`);
    return (await save.count()) === 0;
  }, 'the group form to close after saving');

  step(`wait for "${GROUP}" to show ${EXPECTED_COUNT} slides`);
  let groupCount = null;
  let lastReload = Date.now();
  await waitFor(async () => {
    if (await row.isVisible().catch(() => false)) {
      groupCount = Number((await textOf(row.locator('[data-testid="group-count"]'))).replace(/[^\d]/g, ''));
      if (groupCount === EXPECTED_COUNT) return true;
    }
    // Counts are computed by the server; if it lags, look again with a fresh page.
    if (Date.now() - lastReload > 5000) {
      lastReload = Date.now();
      await page.reload();
    }
    return false;
  }, `a row "${GROUP}" with ${EXPECTED_COUNT} slides`).catch((err) => {
    throw new Error(`${err.message} (last count seen: ${groupCount ?? 'no row'})`);
  });
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SCREENSHOT_DIR, 'groups.png') });

  await pass({ ok: true, group_count: groupCount, slides_selected: onPage, bulk_result: bulkResult, rule_preview: previewText });
});
