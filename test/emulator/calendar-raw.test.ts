import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar, timed } from './calendar-helpers.js';

const EMAIL = 'raw@example.com';
const events = '/calendars/primary/events';
let h: CalendarHarness;
let token: string;

beforeAll(async () => {
  h = await startCalendar();
});
beforeEach(async () => {
  token = await h.token(EMAIL);
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});

const raw = (eventId: string, fields: Record<string, unknown>) =>
  h.control('POST', `/calendars/${EMAIL}/events/${eventId}/raw`, { fields });

/** What the override should show: its fields, `null` ones absent. */
function expectOverridden(item: Record<string, unknown>, fields: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(fields)) {
    if (value === null) expect(item, name).not.toHaveProperty(name);
    else expect(item[name], name).toEqual(value);
  }
}

const EXAMPLES: [string, Record<string, unknown>][] = [
  ['a number for a summary', { summary: 42 }],
  ['an object for attendees', { attendees: { email: 'x@example.com' } }],
  ['a date that does not exist', { start: { date: '2026-02-30' }, end: { date: '2026-03-01' } }],
  ['an unknown status', { status: 'weird' }],
  ['a visibility in capitals', { visibility: 'PRIVATE' }],
  ['a javascript: link', { htmlLink: 'javascript:alert(1)' }],
  ['no end', { end: null }],
];

describe('POST /__emulator/calendar/calendars/:calendarId/events/:eventId/raw', () => {
  it.each(EXAMPLES)(
    'shows %s in events.list (full, incremental) and events.get until the next write',
    async (_name, fields) => {
      const created = await h.api(token, 'POST', events, {
        body: timed('Normal', '2026-02-10T10:00:00Z', '2026-02-10T11:00:00Z'),
      });
      const other = await h.api(token, 'POST', events, {
        body: timed('Untouched', '2026-02-11T10:00:00Z', '2026-02-11T11:00:00Z'),
      });
      const before = await h.listAll(token, 'primary');
      const normal = before.items.find((item) => item.id === created.body.id);

      const answer = await raw(created.body.id, fields);
      expect(answer.status).toBe(200);
      expectOverridden(answer.body, fields);

      const full = await h.listAll(token, 'primary');
      const listed = full.items.find((item) => item.id === created.body.id);
      expectOverridden(listed, fields);
      if (!('etag' in fields)) expect(listed.etag).not.toBe(normal.etag);
      expect(full.items.find((item) => item.id === other.body.id)).toEqual(
        before.items.find((item) => item.id === other.body.id),
      );

      const increment = await h.listAll(token, 'primary', { syncToken: before.nextSyncToken });
      expect(increment.items.map((item) => item.id)).toEqual([created.body.id]);
      expectOverridden(increment.items[0], fields);

      const got = await h.api(token, 'GET', `${events}/${created.body.id}`);
      expect(got.status).toBe(200);
      expectOverridden(got.body, fields);

      // A regular write drops the override: every field is as Google renders it again.
      const patched = await h.api(token, 'PATCH', `${events}/${created.body.id}`, {
        body: { location: 'Here' },
      });
      expect(patched.status).toBe(200);
      const after = await h.api(token, 'GET', `${events}/${created.body.id}`);
      for (const name of Object.keys(fields)) expect(after.body[name], name).toEqual(normal[name]);
      expect(after.body.location).toBe('Here');
      const relisted = (await h.listAll(token, 'primary')).items.find((item) => item.id === created.body.id);
      for (const name of Object.keys(fields)) expect(relisted[name], name).toEqual(normal[name]);
    },
  );

  it('aims at one occurrence of a series when given its instance id', async () => {
    const series = await h.api(token, 'POST', events, {
      body: {
        summary: 'Weekly',
        start: { dateTime: '2026-03-02T09:00:00', timeZone: 'Europe/Brussels' },
        end: { dateTime: '2026-03-02T10:00:00', timeZone: 'Europe/Brussels' },
        recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
      },
    });
    const before = await h.listAll(token, 'primary', { singleEvents: 'true' });
    const second = before.items[1];
    expect(second.recurringEventId).toBe(series.body.id);

    expect((await raw(second.id, { summary: 42 })).status).toBe(200);
    const listed = await h.listAll(token, 'primary', { singleEvents: 'true', orderBy: 'startTime' });
    expect(listed.items.map((item) => item.summary)).toEqual(['Weekly', 42, 'Weekly']);
    expect(listed.items[1].etag).not.toBe(second.etag);
    const instances = await h.api(token, 'GET', `${events}/${series.body.id}/instances`);
    expect(instances.body.items.map((item: any) => item.summary)).toEqual(['Weekly', 42, 'Weekly']);
    expect((await h.api(token, 'GET', `${events}/${second.id}`)).body.summary).toBe(42);
    // The series itself renders as before.
    expect((await h.api(token, 'GET', `${events}/${series.body.id}`)).body.summary).toBe('Weekly');
    expect((await h.listAll(token, 'primary')).items.map((item) => item.summary)).toEqual(['Weekly']);
    const increment = await h.listAll(token, 'primary', {
      syncToken: before.nextSyncToken,
      singleEvents: 'true',
    });
    expect(increment.items.map((item) => [item.id, item.summary])).toEqual([[second.id, 42]]);

    // Edited by a person (control API): an exception, rendered normally.
    await h.control('PATCH', `/calendars/${EMAIL}/events/${second.id}`, { location: 'Room 2' });
    const got = await h.api(token, 'GET', `${events}/${second.id}`);
    expect(got.body).toMatchObject({ summary: 'Weekly', location: 'Room 2' });
  });

  it('is dropped when the series is written (it rewrites every occurrence)', async () => {
    const series = await h.api(token, 'POST', events, {
      body: {
        summary: 'Daily',
        start: { date: '2026-03-02' },
        end: { date: '2026-03-03' },
        recurrence: ['RRULE:FREQ=DAILY;COUNT=2'],
      },
    });
    await raw(`${series.body.id}_20260303`, { status: 'weird' });
    expect((await h.api(token, 'GET', `${events}/${series.body.id}_20260303`)).body.status).toBe('weird');
    await h.api(token, 'PATCH', `${events}/${series.body.id}`, { body: { summary: 'Daily!' } });
    const got = await h.api(token, 'GET', `${events}/${series.body.id}_20260303`);
    expect(got.body).toMatchObject({ status: 'confirmed', summary: 'Daily!' });
  });

  it('is dropped by a delete: the cancelled event renders as Google does', async () => {
    const created = await h.api(token, 'POST', events, {
      body: timed('Doomed', '2026-02-10T10:00:00Z', '2026-02-10T11:00:00Z'),
    });
    await raw(created.body.id, { status: 'weird' });
    expect((await h.api(token, 'DELETE', `${events}/${created.body.id}`)).status).toBe(204);
    const listed = await h.listAll(token, 'primary', { showDeleted: 'true' });
    expect(listed.items).toEqual([expect.objectContaining({ id: created.body.id, status: 'cancelled' })]);
  });

  it('answers 404 for an unknown event and 400 for a body without fields', async () => {
    expect((await raw('nosuchevent', { summary: 1 })).status).toBe(404);
    const created = await h.api(token, 'POST', events, {
      body: timed('x', '2026-02-10T10:00:00Z', '2026-02-10T11:00:00Z'),
    });
    expect((await raw(created.body.id, {})).status).toBe(400);
    expect(
      (await h.control('POST', `/calendars/${EMAIL}/events/${created.body.id}/raw`, { summary: 1 })).status,
    ).toBe(400);
  });
});

describe('date-times at the ends of the range', () => {
  it('are accepted and listed as given (in the zone of their offset)', async () => {
    const early = await h.api(token, 'POST', events, {
      body: timed('Year one', '0001-01-01T00:00:00+14:00', '0001-01-01T01:00:00+14:00'),
    });
    const late = await h.api(token, 'POST', events, {
      body: timed('Year 9999', '9999-12-31T22:00:00-05:00', '9999-12-31T22:30:00-05:00'),
    });
    expect([early.status, late.status]).toEqual([200, 200]);
    const plus14 = await h.listAll(token, 'primary', { timeZone: 'Etc/GMT-14' });
    expect(plus14.items.find((item) => item.id === early.body.id)).toMatchObject({
      start: { dateTime: '0001-01-01T00:00:00+14:00' },
      end: { dateTime: '0001-01-01T01:00:00+14:00' },
    });
    const minus5 = await h.listAll(token, 'primary', { timeZone: 'Etc/GMT+5' });
    expect(minus5.items.find((item) => item.id === late.body.id)).toMatchObject({
      start: { dateTime: '9999-12-31T22:00:00-05:00' },
      end: { dateTime: '9999-12-31T22:30:00-05:00' },
    });
    // In the calendar's zone (UTC) they are the same instants, one in year 0, one in year 10000.
    const utc = await h.listAll(token, 'primary', { singleEvents: 'true', orderBy: 'startTime' });
    expect(utc.items.map((item) => [item.start.dateTime, item.end.dateTime])).toEqual([
      ['0000-12-31T10:00:00Z', '0000-12-31T11:00:00Z'],
      ['+010000-01-01T03:00:00Z', '+010000-01-01T03:30:00Z'],
    ]);
    for (const item of utc.items) expect(Number.isNaN(Date.parse(item.start.dateTime))).toBe(false);
    const got = await h.api(token, 'GET', `${events}/${late.body.id}`, { query: { timeZone: 'Etc/GMT+5' } });
    expect(got.body.start).toEqual({ dateTime: '9999-12-31T22:00:00-05:00' });
  });
});
