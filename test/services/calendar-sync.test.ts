/**
 * The calendar pull against the emulator's Calendar v3, on a real Tryton database (the module's
 * calendar, event and detail tables): calendarList into Tryton, a first full pull, incremental
 * pulls of creations, edits and deletions, a 410 followed by a full pull that removes what was
 * deleted in the gap, all-day and DST events exactly, and an idle pull that makes one list call
 * and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import { passesEnded, type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';
import { until } from '../support/wait.js';

const EMAIL = 'team.member@example.com';
const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';

let stack: Stack;
let credentialId: number;
let calendarId: number;

beforeAll(async () => {
  stack = await startStack({
    template: await trytonTemplate(),
    env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '3600' },
  });
  credentialId = await stack.authorizedCredential(EMAIL);
});

afterAll(async () => {
  await stack?.stop();
});

const calendarControl = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(`/calendar${path}`, method, body);

const createEvent = (event: Record<string, unknown>) =>
  calendarControl(`/calendars/${encodeURIComponent(EMAIL)}/events`, 'POST', event);

async function sync() {
  const answer = await stack.rpc('calendar.sync', { credential_id: credentialId });
  if (answer.error) throw new Error(`calendar.sync: ${answer.error.message}`);
  return answer.result as { calendars: number; created: number; updated: number; deleted: number };
}

async function events() {
  return stack
    .db('google_integration_event as e')
    .join('google_integration_event_detail as d', 'd.event', 'e.id')
    .where('e.calendar', calendarId)
    .orderBy('e.google_id')
    .select('e.*', 'd.summary', 'd.location', 'd.attendees');
}

/** Every row the pull may write, with its xmin: any INSERT, UPDATE or DELETE changes this. */
async function writeFingerprint(): Promise<string> {
  const tables = [
    'google_integration_calendar',
    'google_integration_event',
    'google_integration_event_detail',
    'google_integration_sidecar.event_link',
    'google_integration_sidecar.calendar_sync',
  ];
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await stack.db.raw(`SELECT xmin::text AS x FROM ${table} ORDER BY xmin::text`);
    parts.push(`${table}:${rows.rows.map((row: { x: string }) => row.x).join(',')}`);
  }
  return parts.join('|');
}

const calendarCalls = async () => {
  const stats = await stack.control('/stats');
  const calendar = stats.calendar;
  return typeof calendar === 'number'
    ? calendar
    : Object.values(calendar as Record<string, number>).reduce((sum, value) => sum + value, 0);
};

describe('the calendar pull', () => {
  it('brings calendarList into Tryton', async () => {
    const answer = await stack.rpc('calendar.list_calendars', { credential_id: credentialId });
    expect(answer.error).toBeUndefined();
    const primary = answer.result.calendars.find((cal: { google_id: string }) => cal.google_id === EMAIL);
    expect(primary).toMatchObject({ sync_enabled: false });
    calendarId = primary.id;
    const row = await stack.db('google_integration_calendar').where({ id: calendarId }).first();
    expect(row).toMatchObject({
      credential: credentialId,
      is_primary: true,
      active: true,
      sync_status: 'never',
    });
    expect((await stack.row(credentialId)).granted_scopes).toContain(CALENDAR_SCOPE);
  });

  it('pulls nothing from calendars an admin did not enable', async () => {
    await createEvent({ summary: 'Not yet', start: { date: '2026-12-01' }, end: { date: '2026-12-02' } });
    expect(await sync()).toMatchObject({ calendars: 0, created: 0 });
    await stack.db('google_integration_calendar').where({ id: calendarId }).update({ sync_enabled: true });
  });

  it('imports timed, all-day and other-zone events exactly', async () => {
    await createEvent({
      summary: 'Standup in Paris, after the DST change',
      location: 'Paris',
      start: { dateTime: '2026-10-26T09:00:00', timeZone: 'Europe/Paris' },
      end: { dateTime: '2026-10-26T09:15:00', timeZone: 'Europe/Paris' },
      attendees: [{ email: 'a@example.com' }, { email: 'b@example.com' }],
    });
    await createEvent({
      summary: 'Offsite',
      start: { date: '2026-11-30' },
      end: { date: '2026-12-02' },
    });
    const counts = await sync();
    expect(counts).toMatchObject({ calendars: 1, created: 3, updated: 0, deleted: 0 });
    const rows = await events();
    const standup = rows.find((row) => row.summary?.startsWith('Standup'));
    expect(standup.starts_at.toISOString()).toBe('2026-10-26T08:00:00.000Z');
    expect(standup.ends_at.toISOString()).toBe('2026-10-26T08:15:00.000Z');
    expect(standup).toMatchObject({
      all_day: false,
      time_zone: 'Europe/Paris',
      attendees: 'a@example.com\nb@example.com',
    });
    const offsite = rows.find((row) => row.summary === 'Offsite');
    expect(offsite).toMatchObject({ all_day: true, starts_at: null });
    expect(String(offsite.start_date.toISOString?.() ?? offsite.start_date)).toContain('2026-11-30');
    const calendar = await stack.db('google_integration_calendar').where({ id: calendarId }).first();
    expect(calendar).toMatchObject({ sync_status: 'ok', last_sync_created: 3, last_error: null });
  });

  it('an idle pull makes one list call and writes nothing', async () => {
    const before = await writeFingerprint();
    const calls = await calendarCalls();
    expect(await sync()).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    expect((await calendarCalls()) - calls).toBe(1);
    expect(await writeFingerprint()).toBe(before);
  });

  it('brings edits and deletions made in Google', async () => {
    const rows = await events();
    const offsite = rows.find((row) => row.summary === 'Offsite');
    await calendarControl(`/calendars/${encodeURIComponent(EMAIL)}/events/${offsite.google_id}`, 'PATCH', {
      summary: 'Offsite (moved)',
      location: 'Lyon',
    });
    const standup = rows.find((row) => row.summary?.startsWith('Standup'));
    await calendarControl(`/calendars/${encodeURIComponent(EMAIL)}/events/${standup.google_id}`, 'DELETE');
    expect(await sync()).toMatchObject({ created: 0, updated: 1, deleted: 1 });
    const after = await events();
    expect(after.map((row) => row.summary).sort()).toEqual(['Not yet', 'Offsite (moved)']);
    expect(after.find((row) => row.summary === 'Offsite (moved)')?.location).toBe('Lyon');
  });

  it('after a 410, pulls everything again and removes what was deleted in the gap', async () => {
    const rows = await events();
    const gone = rows.find((row) => row.summary === 'Not yet');
    await calendarControl('/sync-tokens/invalidate', 'POST', {});
    await calendarControl(`/calendars/${encodeURIComponent(EMAIL)}/events/${gone.google_id}`, 'DELETE');
    const counts = await sync();
    expect(counts.deleted).toBe(1);
    expect((await events()).map((row) => row.summary)).toEqual(['Offsite (moved)']);
    // And the next pull is incremental and idle again.
    const before = await writeFingerprint();
    expect(await sync()).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    expect(await writeFingerprint()).toBe(before);
  });

  it('keeps a page whose texts PostgreSQL cannot hold as they are (NUL, half a UTF-16 pair)', async () => {
    const odd = (await createEvent({
      summary: 'Odd\u0000 title \ud800',
      description: 'line\u0000break',
      start: { dateTime: '2026-12-01T09:00:00Z' },
      end: { dateTime: '2026-12-01T10:00:00Z' },
    })) as { id: string };
    await createEvent({
      summary: 'Plain',
      start: { dateTime: '2026-12-01T11:00:00Z' },
      end: { dateTime: '2026-12-01T12:00:00Z' },
    });
    expect(await sync()).toMatchObject({ created: 2, updated: 0, deleted: 0 });
    const rows = await events();
    expect(rows.map((row) => row.summary).sort()).toEqual(['Odd title \ufffd', 'Offsite (moved)', 'Plain']);
    const detail = await stack
      .db('google_integration_event_detail as d')
      .join('google_integration_event as e', 'e.id', 'd.event')
      .where('e.google_id', odd.id)
      .first('d.description');
    expect(detail.description).toBe('linebreak');
    // Unchanged in Google, the cleaned texts hash the same: the next pull is idle.
    const before = await writeFingerprint();
    expect(await sync()).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    expect(await writeFingerprint()).toBe(before);
  });
});

describe('the background pull', () => {
  let background: Stack;

  beforeAll(async () => {
    background = await startStack({
      template: await trytonTemplate(),
      env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '1' },
    });
  });

  afterAll(async () => {
    await background?.stop();
  });

  it('pulls the ticked calendars of credentials whose synchronization is on, without a caller', async () => {
    const id = await background.authorizedCredential('background@example.com');
    const listed = await background.rpc('calendar.list_calendars', { credential_id: id });
    const calendar = listed.result.calendars[0];
    await background
      .db('google_integration_calendar')
      .where({ id: calendar.id })
      .update({ sync_enabled: true });
    await emulatorControl(background.emulator.url)(
      '/calendar/calendars/background%40example.com/events',
      'POST',
      { summary: 'Pulled by a job', start: { date: '2026-12-24' }, end: { date: '2026-12-25' } },
    );
    const pulled = async () =>
      Number(
        (await background.db('google_integration_event').where({ calendar: calendar.id }).count())[0]?.count,
      );
    const queuedRounds = async () =>
      (
        await background.db.raw(
          "SELECT count(*)::int AS n FROM google_integration_jobs.jobs WHERE task_identifier = 'sync_calendar'",
        )
      ).rows[0].n as number;
    // Synchronization off on the credential: the calendar's switch alone is for Sync Now. A pass of
    // the background pull that began after the event was made, ended, is the proof: it queued no
    // round (a round it queued would still be in the queue, or would have pulled the event).
    await passesEnded(background, 'sync_calendars', 1);
    expect(await queuedRounds()).toBe(0);
    expect(await pulled()).toBe(0);
    await background.db('google_integration_google_credentials').where({ id }).update({ sync_enabled: true });
    await until(pulled, (count) => count > 0, { what: 'the event pulled by a background round' });
    expect(await pulled()).toBe(1);
    const jobs = await background.db.raw(
      "SELECT count(*)::int AS n FROM google_integration_jobs.jobs WHERE key = 'sync_calendars'",
    );
    expect(jobs.rows[0].n).toBe(1);
  });
});
