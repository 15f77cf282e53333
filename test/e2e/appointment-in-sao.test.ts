/**
 * End to end, in a real browser: an appointment made in the calendar view of Google Calendar Events in
 * the Tryton web client (sao, served by trytond 8.0) reaches Google (the offline emulator) on its own,
 * and an event moved in Google moves in that view.
 *
 * 1. A click on a time slot of the week view opens a new event starting there; the user types a title
 *    and saves. The module's trigger queues the calendar's round in that save's transaction, so the
 *    sidecar pushes it within seconds: the test only waits for it at the emulator (no Sync Now).
 * 2. The event is moved at Google (the emulator's control API, as a person in Google Calendar would);
 *    after a pull (calendar.sync, what Sync Now calls) the reloaded view shows it at its new time in the
 *    browser's zone.
 *
 * The account is authorized and its primary calendar fetched over the sidecar's JSON-RPC (what
 * Authorize and Fetch Calendars do); its Synchronize switch is set through Tryton's ORM, as the form
 * does. Needs Chromium and, in e2e/sao/, sao and playwright-core: `bash scripts/e2e-setup.sh` installs
 * them. Screenshots go to .cache/e2e/appointment-in-sao/ (and failure.png/.html on failure).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import { call } from '../support/rpc.js';
import { TrytonSession } from '../support/trytond.js';
import { until } from '../support/wait.js';
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
/**
 * The browser's zone, and the zone the event is moved in at Google, both without daylight saving time
 * so the expected times hold all year. The slot of 10:00 in Kolkata (UTC+5:30) is 04:30 UTC; 19:30 in
 * Tokyo (UTC+9) is 10:30 UTC, 16:00 in Kolkata.
 */
const BROWSER_ZONE = 'Asia/Kolkata';
const GOOGLE_ZONE = 'Asia/Tokyo';
const TITLE = 'Appointment with the plumber';
/**
 * The contract: a save queues the round at once, which pushes "within seconds". The limit leaves room
 * for a loaded machine; the time the push took is printed.
 */
const PUSH_MS = 30_000;

/** Today's date (YYYY-MM-DD) in a zone: the week sao's calendar view opens on holds it. */
function today(zone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
}

/** A date (YYYY-MM-DD) as sao shows it in English: MM/DD/YYYY. */
function usDate(day: string): string {
  return `${day.slice(5, 7)}/${day.slice(8, 10)}/${day.slice(0, 4)}`;
}

describe('appointments made in the Tryton web client', () => {
  let stack: TrytonStack | undefined;
  let browser: any;

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('an appointment made in the week view reaches Google, and moves in the view when moved in Google', async () => {
    const shots = screenshotFolder('appointment-in-sao');

    const browserStarting = launchChromium();
    stack = await startTrytonStack();
    browser = await browserStarting;
    const current = stack;
    const rpc = async (method: string, params: Record<string, unknown>) => {
      const answer = await call(current.sidecarUrl, method, { database: current.database, ...params });
      if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
      return answer.result;
    };
    const control = emulatorControl(current.emulator.url);
    const events = `/calendar/calendars/${encodeURIComponent(ACCOUNT)}/events`;
    /** The events of the primary calendar as the emulator stores them (start/end: epoch ms). */
    const googleEvents = async (): Promise<any[]> =>
      ((await control(events, 'GET')) as { events: any[] }).events;

    // Credentials of the admin's Google account, authorized; the primary calendar fetched. Their
    // background synchronization stays off: no periodic pass pushes, so what reaches Google after the
    // save was queued by the save itself (the module's trigger).
    const { credentialId, primaryId } = await current.adminAccount(ACCOUNT);
    const primary = { id: primaryId };
    // The admin switches its synchronization on, through Tryton as the calendar's form does.
    const tryton = await TrytonSession.login(current.trytonUrl, current.database);
    await tryton.call('model.google_integration.calendar.write', [[primary.id], { sync_enabled: true }, {}]);
    expect(await current.db('google_integration_calendar').where({ id: primary.id }).first()).toMatchObject({
      sync_enabled: true,
      access_role: 'owner',
    });
    expect(await googleEvents()).toEqual([]);

    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      timezoneId: BROWSER_ZONE,
      locale: 'en-US',
    });
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error: Error) => problems.push(`page error: ${error.message}`));
    let step = 0;
    const shot = async (name: string) => {
      step += 1;
      await page.screenshot({ path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`) });
    };
    const poll = { timeout: STEP_MS };
    /** Where an element is once it is in the same place two reads in a row. */
    const settled = async (target: any) => {
      let last: unknown;
      await expect
        .poll(
          async () => {
            const box = await target.boundingBox();
            const same = box !== null && JSON.stringify(box) === JSON.stringify(last);
            last = box;
            return same;
          },
          { ...poll, interval: 100 },
        )
        .toBe(true);
      return last as { x: number; y: number; width: number; height: number };
    };

    try {
      await logIn(page, current);
      // Google Integration > Google Calendar Events: the calendar view, in week mode, this week.
      const day = today(BROWSER_ZONE);
      const tab = await openMenuEntry(page, 'Google Calendar Events');
      const calendar = tab.locator('.calendar');
      await calendar.locator('.fc-agendaWeek-view').waitFor({ state: 'visible' });
      const header = calendar.locator(`.fc-day-header[data-date="${day}"]`);
      const slotAt = (time: string) => calendar.locator(`.fc-slats tr[data-time="${time}:00"]`);
      await header.waitFor({ state: 'visible' });
      await shot('week-view');

      // A click in today's column, in the slot of 10:00: sao opens a new event starting there.
      // The slot is under the events' layer, so the click goes to its place on the page, once the
      // view stopped moving (sao sizes the calendar and fills in the filters' tabs as they load).
      const slot = slotAt('10:00');
      await slot.scrollIntoViewIfNeeded();
      const [column, slotBox] = await Promise.all([settled(header), settled(slot)]);
      await page.mouse.click(column.x + column.width / 2, slotBox.y + slotBox.height / 2);

      const form = tab.locator('.form');
      const field = (name: string) => form.locator(`[name="${name}"]`);
      await field('summary').waitFor({ state: 'visible' });
      // The start comes from the click, through the server's on_change: it shows once that answered.
      await expect.poll(() => field('starts_at').inputValue(), poll).toBe(`${usDate(day)} 10:00`);
      expect(await field('ends_at').inputValue()).toBe(`${usDate(day)} 11:00`);
      expect(await field('all_day').isChecked()).toBe(false);
      // sao puts the cursor in the first field once the new record is shown, which on a loaded machine
      // can be after the fill began: what went elsewhere is typed again, as a person would.
      await field('summary').fill(TITLE);
      await expect
        .poll(async () => {
          if ((await field('summary').inputValue()) === TITLE) return true;
          await field('summary').fill(TITLE);
          return false;
        }, poll)
        .toBe(true);
      await shot('new-appointment');
      const saving = Date.now();
      await tab.locator('button#save').click();
      await tab.locator('.infobar').getByText('Record saved.').waitFor({ state: 'visible' });
      await shot('saved');

      // Google has it within seconds, nobody pressing Sync Now: the save queued the round.
      const found = await until(googleEvents, (listed) => listed.some((event) => event.summary === TITLE), {
        timeoutMs: PUSH_MS,
        what: `the appointment at Google (${PUSH_MS} ms after the save)`,
      });
      console.info(`the appointment was at Google ${Date.now() - saving} ms after Save was clicked`);
      expect(found).toHaveLength(1);
      const [pushed] = found;
      expect(pushed).toMatchObject({
        summary: TITLE,
        status: 'confirmed',
        start: { dateTime: Date.parse(`${day}T04:30:00Z`) },
        end: { dateTime: Date.parse(`${day}T05:30:00Z`) },
      });
      // Tryton's row is the same event (Tryton chose its id), synchronized once Google answered.
      const event = await until(
        () => current.db('google_integration_event').where({ calendar: primary.id }).first(),
        (row) => row?.sync_status === 'synced',
        { timeoutMs: PUSH_MS, what: 'the appointment synchronized in Tryton' },
      );
      expect(event).toMatchObject({ google_id: pushed.id, all_day: false });
      expect(event.starts_at.toISOString()).toBe(`${day}T04:30:00.000Z`);

      // Back in the calendar view (the views go calendar, form, list: through the list), the
      // appointment in today's column, in the row of 10:00.
      for (let clicks = 0; clicks < 3 && !(await calendar.isVisible()); clicks++) {
        await tab.locator('button#switch_').click();
        await calendar.or(tab.locator('.treeview')).first().waitFor({ state: 'visible' });
      }
      const item = calendar.locator('.fc-time-grid-event', { hasText: TITLE });
      const shownAt = async (time: string, full: string) => {
        await expect.poll(() => item.locator('.fc-time').getAttribute('data-full'), poll).toBe(full);
        expect(await item.count()).toBe(1);
        await item.scrollIntoViewIfNeeded();
        const [box, columnBox, rowBox] = await Promise.all(
          [item, header, slotAt(time)].map((target) => target.boundingBox()),
        );
        const centre = box.x + box.width / 2;
        expect(centre).toBeGreaterThan(columnBox.x);
        expect(centre).toBeLessThan(columnBox.x + columnBox.width);
        expect(Math.abs(box.y - rowBox.y)).toBeLessThanOrEqual(2);
      };
      await shownAt('10:00', '10:00 AM - 11:00 AM');
      await shot('appointment-in-week');

      // Someone moves it in Google: 19:30 in Tokyo, 16:00 in the browser's zone.
      // (The control API throws, with its answer, unless the move is done.)
      await control(`${events}/${encodeURIComponent(pushed.id)}`, 'PATCH', {
        start: { dateTime: `${day}T19:30:00`, timeZone: GOOGLE_ZONE },
        end: { dateTime: `${day}T20:30:00`, timeZone: GOOGLE_ZONE },
      });
      // The pull Sync Now runs (it waits for a round still running, then runs one).
      expect(
        await rpc('calendar.sync', { credential_id: credentialId, calendar_id: primary.id }),
      ).toMatchObject({ conflicts: 0 });
      const pulled = await current.db('google_integration_event').where({ id: event.id }).first();
      expect(pulled).toMatchObject({ sync_status: 'synced', time_zone: GOOGLE_ZONE });
      expect(pulled.starts_at.toISOString()).toBe(`${day}T10:30:00.000Z`);

      // Reloaded, the view shows it at 16:00 in the same column.
      await tab.locator('button#reload').click();
      await shownAt('16:00', '4:00 PM - 5:00 PM');
      await shot('moved-in-google');
      expect(problems).toEqual([]);
    } catch (error) {
      throw await browserFailure(error, page, shots, problems, current);
    }
  }, 360_000);
});
