/**
 * End to end, in a real browser: a Tryton admin authorizes Google credentials in the Tryton web client
 * (sao, served by trytond 8.0) against the offline Google emulator, as a user would do it by hand.
 *
 * Needs Chromium and, in e2e/sao/, sao and playwright-core: `bash scripts/e2e-setup.sh` installs them.
 * Screenshots of each step go to .cache/e2e/authorization-in-sao/ (and failure.png/.html on failure).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  browserFailure,
  launchChromium,
  logIn,
  openMenuEntry,
  STEP_MS,
  screenshotFolder,
} from './support/browser.js';
import { startTrytonStack, type TrytonStack } from './support/tryton-stack.js';

const ACCOUNT = 'calendar.owner@example.com';
const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';

/** A timestamp as sao shows it to the admin (no timezone set: UTC), to the second. */
function shown(value: Date): string {
  const [date, time] = value.toISOString().split('T') as [string, string];
  const [year, month, day] = date.split('-');
  return `${month}/${day}/${year} ${time.slice(0, 8)}`;
}

describe('authorization in the Tryton web client', () => {
  let stack: TrytonStack | undefined;
  let browser: any;

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('an admin creates credentials, clicks Authorize, allows at Google, is notified and refreshes', async () => {
    const shots = screenshotFolder('authorization-in-sao');

    stack = await startTrytonStack();
    const current = stack;
    browser = await launchChromium();
    // launch() runs Chromium on a fresh temporary profile; the context adds nothing to it.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(STEP_MS);
    // sao shows bus notifications as desktop notifications, which headless Chromium does not
    // display: the page gets a Notification that records them instead, with permission granted.
    await context.addInitScript(() => {
      const shown: { title: string; body: string }[] = [];
      // Runs in the page (no DOM types here): globalThis is its window.
      (globalThis as any).shownNotifications = shown;
      (globalThis as any).Notification = class {
        static permission = 'granted';
        static requestPermission() {
          return Promise.resolve('granted');
        }
        constructor(title: string, options?: { body?: string }) {
          shown.push({ title, body: options?.body ?? '' });
        }
      };
    });
    const page = await context.newPage();
    // Script errors in the page (a view sao cannot render, say): reported with any failure.
    const problems: string[] = [];
    page.on('pageerror', (error: Error) => problems.push(`page error: ${error.message}`));
    let step = 0;
    const shot = async (target: any, name: string) => {
      step += 1;
      await target.screenshot({ path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`) });
    };

    try {
      await logIn(page, current);
      // Google Integration > Credentials: the list, then a new record in the form.
      const tab = await openMenuEntry(page, 'Credentials');
      await tab.locator('.treeview').waitFor({ state: 'visible' });
      await shot(page, 'credentials-list');
      await tab.locator('button#new_').click();

      const form = tab.locator('.form');
      const field = (name: string) => form.locator(`[name="${name}"]`);
      await field('name').waitFor({ state: 'visible' });
      const notebook = form.locator('.form-notebook > .nav-tabs');
      for (const page_ of ['Configuration', 'Authentication', 'Synchronization'])
        await notebook.getByRole('tab', { name: page_, exact: true }).waitFor({ state: 'visible' });
      // The defaults arrive from trytond after the form shows.
      const poll = { timeout: STEP_MS };
      await expect.poll(() => field('scopes').inputValue(), poll).toBe(CALENDAR_SCOPE);
      await expect.poll(() => field('redirect_uri').inputValue(), poll).toBe(current.redirectUri);
      expect(await field('state').locator('option:checked').textContent()).toBe('Without Authorization');
      const authorize = form.locator('button[name="request_authorization"]');
      await authorize.waitFor({ state: 'visible' });

      // trytond proposes the sidecar's callback for this database; the admin types what they
      // registered at Google, here the same.
      const typed: Array<[string, string]> = [
        ['name', 'Calendar of the sales team'],
        ['client_id', current.clientId],
        ['client_secret', current.clientSecret],
        ['redirect_uri', current.redirectUri],
      ];
      for (const [name, value] of typed) await field(name).fill(value);
      // sao puts the cursor in the first field once the new record is shown, which on a loaded
      // machine can be after a fill began: what went elsewhere is typed again, as a person would.
      await expect
        .poll(async () => {
          let wrong = 0;
          for (const [name, value] of typed) {
            if ((await field(name).inputValue()) === value) continue;
            wrong++;
            await field(name).fill(value);
          }
          return wrong;
        }, poll)
        .toBe(0);
      await shot(page, 'new-credentials');
      await tab.locator('button#save').click();
      await tab.locator('.infobar').getByText('Record saved.').waitFor({ state: 'visible' });

      // Authorize: sao opens the ir.action.url (Google's consent page) in a new window.
      const popup = context.waitForEvent('page', { timeout: STEP_MS });
      await authorize.click();
      const consent = await popup;
      consent.on('pageerror', (error: Error) => problems.push(`consent page error: ${error.message}`));
      await consent.locator('form#consent').waitFor({ state: 'visible' });
      expect(consent.url().startsWith(`${current.emulator.url}/`), consent.url()).toBe(true);
      expect(await consent.locator('#client-id').textContent()).toBe(current.clientId);
      expect(await consent.locator('#redirect-uri').textContent()).toBe(current.redirectUri);
      await consent.locator('input[name="email"]').fill(ACCOUNT);
      await shot(consent, 'google-consent');
      await consent.locator('button#allow').click();
      await consent.getByText('Google account connected').waitFor({ state: 'visible' });
      const callback = `${current.sidecarUrl}/${current.database}/google/callback?`;
      expect(consent.url().startsWith(callback), consent.url()).toBe(true);
      await consent.getByText(ACCOUNT).first().waitFor({ state: 'visible' });
      await shot(consent, 'sidecar-callback');
      await consent.close();

      // The sidecar ends the authorization with google_integration_notify(id), which the module
      // creates; until it does, the test calls it as the sidecar will (once only: the callback
      // page shows after the sidecar's transaction committed).
      const credential = await current.credential('Calendar of the sales team');
      const notified = await current.db('res_notification').where({ records: `[${credential?.id}]` });
      if (notified.length === 0)
        await current.db.raw('SELECT google_integration_notify(?)', [credential?.id]);

      // Back in Tryton, without reloading anything: the bus brings the notification, its badge
      // shows, and it opens the credentials, authorized for the account that consented.
      await page.bringToFront();
      const badge = page.locator('#user-preferences .notification-badge');
      await expect.poll(() => badge.first().textContent(), poll).toBe('1');
      await shot(page, 'notified');
      await page.locator('#user-preferences > a.dropdown-toggle').click();
      const item = page.locator('.notification-menu .notification-item', {
        hasText: 'Google authorized credentials "Calendar of the sales team".',
      });
      await item.getByText(ACCOUNT).waitFor({ state: 'visible' });
      await shot(page, 'notification-menu');
      await item.locator('a').first().click();
      await expect
        .poll(() => field('state').locator('option:checked').textContent(), poll)
        .toBe('Authorized');
      await form.locator('button[name="revoke"]').waitFor({ state: 'visible' });
      const refresh = form.locator('button[name="refresh_credentials"]');
      await refresh.waitFor({ state: 'visible' });
      await authorize.waitFor({ state: 'hidden' });
      await notebook.getByRole('tab', { name: 'Authentication', exact: true }).click();
      await field('account_email').waitFor({ state: 'visible' });
      expect(await field('account_email').inputValue()).toBe(ACCOUNT);
      expect(await field('granted_scopes').inputValue()).toContain(CALENDAR_SCOPE);
      // The sidecar's timestamps are shown to the second, whole in their field.
      await expect.poll(() => field('token_expiry').inputValue(), poll).toMatch(/\d{2}:\d{2}:\d{2}$/);
      await shot(page, 'authorized');

      // Refresh Token: a notification tells until when the new token is valid, the form reloads.
      const before = (await current.credential('Calendar of the sales team'))?.token_expiry;
      await refresh.click();
      const refreshed = 'The access token of credentials "Calendar of the sales team" was refreshed.';
      await expect
        .poll(() => page.evaluate(() => (globalThis as any).shownNotifications), poll)
        .toContainEqual({ title: refreshed, body: expect.stringMatching(/^It is valid until .+ \(.+\)\.$/) });
      const after = (await current.credential('Calendar of the sales team'))?.token_expiry;
      expect(after.getTime()).toBeGreaterThanOrEqual(before.getTime());
      // The notification comes while the button runs; the form shows the new expiry once it has
      // reloaded the record, which is what a user waits for before the next click (sao's next button
      // writes what the form shows into the record first).
      await expect.poll(() => field('token_expiry').inputValue(), poll).toBe(shown(after));
      // What the form shows of the timestamps it was given reads back as the same values: sao does
      // not take the record for modified (leaving it would ask whether to save it).
      const modified: string[][] = await page.evaluate(() =>
        (globalThis as any).Sao.Tab.tabs
          .filter((each: any) => each.screen?.current_record)
          .map((each: any) => Object.keys(each.screen.current_record.modified_fields)),
      );
      expect(modified.length).toBeGreaterThan(0);
      expect(modified.flat()).toEqual([]);

      // A restart of the sidecar and the emulator (as a restart of `npm start`, the emulator
      // keeping its state in a file) leaves the credential usable: Refresh Token works again.
      await current.restartGoogleSide();
      await refresh.click();
      await expect
        .poll(
          () =>
            page.evaluate(
              (title: string) =>
                (globalThis as any).shownNotifications.filter((shown: any) => shown.title === title).length,
              refreshed,
            ),
          poll,
        )
        .toBe(2);
      const again = await current.credential('Calendar of the sales team');
      expect(again?.state).toBe('authorized');
      await expect.poll(() => field('token_expiry').inputValue(), poll).toBe(shown(again?.token_expiry));

      // The list shows the state, the buttons and the last error without cutting them.
      await tab.locator('button#switch_').click();
      const listRow = tab.locator('.treeview tbody tr', { hasText: 'Calendar of the sales team' });
      await listRow.waitFor({ state: 'visible' });
      // Last Error is an optional column, hidden until the user shows it.
      await tab.locator('.treeview thead th', { hasText: 'Last Error' }).waitFor({ state: 'attached' });
      await tab
        .locator('.treeview tbody button', { hasText: /refresh token/i })
        .waitFor({ state: 'visible' });
      const cut = await listRow.evaluate((tr: any) =>
        [...tr.querySelectorAll('.column-selection, button')]
          .filter((el: any) => el.offsetParent !== null)
          .filter((el: any) => {
            const cell = el.closest('td');
            const list = el.closest('.treeview').getBoundingClientRect();
            return (
              el.scrollWidth > el.clientWidth + 1 ||
              el.getBoundingClientRect().right > cell.getBoundingClientRect().right + 1 ||
              el.getBoundingClientRect().right > list.right + 1
            );
          })
          .map((el: any) => el.textContent),
      );
      expect(cut).toEqual([]);
      await shot(page, 'list');

      // And in the database the sidecar wrote, tokens encrypted at rest.
      const row = await current.credential('Calendar of the sales team');
      expect(row).toMatchObject({ state: 'authorized', account_email: ACCOUNT, last_error: null });
      expect(row?.refresh_token).toMatch(/^gcm1\./);
      expect(problems).toEqual([]);
    } catch (error) {
      throw await browserFailure(error, page, shots, problems, current);
    }
  }, 400_000);
});
