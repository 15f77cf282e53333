/**
 * End to end, in a real browser: an event made in Google Calendar (the offline emulator) shows in the
 * calendar view of Google Calendar Events in the Tryton web client (sao, served by trytond 8.0), on its
 * day and at its time in the browser's zone, after the sidecar pulled it.
 *
 * The account is authorized and its primary calendar fetched, enabled and pulled over the sidecar's
 * JSON-RPC (what Authorize, Fetch Calendars, the Synchronize switch and Sync Now do; the proteus scenario
 * scenario_google_calendar_sync.rst clicks those): the browser part is the calendar view only.
 *
 * Needs Chromium and, in e2e/sao/, sao and playwright-core: `bash scripts/e2e-setup.sh` installs them.
 * Screenshots go to .cache/e2e/calendar-in-sao/ (and failure.png/.html on failure).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import { call } from '../support/rpc.js';
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
 * The browser's zone and the event's, both without daylight saving time so the expected time holds
 * all year: 18:00 in Tokyo (UTC+9) is 14:30 in Kolkata (UTC+5:30), 09:00 UTC in Tryton's database.
 */
const BROWSER_ZONE = 'Asia/Kolkata';
const EVENT_ZONE = 'Asia/Tokyo';
const TITLE = 'Call with the Tokyo office';
const ALL_DAY_TITLE = 'Sales offsite';

/** Today's date (YYYY-MM-DD) in a zone: the week sao's calendar view opens on holds it. */
function today(zone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone }).format(new Date());
}

describe('Google Calendar events in the Tryton web client', () => {
  let stack: TrytonStack | undefined;
  let browser: any;

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('a Google event shows in the week view on its day, at its time in the browser zone', async () => {
    const shots = screenshotFolder('calendar-in-sao');

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
    const calendarControl = (path: string, body: unknown) => control(`/calendar${path}`, 'POST', body);

    // The event in Google, today as the browser counts days.
    const day = today(BROWSER_ZONE);
    await calendarControl(`/calendars/${encodeURIComponent(ACCOUNT)}/events`, {
      summary: TITLE,
      location: 'Video call',
      start: { dateTime: `${day}T18:00:00`, timeZone: EVENT_ZONE },
      end: { dateTime: `${day}T19:00:00`, timeZone: EVENT_ZONE },
    });
    // And an all-day event on the same day (Google's end date is the next day).
    const next = new Date(`${day}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 1);
    await calendarControl(`/calendars/${encodeURIComponent(ACCOUNT)}/events`, {
      summary: ALL_DAY_TITLE,
      start: { date: day },
      end: { date: next.toISOString().slice(0, 10) },
    });

    // Credentials of the admin's Google account, authorized; the primary calendar fetched, enabled
    // and pulled.
    const { credentialId, primaryId } = await current.adminAccount(ACCOUNT);
    const primary = { id: primaryId };
    await current.db('google_integration_calendar').where({ id: primary.id }).update({ sync_enabled: true });
    expect(await rpc('calendar.sync', { credential_id: credentialId })).toMatchObject({ created: 2 });
    const event = await current
      .db('google_integration_event')
      .where({ calendar: primary.id, all_day: false })
      .first();
    // Tryton stores the instant in naive UTC: 18:00 in Tokyo is 09:00 UTC.
    expect(event.starts_at.toISOString()).toBe(`${day}T09:00:00.000Z`);

    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      timezoneId: BROWSER_ZONE,
      locale: 'en-US',
    });
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error: Error) => problems.push(`page error: ${error.message}`));

    try {
      await logIn(page, current);
      // Google Integration > Google Calendar Events: the calendar view, in week mode, this week.
      const tab = await openMenuEntry(page, 'Google Calendar Events');
      const calendar = tab.locator('.calendar');
      await calendar.locator('.fc-agendaWeek-view').waitFor({ state: 'visible' });

      // The event, titled, in the column of its day and the row of 14:30 in the browser's zone.
      const item = calendar.locator('.fc-time-grid-event', { hasText: TITLE });
      await item.waitFor({ state: 'visible' });
      await item.scrollIntoViewIfNeeded();
      expect(await item.locator('.fc-description').textContent()).toBe('Video call');
      // The title may be cut in a narrow column; its tooltip holds all of it.
      expect(await item.getAttribute('title')).toBe(`${TITLE}\nVideo call`);
      expect(await item.locator('.fc-time').getAttribute('data-full')).toBe('2:30 PM - 3:30 PM');
      const header = calendar.locator(`.fc-day-header[data-date="${day}"]`);
      const slot = calendar.locator('.fc-slats tr[data-time="14:30:00"]');
      const [box, column, row] = await Promise.all(
        [item, header, slot].map((target) => target.boundingBox()),
      );
      const centre = box.x + box.width / 2;
      expect(centre).toBeGreaterThan(column.x);
      expect(centre).toBeLessThan(column.x + column.width);
      expect(Math.abs(box.y - row.y)).toBeLessThanOrEqual(2);
      // The all-day event in the all-day row, in the same column, one day long.
      const allDay = calendar.locator('.fc-day-grid-event', { hasText: ALL_DAY_TITLE });
      const allDayBox = await allDay.boundingBox();
      expect(allDayBox.x).toBeGreaterThanOrEqual(column.x - 1);
      expect(allDayBox.x + allDayBox.width).toBeLessThanOrEqual(column.x + column.width + 1);
      await page.screenshot({ path: join(shots, 'week-view.png') });
      expect(problems).toEqual([]);
    } catch (error) {
      throw await browserFailure(error, page, shots, problems, current);
    }
  }, 360_000);
});
