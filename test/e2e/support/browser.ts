/**
 * What the browser tests share: headless Chromium driven by playwright-core (both installed by
 * scripts/e2e-setup.sh), a folder of screenshots per test, and a failure report that says what the
 * browser, the database and the servers were doing.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from '../../support/tryton.js';
import { missingForBrowser, type TrytonStack } from './tryton-stack.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
/** Without the background-networking flags Chromium keeps calling Google, which is unreachable here. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/**
 * Longest wait for one thing to show up in the browser. A step's limit, not a speed target: CI runs
 * the heavy model test beside the browser.
 */
export const STEP_MS = 45_000;

/**
 * playwright-core lives in e2e/sao/ (with sao) so that the project's own dependencies stay as they
 * are; it is loaded from there at run time and typed loosely for the same reason.
 */
function playwright(): any {
  return createRequire(join(ROOT, 'e2e', 'sao', 'package.json'))('playwright-core');
}

/** Starts Chromium, after saying what is missing for it, if anything. */
export function launchChromium(): Promise<any> {
  const missing = missingForBrowser(CHROMIUM);
  if (missing.length > 0)
    throw new Error(`missing for the browser test: ${missing.join(', ')}; run: bash scripts/e2e-setup.sh`);
  return playwright().chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: STEP_MS });
}

/** Logs in to sao as admin, as a person does: database, user name, then the password dialog. */
export async function logIn(page: any, stack: TrytonStack): Promise<void> {
  await page.goto(`${stack.trytonUrl}/#${stack.database}`);
  const database = page.locator('input#database');
  await database.waitFor({ state: 'visible' });
  await database.fill(stack.database);
  await page.locator('input#login').fill('admin');
  await page.getByRole('button', { name: 'Login' }).click();
  await page.locator('input#ask-dialog-entry').fill('admin');
  await page.locator('.ask-dialog').getByRole('button', { name: 'OK' }).click();
}

/** Opens an entry of the Google Integration menu; returns the tab it opens in. */
export async function openMenuEntry(page: any, entry: string): Promise<any> {
  const menu = page.locator('#menu');
  await menu.locator('tr', { hasText: 'Google Integration' }).locator('.expander').click();
  await menu.locator('td', { hasText: entry }).dblclick();
  return page.locator('#tabcontent > .tab-pane.active');
}

/** .cache/e2e/<name>/, emptied: where a test's screenshots go. */
export function screenshotFolder(name: string): string {
  const folder = join(ROOT, '.cache', 'e2e', name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  return folder;
}

/**
 * The error a browser test fails with: the step that failed, the page's script errors, where the
 * screenshots are (failure.png and failure.html added), the database's sessions and the servers' logs.
 */
export async function browserFailure(
  error: unknown,
  page: any,
  shots: string,
  problems: readonly string[],
  stack: TrytonStack,
): Promise<Error> {
  await page.screenshot({ path: join(shots, 'failure.png') }).catch(() => undefined);
  writeFileSync(join(shots, 'failure.html'), await page.content().catch(() => ''));
  const message = error instanceof Error ? error.message : String(error);
  return new Error(
    `${message}\n--- browser\n${problems.join('\n') || '(nothing)'}\n` +
      `screenshots: ${shots}\n--- database sessions\n${await stack.sessions().catch(String)}\n` +
      stack.logs().slice(-6000),
    { cause: error },
  );
}
