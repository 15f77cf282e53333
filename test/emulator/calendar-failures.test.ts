import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar } from './calendar-helpers.js';

const EMAIL = 'faults@example.com';
let h: CalendarHarness;
let token: string;
let other: string;

beforeAll(async () => {
  h = await startCalendar();
});
beforeEach(async () => {
  token = await h.token(EMAIL);
  const created = await h.control('POST', `/accounts/${EMAIL}/calendars`, { summary: 'Other' });
  other = created.body.items.find((item: any) => item.summary === 'Other').id;
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});

async function fail(body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const answer = await fetch(`${h.emulator.url}/__emulator/failures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: answer.status, body: await answer.json() };
}

const eventsOf = (calendarId: string) => `/calendars/${encodeURIComponent(calendarId)}/events`;

describe('failures aimed at one calendar', () => {
  it('are taken only by calls on that calendar', async () => {
    expect((await fail({ endpoint: 'calendar', status: 503, calendar_id: EMAIL })).body).toEqual({
      pending: { calendar: 1 },
    });
    expect((await h.api(token, 'GET', eventsOf(other))).status).toBe(200);
    expect((await h.api(token, 'GET', `/calendars/${encodeURIComponent(other)}`)).status).toBe(200);
    // calendarList calls name a calendar but address the list: they never take it.
    expect((await h.api(token, 'GET', '/users/me/calendarList')).status).toBe(200);
    expect((await h.api(token, 'GET', `/users/me/calendarList/${encodeURIComponent(EMAIL)}`)).status).toBe(
      200,
    );
    const failed = await h.api(token, 'GET', eventsOf(EMAIL));
    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe(503);
    expect((await h.api(token, 'GET', eventsOf(EMAIL))).status).toBe(200);
  });

  it('match `primary` by the caller, and writes and single events of the calendar too', async () => {
    await fail({ endpoint: 'calendar', status: 429, calendar_id: EMAIL, count: 2 });
    const limited = await h.api(token, 'GET', '/calendars/primary/events');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    const insert = await h.api(token, 'POST', eventsOf(EMAIL), {
      body: { summary: 'x', start: { date: '2030-01-01' }, end: { date: '2030-01-02' } },
    });
    expect(insert.status).toBe(429);
    expect((await h.api(token, 'GET', '/calendars/primary/events')).status).toBe(200);
  });

  it('stay queued in order while untargeted ones are taken by any call', async () => {
    await fail({ endpoint: 'calendar', status: 503, calendar_id: other });
    await fail({ endpoint: 'calendar', status: 500 });
    expect((await h.api(token, 'GET', eventsOf(EMAIL))).status).toBe(500);
    expect((await h.api(token, 'GET', eventsOf(EMAIL))).status).toBe(200);
    expect((await h.api(token, 'GET', eventsOf(other))).status).toBe(503);
    expect((await h.api(token, 'GET', eventsOf(other))).status).toBe(200);
  });

  it('are dropped by DELETE /failures', async () => {
    await fail({ endpoint: 'calendar', status: 503, calendar_id: EMAIL, count: 3 });
    await fetch(`${h.emulator.url}/__emulator/failures`, { method: 'DELETE' });
    expect((await h.api(token, 'GET', eventsOf(EMAIL))).status).toBe(200);
  });

  it('are for the calendar endpoint only', async () => {
    const refused = await fail({ endpoint: 'token', status: 503, calendar_id: EMAIL });
    expect(refused.status).toBe(400);
    expect(refused.body.issues).toEqual([expect.objectContaining({ path: 'calendar_id' })]);
    expect((await fail({ endpoint: 'calendar', status: 503, calendar_id: '' })).status).toBe(400);
  });
});
