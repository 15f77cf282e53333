import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar } from './calendar-helpers.js';
import { authUrl, consent, exchangeCode, pkcePair, refresh, userinfo } from './oauth-helpers.js';

const START = Date.parse('2030-01-01T00:00:00Z');
const YEAR_MS = 365 * 86_400_000;
let h: CalendarHarness;

beforeAll(async () => {
  h = await startCalendar({ now: () => START });
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});

async function clock(body?: unknown): Promise<{ status: number; body: any }> {
  const answer = await fetch(`${h.emulator.url}/__emulator/clock`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: answer.status, body: await answer.json() };
}

describe('/__emulator/clock', () => {
  it('reads, advances (either way), sets and resets the offset over the injected clock', async () => {
    expect(await clock()).toEqual({ status: 200, body: { now: '2030-01-01T00:00:00.000Z', offset_ms: 0 } });
    expect((await clock({ advance_ms: 90_000 })).body).toEqual({
      now: '2030-01-01T00:01:30.000Z',
      offset_ms: 90_000,
    });
    expect((await clock({ advance_ms: -30_000 })).body.offset_ms).toBe(60_000);
    expect((await clock({ set: '2031-06-01T12:00:00+02:00' })).body).toEqual({
      now: '2031-06-01T10:00:00.000Z',
      offset_ms: Date.parse('2031-06-01T10:00:00Z') - START,
    });
    expect((await clock({ reset: true })).body).toEqual({ now: '2030-01-01T00:00:00.000Z', offset_ms: 0 });
  });

  it.each([
    ['nothing', {}],
    ['two moves at once', { advance_ms: 1, reset: true }],
    ['a fraction', { advance_ms: 1.5 }],
    ['a date without offset', { set: '2031-01-01T00:00:00' }],
    ['not a date', { set: 'tomorrow' }],
    ['reset: false', { reset: false }],
    ['an unknown field', { advance: 1 }],
  ])('refuses %s with 400', async (_name, body) => {
    const answer = await clock(body);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect((await clock()).body.offset_ms).toBe(0);
  });

  it('is set back by the global reset', async () => {
    await clock({ advance_ms: 5_000 });
    await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
    expect((await clock()).body.offset_ms).toBe(0);
  });
});

describe('what follows the clock', () => {
  it('moves the expansion horizon of a series that never ends', async () => {
    const token = await h.token('clock@example.com');
    const created = await h.api(token, 'POST', '/calendars/primary/events', {
      body: {
        summary: 'Weekly, forever',
        start: { dateTime: '2030-01-07T09:00:00', timeZone: 'Europe/Brussels' },
        end: { dateTime: '2030-01-07T10:00:00', timeZone: 'Europe/Brussels' },
        recurrence: ['RRULE:FREQ=WEEKLY'],
      },
    });
    expect(created.status).toBe(200);
    const before = await h.listAll(token, 'primary', { singleEvents: 'true' });
    expect(before.items.length).toBeGreaterThan(100);
    await clock({ advance_ms: YEAR_MS });
    // A year on, the first token has long expired.
    const later = await h.token('clock@example.com');
    const after = await h.listAll(later, 'primary', { singleEvents: 'true' });
    expect(after.items.length - before.items.length).toBeGreaterThanOrEqual(50);
    expect(after.items.at(-1).start.dateTime > before.items.at(-1).start.dateTime).toBe(true);
    const instances = await h.api(later, 'GET', `/calendars/primary/events/${created.body.id}/instances`, {
      query: { maxResults: '2500' },
    });
    expect(instances.body.items).toHaveLength(after.items.length);
  });

  it('expires access tokens and stamps changes with the moved time', async () => {
    const token = await h.token('clock@example.com');
    expect((await h.api(token, 'GET', '/calendars/primary')).status).toBe(200);
    await clock({ advance_ms: 3_598_000 });
    expect((await userinfo(h.emulator.url, token)).status).toBe(200);
    await clock({ advance_ms: 1_000 });
    expect((await h.api(token, 'GET', '/calendars/primary')).status).toBe(401);
    expect((await userinfo(h.emulator.url, token)).status).toBe(401);

    await clock({ set: '2040-05-06T07:08:09Z' });
    const created = await h.control('POST', '/calendars/clock@example.com/events', {
      summary: 'Stamped',
      start: { date: '2040-05-06' },
      end: { date: '2040-05-07' },
    });
    expect(created.body.updated).toBe('2040-05-06T07:08:09.000Z');
  });

  it('expires authorization codes', async () => {
    const { verifier, challenge } = pkcePair();
    const location = await consent(
      authUrl(h.emulator.url, { code_challenge: challenge, code_challenge_method: 'S256' }),
      h.emulator.url,
    );
    await clock({ advance_ms: 601_000 });
    const exchanged = await exchangeCode(h.emulator.url, location.searchParams.get('code') ?? '', verifier);
    expect(exchanged.status).toBe(400);
    expect(exchanged.body.error).toBe('invalid_grant');
  });

  it('gives refreshed tokens their full lifetime from the moved time', async () => {
    const { verifier, challenge } = pkcePair();
    const location = await consent(
      authUrl(h.emulator.url, { code_challenge: challenge, code_challenge_method: 'S256' }),
      h.emulator.url,
    );
    const tokens = await exchangeCode(h.emulator.url, location.searchParams.get('code') ?? '', verifier);
    await clock({ advance_ms: 10 * YEAR_MS });
    const renewed = await refresh(h.emulator.url, tokens.body.refresh_token);
    expect(renewed.body.expires_in).toBe(3599);
    expect((await userinfo(h.emulator.url, renewed.body.access_token)).status).toBe(200);
  });
});
