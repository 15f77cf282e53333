/**
 * The two-way rules case by case (docs/contracts.md, "Two-way rules", "Team calendars"), with Tryton's
 * changes made through Tryton's ORM (trytond's JSON-RPC) and Google's through the emulator: an
 * appointment reaches Google by itself within seconds under the id Tryton chose, and the next round is
 * idle; different fields changed on both sides are both kept; the same field goes to the later edit and
 * the other version is kept in a conflict; a deletion wins over an edit, which is kept; a creation whose
 * answer was lost is adopted, never made twice; invitations are sent only where the calendar says so; a
 * series made in Tryton is one recurring event at Google whose occurrences change one by one; and a
 * calendar seen through two accounts is one calendar, which moves to the other account on revocation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import { type Stack, startStack } from '../support/stack.js';
import { jobsQueuedWhileARoundEnds } from '../support/queued-during-round.js';
import { trytonTemplate } from '../support/tryton.js';
import { type TrytonSession, trytonDateTime, trytonFor } from '../support/trytond.js';
import { until } from '../support/wait.js';

const OWNER = 'two.way.owner@example.com';
const WRITER = 'two.way.writer@example.com';

let stack: Stack;
let tryton: TrytonSession;
let stopTryton: (() => Promise<void>) | undefined;
let owner: number;
let writer: number;
let calendars = 0;

const control = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(path, method, body);

beforeAll(async () => {
  stack = await startStack({
    template: await trytonTemplate(),
    env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '3600' },
  });
  owner = await stack.authorizedCredential(OWNER);
  writer = await stack.authorizedCredential(WRITER);
  await stack.jobsStarted();
  const started = await trytonFor(stack);
  tryton = started.tryton;
  stopTryton = started.stop;
}, 300_000);

afterAll(async () => {
  await stopTryton?.();
  await stack?.stop();
});

/** A calendar of its own, owned by OWNER and shared to WRITER, synchronized in Tryton. */
async function teamCalendar(options: { notify?: boolean } = {}) {
  calendars++;
  const google = `two-way-${calendars}@group.calendar.google.com`;
  await control(`/calendar/accounts/${encodeURIComponent(OWNER)}/calendars`, 'POST', {
    id: google,
    summary: `Two-way ${calendars}`,
    timeZone: 'Europe/Paris',
  });
  await control(`/calendar/calendars/${encodeURIComponent(google)}/share`, 'POST', {
    email: WRITER,
    accessRole: 'writer',
  });
  await stack.rpc('calendar.list_calendars', { credential_id: writer });
  await stack.rpc('calendar.list_calendars', { credential_id: owner });
  const [row] = await stack.db('google_integration_calendar').where({ google_id: google });
  await tryton.call('model.google_integration.calendar.write', [
    [row.id],
    { sync_enabled: true, notify_attendees: options.notify ?? false },
    {},
  ]);
  await round(row.id);
  return { google, id: row.id as number, events: `/calendar/calendars/${encodeURIComponent(google)}/events` };
}

async function round(calendarId: number) {
  const calendar = await stack
    .db('google_integration_calendar')
    .where({ id: calendarId })
    .first('credential');
  const answer = await stack.rpc('calendar.sync', {
    credential_id: calendar.credential,
    calendar_id: calendarId,
  });
  if (answer.error) throw new Error(`calendar.sync: ${answer.error.message}`);
  return answer.result as {
    created: number;
    updated: number;
    deleted: number;
    pushed: number;
    conflicts: number;
  };
}

async function appointment(calendarId: number, values: Record<string, unknown> = {}) {
  const [id] = await tryton.call('model.google_integration.event.create', [
    [
      {
        calendar: calendarId,
        summary: 'Planning',
        all_day: false,
        starts_at: trytonDateTime('2026-12-14T09:00:00Z'),
        ends_at: trytonDateTime('2026-12-14T10:00:00Z'),
        time_zone: 'Europe/Paris',
        ...values,
      },
    ],
    {},
  ]);
  const [row] = await tryton.call('model.google_integration.event.read', [[id], ['google_id'], {}]);
  return { id: id as number, google: row.google_id as string };
}

const atGoogle = async (path: string) => (await control(path, 'GET')) as { events: any[]; tombstones: any[] };
const googleEvent = async (path: string, id: string) =>
  (await atGoogle(path)).events.find((event) => event.id === id);
const trytonRow = (calendarId: number, google: string) =>
  stack
    .db('google_integration_event as e')
    .leftJoin('google_integration_event_detail as d', 'd.event', 'e.id')
    .where({ 'e.calendar': calendarId, 'e.google_id': google })
    .first('e.*', 'd.summary', 'd.location', 'd.description');
const conflicts = (calendarId: number) =>
  stack.db('google_integration_event_conflict').where({ calendar: calendarId }).orderBy('id');
/** Waits for the rounds Tryton's saves queued in the background (the module's trigger). */
const backgroundDone = (calendarId: number) =>
  until(
    async () =>
      (
        await stack.db.raw(
          'SELECT count(*)::int AS n FROM google_integration_jobs.jobs WHERE queue_name = ? AND attempts < max_attempts',
          [`calendar:${calendarId}`],
        )
      ).rows[0].n as number,
    (jobs) => jobs === 0,
    { what: 'background rounds done' },
  );

describe('an appointment made in Tryton', () => {
  it('reaches Google by itself within seconds, under the id Tryton chose, and the next round is idle', async () => {
    const cal = await teamCalendar();
    const saved = performance.now();
    const made = await appointment(cal.id, { location: 'Room 4' });
    expect(made.google).toMatch(/^[0-9a-v]{26}$/);
    const event = await until<any>(() => googleEvent(cal.events, made.google), Boolean, {
      what: 'the event at Google',
    });
    console.log(
      `appointment at Google ${Math.round(performance.now() - saved)} ms after its save (no Sync Now)`,
    );
    expect(event).toMatchObject({ summary: 'Planning', location: 'Room 4', status: 'confirmed' });
    expect(new Date(event.start.dateTime).toISOString()).toBe('2026-12-14T09:00:00.000Z');
    await backgroundDone(cal.id);
    expect(await trytonRow(cal.id, made.google)).toMatchObject({ sync_status: 'synced' });
    // No echo: a round after the push finds nothing to do on either side.
    const before = JSON.stringify(await atGoogle(cal.events));
    const xmins = await stack.db.raw('SELECT xmin::text FROM google_integration_event WHERE calendar = ?', [
      cal.id,
    ]);
    expect(await round(cal.id)).toMatchObject({
      created: 0,
      updated: 0,
      deleted: 0,
      pushed: 0,
      conflicts: 0,
    });
    expect(JSON.stringify(await atGoogle(cal.events))).toBe(before);
    expect(
      await stack.db.raw('SELECT xmin::text FROM google_integration_event WHERE calendar = ?', [cal.id]),
    ).toEqual(xmins);
  });

  it("queues a round for a save during which the calendar's round ended (Tryton's repeatable read)", async () => {
    const cal = await teamCalendar();
    const made = await appointment(cal.id);
    await backgroundDone(cal.id);
    // The keyed job in the calendar's queue cannot be upserted: one without key and queue is added.
    const added = await jobsQueuedWhileARoundEnds(
      stack.db,
      `calendar:${cal.id}`,
      'sync_calendar',
      { calendar_id: cal.id },
      (trx) =>
        trx.raw('UPDATE google_integration_event SET local_version = local_version + 1 WHERE id = ?', [
          made.id,
        ]),
    );
    expect(added).toEqual([{ key: null, queue_name: null }]);
  });
});

describe('changes on both sides', () => {
  it('different fields: both kept, no conflict', async () => {
    const cal = await teamCalendar();
    const made = await appointment(cal.id);
    await backgroundDone(cal.id);
    await control(`${cal.events}/${made.google}`, 'PATCH', { location: 'Changed at Google' });
    await tryton.call('model.google_integration.event.write', [
      [made.id],
      { summary: 'Changed in Tryton' },
      {},
    ]);
    await backgroundDone(cal.id);
    await round(cal.id);
    expect(await googleEvent(cal.events, made.google)).toMatchObject({
      summary: 'Changed in Tryton',
      location: 'Changed at Google',
    });
    expect(await trytonRow(cal.id, made.google)).toMatchObject({
      summary: 'Changed in Tryton',
      location: 'Changed at Google',
      sync_status: 'synced',
    });
    expect(await conflicts(cal.id)).toEqual([]);
  });

  it('the same field: the later edit wins, the other version is kept in a conflict', async () => {
    const cal = await teamCalendar();
    await stack.sidecar.stop();
    const made = await appointment(cal.id);
    await stack.replaceSidecar();
    await round(cal.id);
    // The sidecar stopped while both edit: Google first, Tryton later.
    await stack.sidecar.stop();
    await control(`${cal.events}/${made.google}`, 'PATCH', { summary: 'Google title' });
    await tryton.call('model.google_integration.event.write', [[made.id], { summary: 'Tryton title' }, {}]);
    await stack.replaceSidecar();
    await backgroundDone(cal.id);
    await round(cal.id);
    expect((await googleEvent(cal.events, made.google)).summary).toBe('Tryton title');
    expect((await trytonRow(cal.id, made.google)).summary).toBe('Tryton title');
    const [conflict] = await conflicts(cal.id);
    expect(conflict).toMatchObject({
      kind: 'edit',
      winner: 'tryton',
      fields: 'summary',
      state: 'open',
      event: made.id,
    });
    expect(JSON.parse(conflict.lost)).toEqual({ summary: 'Google title' });
    expect(JSON.parse(conflict.kept)).toEqual({ summary: 'Tryton title' });
  });

  it('a deletion wins over an edit, and the edited version is kept', async () => {
    const cal = await teamCalendar();
    const made = await appointment(cal.id);
    await backgroundDone(cal.id);
    await stack.sidecar.stop();
    await tryton.call('model.google_integration.event.write', [
      [made.id],
      { summary: 'Edited before the deletion' },
      {},
    ]);
    await control(`${cal.events}/${made.google}`, 'DELETE');
    await stack.replaceSidecar();
    await backgroundDone(cal.id);
    await round(cal.id);
    expect(await trytonRow(cal.id, made.google)).toBeUndefined();
    expect(await googleEvent(cal.events, made.google)).toMatchObject({ status: 'cancelled' });
    const [conflict] = await conflicts(cal.id);
    expect(conflict).toMatchObject({ kind: 'delete', winner: 'google', event: null });
    expect(JSON.parse(conflict.lost)).toMatchObject({ summary: 'Edited before the deletion' });
  });
});

describe('a creation whose answer was lost', () => {
  it('is adopted at the next round (409), never made twice', async () => {
    const cal = await teamCalendar();
    await stack.sidecar.stop();
    const made = await appointment(cal.id, { summary: 'Made once' });
    // Google has it already: the push reached it, its answer did not reach the sidecar.
    await control(cal.events, 'POST', {
      id: made.google,
      summary: 'Made once',
      start: { dateTime: '2026-12-14T09:00:00Z', timeZone: 'Europe/Paris' },
      end: { dateTime: '2026-12-14T10:00:00Z', timeZone: 'Europe/Paris' },
    });
    await stack.replaceSidecar();
    await backgroundDone(cal.id);
    await round(cal.id);
    const events = (await atGoogle(cal.events)).events.filter((event) => event.summary === 'Made once');
    expect(events.map((event) => event.id)).toEqual([made.google]);
    expect(await trytonRow(cal.id, made.google)).toMatchObject({ sync_status: 'synced' });
    expect(await conflicts(cal.id)).toEqual([]);
  });
});

describe('invitations', () => {
  it('are sent only where the calendar says so', async () => {
    for (const notify of [false, true]) {
      const cal = await teamCalendar({ notify });
      const made = await appointment(cal.id, { attendees: 'guest@example.org' });
      await backgroundDone(cal.id);
      await until(() => googleEvent(cal.events, made.google), Boolean, { what: 'the event at Google' });
      const sent = ((await control('/calendar/sent-updates', 'GET')).items as any[]).filter(
        (update) => update.eventId === made.google,
      );
      expect(sent.length > 0, `notify_attendees ${notify}`).toBe(notify);
    }
  });
});

describe('a series made in Tryton', () => {
  it('is one recurring event at Google; an occurrence changes or goes alone', async () => {
    const cal = await teamCalendar();
    const series = await appointment(cal.id, {
      summary: 'Weekly review',
      repeat_frequency: 'weekly',
      repeat_count: 3,
    });
    await backgroundDone(cal.id);
    await round(cal.id);
    const master = await googleEvent(cal.events, series.google);
    expect(master.recurrence).toEqual(['RRULE:FREQ=WEEKLY;COUNT=3']);
    const occurrences = async () =>
      stack
        .db('google_integration_event')
        .where({ calendar: cal.id, recurring_event_id: series.google })
        .orderBy('starts_at');
    const rows = await occurrences();
    expect(rows).toHaveLength(3);
    await tryton.call('model.google_integration.event.write', [
      [rows[1].id],
      { summary: 'Review (moved room)' },
      {},
    ]);
    await tryton.call('model.google_integration.event.delete', [[rows[2].id], {}]);
    await backgroundDone(cal.id);
    await round(cal.id);
    const { result } = await stack.rpc('credentials.get_access_token', { credential_id: owner });
    const instances = (await (
      await fetch(
        `${stack.emulator.url}/calendar/v3/calendars/${encodeURIComponent(cal.google)}/events/${series.google}/instances`,
        { headers: { authorization: `Bearer ${result.access_token}` } },
      )
    ).json()) as { items: any[] };
    expect(instances.items.map((item: any) => item.summary)).toEqual([
      'Weekly review',
      'Review (moved room)',
    ]);
    expect((await occurrences()).map((row) => row.google_id)).toEqual([rows[0].google_id, rows[1].google_id]);
  });
});

describe('a team calendar', () => {
  it('seen through two accounts is one calendar, and moves to the other account when the first is revoked', async () => {
    const cal = await teamCalendar();
    const members = await stack
      .db('google_integration_calendar_member')
      .where({ calendar: cal.id })
      .orderBy('credential');
    expect(members.map((member) => [member.credential, member.access_role])).toEqual([
      [owner, 'owner'],
      [writer, 'writer'],
    ]);
    expect(await stack.db('google_integration_calendar').where({ id: cal.id }).first()).toMatchObject({
      credential: owner,
      access_role: 'owner',
    });
    expect((await stack.rpc('credentials.revoke', { credential_id: owner })).error).toBeUndefined();
    expect(await stack.db('google_integration_calendar').where({ id: cal.id }).first()).toMatchObject({
      credential: writer,
      access_role: 'writer',
    });
    const made = await appointment(cal.id, { summary: 'Through the writer' });
    await backgroundDone(cal.id);
    await round(cal.id);
    expect(await googleEvent(cal.events, made.google)).toMatchObject({ summary: 'Through the writer' });
  });
});
