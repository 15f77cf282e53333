import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar } from './calendar-helpers.js';

let h: CalendarHarness;
let token: string;
const EMAIL = 'rec@example.com';
const events = '/calendars/primary/events';

beforeAll(async () => {
  h = await startCalendar();
});
beforeEach(async () => {
  token = await h.token(EMAIL);
  await h.control('POST', `/accounts/${EMAIL}/calendars`, { id: EMAIL, timeZone: 'Europe/Paris' });
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});

/** Weekly Monday 09:00-10:00 Europe/Paris from 2024-03-18, four times: across the spring DST change. */
async function parisWeekly(id = 'series0001', extra: Record<string, unknown> = {}) {
  const answer = await h.api(token, 'POST', events, {
    body: {
      id,
      summary: 'Weekly',
      start: { dateTime: '2024-03-18T09:00:00', timeZone: 'Europe/Paris' },
      end: { dateTime: '2024-03-18T10:00:00', timeZone: 'Europe/Paris' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=4'],
      ...extra,
    },
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

describe('singleEvents expansion', () => {
  it('expands a Europe/Paris weekly series at 09:00 local across DST, with Google instance ids', async () => {
    const master = await parisWeekly();
    expect(master.recurrence).toEqual(['RRULE:FREQ=WEEKLY;COUNT=4']);
    const listed = await h.listAll(token, 'primary', { singleEvents: 'true', orderBy: 'startTime' });
    expect(listed.items.map((item) => item.id)).toEqual([
      'series0001_20240318T080000Z',
      'series0001_20240325T080000Z',
      'series0001_20240401T070000Z',
      'series0001_20240408T070000Z',
    ]);
    expect(listed.items.map((item) => item.start.dateTime)).toEqual([
      '2024-03-18T09:00:00+01:00',
      '2024-03-25T09:00:00+01:00',
      '2024-04-01T09:00:00+02:00',
      '2024-04-08T09:00:00+02:00',
    ]);
    expect(listed.items[2]).toMatchObject({
      recurringEventId: 'series0001',
      originalStartTime: { dateTime: '2024-04-01T09:00:00+02:00', timeZone: 'Europe/Paris' },
      start: { timeZone: 'Europe/Paris' },
      end: { dateTime: '2024-04-01T10:00:00+02:00', timeZone: 'Europe/Paris' },
      iCalUID: master.iCalUID,
      summary: 'Weekly',
    });
    expect(listed.items[2].recurrence).toBeUndefined();
    const inUtc = await h.api(token, 'GET', events, {
      query: { singleEvents: 'true', timeZone: 'UTC', maxResults: '1' },
    });
    expect(inUtc.body.items[0].start.dateTime).toBe('2024-03-18T08:00:00Z');
    const plain = await h.listAll(token, 'primary');
    expect(plain.items.map((item) => item.id)).toEqual(['series0001']);
  });

  it('expands America/New_York daily events across the spring and autumn changes', async () => {
    await h.api(token, 'POST', events, {
      body: {
        id: 'ndaili001',
        start: { dateTime: '2024-03-08T09:00:00-05:00', timeZone: 'America/New_York' },
        end: { dateTime: '2024-03-08T09:30:00-05:00', timeZone: 'America/New_York' },
        recurrence: ['RRULE:FREQ=DAILY'],
      },
    });
    const spring = await h.listAll(token, 'primary', {
      singleEvents: 'true',
      orderBy: 'startTime',
      timeMin: '2024-03-09T00:00:00Z',
      timeMax: '2024-03-12T00:00:00Z',
      timeZone: 'America/New_York',
    });
    expect(spring.items.map((item) => [item.id, item.start.dateTime])).toEqual([
      ['ndaili001_20240309T140000Z', '2024-03-09T09:00:00-05:00'],
      ['ndaili001_20240310T130000Z', '2024-03-10T09:00:00-04:00'],
      ['ndaili001_20240311T130000Z', '2024-03-11T09:00:00-04:00'],
    ]);
    const autumn = await h.listAll(token, 'primary', {
      singleEvents: 'true',
      orderBy: 'startTime',
      timeMin: '2024-11-02T00:00:00Z',
      timeMax: '2024-11-05T00:00:00Z',
      timeZone: 'America/New_York',
    });
    expect(autumn.items.map((item) => item.start.dateTime)).toEqual([
      '2024-11-02T09:00:00-04:00',
      '2024-11-03T09:00:00-05:00',
      '2024-11-04T09:00:00-05:00',
    ]);
  });

  it('expands all-day series with date instance ids and honours EXDATE', async () => {
    await h.api(token, 'POST', events, {
      body: {
        id: 'allda0001',
        summary: 'Standup day',
        start: { date: '2024-03-29' },
        end: { date: '2024-03-30' },
        recurrence: ['RRULE:FREQ=DAILY;COUNT=4', 'EXDATE;VALUE=DATE:20240331'],
      },
    });
    const listed = await h.listAll(token, 'primary', { singleEvents: 'true', orderBy: 'startTime' });
    expect(listed.items.map((item) => [item.id, item.start, item.end, item.originalStartTime])).toEqual([
      ['allda0001_20240329', { date: '2024-03-29' }, { date: '2024-03-30' }, { date: '2024-03-29' }],
      ['allda0001_20240330', { date: '2024-03-30' }, { date: '2024-03-31' }, { date: '2024-03-30' }],
      ['allda0001_20240401', { date: '2024-04-01' }, { date: '2024-04-02' }, { date: '2024-04-01' }],
    ]);
  });

  it('expands a series without end up to timeMax, or two years ahead without one', async () => {
    const now = Date.now();
    const start = new Date(now - 7 * 86_400_000).toISOString().slice(0, 10);
    await h.api(token, 'POST', events, {
      body: {
        id: 'openended',
        start: { dateTime: `${start}T12:00:00Z`, timeZone: 'UTC' },
        end: { dateTime: `${start}T13:00:00Z`, timeZone: 'UTC' },
        recurrence: ['RRULE:FREQ=WEEKLY'],
      },
    });
    const bounded = await h.listAll(token, 'primary', {
      singleEvents: 'true',
      timeMax: new Date(now + 30 * 86_400_000).toISOString(),
    });
    expect(bounded.items.length).toBeGreaterThanOrEqual(5);
    expect(bounded.items.length).toBeLessThanOrEqual(6);
    const horizon = await h.listAll(token, 'primary', { singleEvents: 'true' });
    expect(horizon.items.length).toBeGreaterThanOrEqual(105);
    expect(horizon.items.length).toBeLessThanOrEqual(106);
  });

  it('lists a series through events.instances, and 404 for a single event', async () => {
    await parisWeekly();
    const instances = await h.api(token, 'GET', `${events}/series0001/instances`, {
      query: { maxResults: '3' },
    });
    expect(instances.body.items.map((item: any) => item.id)).toEqual([
      'series0001_20240318T080000Z',
      'series0001_20240325T080000Z',
      'series0001_20240401T070000Z',
    ]);
    const rest = await h.api(token, 'GET', `${events}/series0001/instances`, {
      query: { maxResults: '3', pageToken: instances.body.nextPageToken },
    });
    expect(rest.body.items.map((item: any) => item.id)).toEqual(['series0001_20240408T070000Z']);
    expect(rest.body.nextSyncToken).toBeUndefined();
    const single = await h.api(token, 'POST', events, {
      body: { start: { date: '2024-01-01' }, end: { date: '2024-01-02' } },
    });
    expect((await h.api(token, 'GET', `${events}/${single.body.id}/instances`)).status).toBe(404);
    const one = await h.api(token, 'GET', `${events}/series0001_20240401T070000Z`);
    expect(one.body).toMatchObject({ id: 'series0001_20240401T070000Z', recurringEventId: 'series0001' });
    expect((await h.api(token, 'GET', `${events}/series0001_20240402T070000Z`)).status).toBe(404);
  });
});

describe('exceptions', () => {
  it('moves one occurrence through the API: same id, recurringEventId and originalStartTime, new time', async () => {
    await parisWeekly();
    const { nextSyncToken } = await h.listAll(token, 'primary', { singleEvents: 'true' });
    const moved = await h.api(token, 'PATCH', `${events}/series0001_20240325T080000Z`, {
      body: {
        start: { dateTime: '2024-03-26T14:00:00+01:00' },
        end: { dateTime: '2024-03-26T15:00:00+01:00' },
        summary: 'Moved',
      },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({
      id: 'series0001_20240325T080000Z',
      recurringEventId: 'series0001',
      originalStartTime: { dateTime: '2024-03-25T09:00:00+01:00', timeZone: 'Europe/Paris' },
      start: { dateTime: '2024-03-26T14:00:00+01:00', timeZone: 'Europe/Paris' },
      summary: 'Moved',
    });
    const listed = await h.listAll(token, 'primary', { singleEvents: 'true', orderBy: 'startTime' });
    expect(listed.items.map((item) => [item.id, item.summary])).toEqual([
      ['series0001_20240318T080000Z', 'Weekly'],
      ['series0001_20240325T080000Z', 'Moved'],
      ['series0001_20240401T070000Z', 'Weekly'],
      ['series0001_20240408T070000Z', 'Weekly'],
    ]);
    const increment = await h.listAll(token, 'primary', { singleEvents: 'true', syncToken: nextSyncToken });
    expect(increment.items.map((item) => [item.id, item.summary])).toEqual([
      ['series0001_20240325T080000Z', 'Moved'],
    ]);
    const plain = await h.listAll(token, 'primary');
    expect(plain.items.map((item) => item.id).sort()).toEqual(['series0001', 'series0001_20240325T080000Z']);
  });

  it('cancels one occurrence: gone from lists, cancelled with its series fields in incremental sync', async () => {
    await parisWeekly();
    const { nextSyncToken } = await h.listAll(token, 'primary', { singleEvents: 'true' });
    const plainToken = (await h.listAll(token, 'primary')).nextSyncToken;
    expect((await h.api(token, 'DELETE', `${events}/series0001_20240401T070000Z`)).status).toBe(204);
    const listed = await h.listAll(token, 'primary', { singleEvents: 'true' });
    expect(listed.items.map((item) => item.id)).not.toContain('series0001_20240401T070000Z');
    const cancelled = {
      kind: 'calendar#event',
      etag: expect.stringMatching(/^"\d+"$/),
      id: 'series0001_20240401T070000Z',
      status: 'cancelled',
      recurringEventId: 'series0001',
      originalStartTime: { dateTime: '2024-04-01T09:00:00+02:00', timeZone: 'Europe/Paris' },
    };
    expect(
      (await h.listAll(token, 'primary', { singleEvents: 'true', syncToken: nextSyncToken })).items,
    ).toEqual([cancelled]);
    expect((await h.listAll(token, 'primary', { syncToken: plainToken })).items).toEqual([cancelled]);
    // Without singleEvents and showDeleted Google still lists cancelled occurrences of a live series.
    expect((await h.listAll(token, 'primary')).items.map((item) => item.id).sort()).toEqual([
      'series0001',
      'series0001_20240401T070000Z',
    ]);
    expect((await h.api(token, 'DELETE', `${events}/series0001_20240401T070000Z`)).status).toBe(410);
  });

  it('edits and cancels occurrences through the control API as a person would', async () => {
    await parisWeekly();
    const { nextSyncToken } = await h.listAll(token, 'primary', { singleEvents: 'true' });
    const edited = await h.control('POST', `/calendars/${EMAIL}/events/series0001/occurrence`, {
      originalStart: '2024-03-18T09:00:00+01:00',
      changes: { summary: 'Edited once' },
    });
    expect(edited.body.id).toBe('series0001_20240318T080000Z');
    const cancelled = await h.control('POST', `/calendars/${EMAIL}/events/series0001/occurrence`, {
      originalStart: '2024-04-08T07:00:00Z',
      cancel: true,
    });
    expect(cancelled.body).toEqual({ id: 'series0001_20240408T070000Z', cancelled: true });
    const increment = await h.listAll(token, 'primary', { singleEvents: 'true', syncToken: nextSyncToken });
    expect(increment.items.map((item) => [item.id, item.status, item.summary])).toEqual([
      ['series0001_20240318T080000Z', 'confirmed', 'Edited once'],
      ['series0001_20240408T070000Z', 'cancelled', undefined],
    ]);
    const stored = await h.control('GET', `/calendars/${EMAIL}/events`);
    expect(stored.body.events.map((event: any) => event.id).sort()).toEqual([
      'series0001',
      'series0001_20240318T080000Z',
      'series0001_20240408T070000Z',
    ]);
  });

  it('reports occurrences a series lost as cancelled when the series moves, and everything when it is deleted', async () => {
    await parisWeekly();
    const { nextSyncToken } = await h.listAll(token, 'primary', { singleEvents: 'true' });
    await h.api(token, 'PATCH', `${events}/series0001`, {
      body: {
        start: { dateTime: '2024-03-18T11:00:00' },
        end: { dateTime: '2024-03-18T12:00:00' },
        recurrence: ['RRULE:FREQ=WEEKLY;COUNT=2'],
      },
    });
    const moved = await h.listAll(token, 'primary', { singleEvents: 'true', syncToken: nextSyncToken });
    const statuses = Object.fromEntries(moved.items.map((item) => [item.id, item.status]));
    expect(statuses).toEqual({
      series0001_20240318T080000Z: 'cancelled',
      series0001_20240325T080000Z: 'cancelled',
      series0001_20240401T070000Z: 'cancelled',
      series0001_20240408T070000Z: 'cancelled',
      series0001_20240318T100000Z: 'confirmed',
      series0001_20240325T100000Z: 'confirmed',
    });
    const master = (await h.api(token, 'GET', `${events}/series0001`)).body;
    expect(master.sequence).toBe(1);
    await h.api(token, 'DELETE', `${events}/series0001`);
    const deleted = await h.listAll(token, 'primary', {
      singleEvents: 'true',
      syncToken: moved.nextSyncToken,
    });
    expect(Object.fromEntries(deleted.items.map((item) => [item.id, item.status]))).toEqual({
      series0001: 'cancelled',
      series0001_20240318T100000Z: 'cancelled',
      series0001_20240325T100000Z: 'cancelled',
    });
    expect((await h.listAll(token, 'primary', { singleEvents: 'true' })).items).toEqual([]);
  });
});
