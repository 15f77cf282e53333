/**
 * Full listings and what they must not get wrong (docs/contracts.md, "Full listings"): an event
 * changed while a full listing pages is left out of its later pages and must not be deleted (nor
 * come back under a new Tryton id); the counts of a pull include the pages written before a 410;
 * and a daily full listing brings the occurrences of an open-ended series that come within Google's
 * horizon as time passes, which incremental pulls never report.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import { type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';
import { until } from '../support/wait.js';

let stack: Stack;
let credentialId: number;
let accounts = 0;

beforeAll(async () => {
  stack = await startStack({
    template: await trytonTemplate(),
    env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '3600' },
  });
  credentialId = await stack.authorizedCredential('full.listings@example.com');
});

afterAll(async () => {
  await stack?.stop();
});

afterEach(async () => {
  await control('/calendar/paging', 'POST', { maxPageSize: null });
  await control('/latency', 'POST', { ms: 0, endpoint: 'calendar' });
  await control('/failures', 'DELETE');
});

const control = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(path, method, body);

/** A calendar of its own for each test, enabled in Tryton. */
async function newCalendar() {
  accounts++;
  const google = `full-listings-${accounts}@group.calendar.google.com`;
  await control('/calendar/accounts/full.listings%40example.com/calendars', 'POST', {
    id: google,
    summary: `Full listings ${accounts}`,
    timeZone: 'Europe/Paris',
  });
  const listed = await stack.rpc('calendar.list_calendars', { credential_id: credentialId });
  const id = listed.result.calendars.find((cal: { google_id: string }) => cal.google_id === google)
    .id as number;
  await stack.db('google_integration_calendar').where({ id }).update({ sync_enabled: true });
  const events = `/calendar/calendars/${encodeURIComponent(google)}/events`;
  return { google, id, events };
}

async function sync(calendarId: number) {
  const answer = await stack.rpc('calendar.sync', { credential_id: credentialId, calendar_id: calendarId });
  if (answer.error) throw new Error(`calendar.sync: ${answer.error.message}`);
  return answer.result as { created: number; updated: number; deleted: number; skipped: number };
}

async function tryton(calendarId: number) {
  return stack
    .db('google_integration_event as e')
    .join('google_integration_event_detail as d', 'd.event', 'e.id')
    .where('e.calendar', calendarId)
    .orderBy('e.google_id')
    .select('e.id', 'e.google_id', 'd.summary');
}

const listCalls = async () => {
  const stats = await control('/stats', 'GET');
  return (stats.calendar as Record<string, number>)['events.list'] ?? 0;
};

describe('a 410 in the middle of an incremental pull', () => {
  it('counts every row written, the pages before the 410 included', async () => {
    const cal = await newCalendar();
    const ids: string[] = [];
    for (const day of [1, 2, 3]) {
      const event = await control(cal.events, 'POST', {
        summary: `Event ${day}`,
        start: { date: `2026-12-0${day}` },
        end: { date: `2026-12-0${day + 1}` },
      });
      ids.push(event.id);
    }
    expect(await sync(cal.id)).toMatchObject({ created: 3 });
    for (const id of ids) await control(`${cal.events}/${id}`, 'PATCH', { summary: `Edited ${id}` });
    // One item a page, each call half a second long: the 410 is queued once the second page is asked
    // for, after the first was written.
    await control('/calendar/paging', 'POST', { maxPageSize: 1 });
    await control('/latency', 'POST', { ms: 500, endpoint: 'calendar' });
    const before = await listCalls();
    const syncing = sync(cal.id);
    await until(listCalls, (calls) => calls >= before + 2, { what: 'the second page asked for' });
    await control('/failures', 'POST', { endpoint: 'calendar', status: 410, reason: 'fullSyncRequired' });
    const counts = await syncing;
    expect(counts).toMatchObject({ created: 0, updated: 3, deleted: 0 });
    expect((await tryton(cal.id)).map((row) => row.summary)).toEqual(ids.map((id) => `Edited ${id}`).sort());
  });
});

describe('an event changed while a full listing pages', () => {
  it('is not deleted, keeps its Tryton id, and arrives changed in the same pull', async () => {
    const cal = await newCalendar();
    for (const day of [1, 2, 3, 4, 5]) {
      await control(cal.events, 'POST', {
        summary: `Day ${day}`,
        start: { dateTime: `2026-12-0${day}T09:00:00Z` },
        end: { dateTime: `2026-12-0${day}T10:00:00Z` },
      });
    }
    expect(await sync(cal.id)).toMatchObject({ created: 5 });
    const before = await tryton(cal.id);
    // A 410, then a full listing in pages of two, during which the next unsent item is edited each time.
    await control('/calendar/sync-tokens/invalidate', 'POST', { calendarId: cal.google });
    await control('/calendar/paging', 'POST', {
      maxPageSize: 2,
      changeWhilePaging: { calendar_id: cal.google, count: 1 },
    });
    const counts = await sync(cal.id);
    await control('/calendar/paging', 'POST', { maxPageSize: null });
    const after = await tryton(cal.id);
    expect(counts.deleted).toBe(0);
    expect(after.map((row) => [row.id, row.google_id])).toEqual(before.map((row) => [row.id, row.google_id]));
    const edited = after.filter((row) => row.summary.endsWith('(edited while paging)'));
    expect(edited.length).toBeGreaterThan(0);
    expect(counts.updated).toBe(edited.length);
    // Google holds exactly what Tryton holds, and the next pull is idle.
    expect(await sync(cal.id)).toMatchObject({ created: 0, updated: 0, deleted: 0 });
  });
});

describe('an open-ended series as time passes', () => {
  afterEach(async () => {
    await control('/clock', 'POST', { reset: true });
  });

  it('brings the occurrences Google expands later with the daily full listing', async () => {
    const cal = await newCalendar();
    const series = await control(cal.events, 'POST', {
      summary: 'Weekly review',
      start: { dateTime: '2026-12-07T09:00:00', timeZone: 'Europe/Paris' },
      end: { dateTime: '2026-12-07T10:00:00', timeZone: 'Europe/Paris' },
      recurrence: ['RRULE:FREQ=WEEKLY'],
    });
    const first = await sync(cal.id);
    const occurrences = async () =>
      Number((await stack.db('google_integration_event').where({ calendar: cal.id }).count())[0]?.count);
    expect(await occurrences()).toBe(first.created);
    await control('/clock', 'POST', { advance_ms: 365 * 24 * 3600 * 1000 });
    // A year on, the emulator no longer takes the access token the sidecar holds.
    await stack.rpc('credentials.refresh', { credential_id: credentialId });
    const { result } = await stack.rpc('credentials.get_access_token', { credential_id: credentialId });
    const listed = await fetch(
      `${stack.emulator.url}/calendar/v3/calendars/${encodeURIComponent(cal.google)}/events/${series.id}/instances?maxResults=2500`,
      { headers: { authorization: `Bearer ${result.access_token}` } },
    );
    const atGoogle = ((await listed.json()) as { items: unknown[] }).items.length;
    expect(atGoogle).toBeGreaterThan(first.created);
    // An incremental pull sees no change: the series did not change.
    expect(await sync(cal.id)).toMatchObject({ created: 0 });
    expect(await occurrences()).toBe(first.created);
    // A day later for the sidecar: its full listing is due.
    await stack
      .db('google_integration_sidecar.calendar_sync')
      .where({ calendar_id: cal.id })
      .update({ full_pull_at: stack.db.raw("now() - interval '25 hours'") });
    expect(await sync(cal.id)).toMatchObject({ created: atGoogle - first.created, deleted: 0 });
    expect(await occurrences()).toBe(atGoogle);
    console.log(`open-ended weekly series: ${first.created} occurrences, ${atGoogle} a year later`);
    // Done for the day: the next pull is incremental and idle.
    const calls = await listCalls();
    expect(await sync(cal.id)).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    expect((await listCalls()) - calls).toBe(1);
  });
});
