import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar } from './calendar-helpers.js';

let h: CalendarHarness;
let clock = Date.parse('2030-01-01T00:00:00Z');
beforeAll(async () => {
  h = await startCalendar({ now: () => clock });
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});
const controlRoot = (path: string, body: unknown) =>
  fetch(`${h.emulator.url}/__emulator${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('quotas', () => {
  it('are off by default', async () => {
    const token = await h.token('q0@example.com');
    for (let index = 0; index < 20; index += 1)
      expect((await h.api(token, 'GET', '/calendars/primary/events')).status).toBe(200);
    expect((await h.control('GET', '/quotas')).body).toMatchObject({
      enabled: false,
      perUserPerMinute: 600,
      perProjectPerMinute: 10000,
    });
  });

  it('limit each user over a sliding minute with 403 userRateLimitExceeded (or 429), then recover', async () => {
    const ann = await h.token('q1@example.com');
    const bob = await h.token('q2@example.com');
    await h.control('POST', '/quotas', { enabled: true, perUserPerMinute: 3 });
    for (let index = 0; index < 3; index += 1) {
      clock += 10_000;
      expect((await h.api(ann, 'GET', '/calendars/primary/events')).status).toBe(200);
    }
    const limited = await h.api(ann, 'GET', '/calendars/primary/events');
    expect(limited.status).toBe(403);
    expect(limited.body).toEqual({
      error: {
        errors: [
          { domain: 'usageLimits', reason: 'userRateLimitExceeded', message: 'User Rate Limit Exceeded' },
        ],
        code: 403,
        message: 'User Rate Limit Exceeded',
      },
    });
    expect((await h.api(bob, 'GET', '/calendars/primary/events')).status).toBe(200);
    clock += 41_000; // the first call (60 s ago) leaves the window
    expect((await h.api(ann, 'GET', '/calendars/primary/events')).status).toBe(200);
    expect((await h.api(ann, 'GET', '/calendars/primary/events')).status).toBe(403);
    await h.control('POST', '/quotas', { userLimitStatus: 429 });
    const tooMany = await h.api(ann, 'GET', '/calendars/primary/events');
    expect(tooMany.status).toBe(429);
    expect(tooMany.headers.get('retry-after')).toBe('1');
    expect(tooMany.body.error.errors[0].reason).toBe('userRateLimitExceeded');
  });

  it('limit the project (OAuth client) with 403 rateLimitExceeded and a day with quotaExceeded', async () => {
    const ann = await h.token('q3@example.com');
    const bob = await h.token('q4@example.com');
    await h.control('POST', '/quotas', { enabled: true, perProjectPerMinute: 2 });
    expect((await h.api(ann, 'GET', '/calendars/primary')).status).toBe(200);
    expect((await h.api(bob, 'GET', '/calendars/primary')).status).toBe(200);
    const limited = await h.api(bob, 'GET', '/calendars/primary');
    expect(limited.status).toBe(403);
    expect(limited.body.error.errors[0]).toEqual({
      domain: 'usageLimits',
      reason: 'rateLimitExceeded',
      message: 'Rate Limit Exceeded',
    });
    await h.control('POST', '/quotas', { perProjectPerMinute: 10_000, perProjectPerDay: 3 });
    clock += 61_000;
    for (let index = 0; index < 3; index += 1) {
      clock += 3_600_000;
      expect((await h.api(await h.token('q3@example.com'), 'GET', '/calendars/primary')).status).toBe(200);
    }
    clock += 3_600_000;
    const day = await h.api(await h.token('q3@example.com'), 'GET', '/calendars/primary');
    expect(day.status).toBe(403);
    expect(day.body.error.errors[0].reason).toBe('quotaExceeded');
  });
});

describe('latency, failures and stats on the calendar endpoint', () => {
  it('counts calls per operation', async () => {
    const token = await h.token('st@example.com');
    await h.api(token, 'GET', '/users/me/calendarList');
    await h.api(token, 'GET', '/calendars/primary/events');
    await h.api(token, 'GET', '/calendars/primary/events');
    await h.api(token, 'POST', '/calendars/primary/events', {
      body: { start: { date: '2030-01-01' }, end: { date: '2030-01-02' } },
    });
    const stats: any = await (await fetch(`${h.emulator.url}/__emulator/stats`)).json();
    expect(stats.calendar).toEqual({ 'calendarList.list': 1, 'events.list': 2, 'events.insert': 1 });
  });

  it('fails calls with Google API bodies: default per status, a chosen reason, probability', async () => {
    const token = await h.token('fl@example.com');
    await controlRoot('/failures', { endpoint: 'calendar', status: 503, count: 1 });
    await controlRoot('/failures', {
      endpoint: 'calendar',
      status: 403,
      count: 1,
      reason: 'userRateLimitExceeded',
    });
    await controlRoot('/failures', { endpoint: 'calendar', status: 410, count: 1 });
    await controlRoot('/failures', { endpoint: 'calendar', status: 500, count: 1 });
    const unavailable = await h.api(token, 'GET', '/calendars/primary/events');
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error.errors[0]).toEqual({
      domain: 'global',
      reason: 'backendError',
      message: 'The service is currently unavailable.',
    });
    const user = await h.api(token, 'GET', '/calendars/primary/events');
    expect(user.body.error.errors[0]).toMatchObject({
      domain: 'usageLimits',
      reason: 'userRateLimitExceeded',
    });
    const gone = await h.api(token, 'GET', '/calendars/primary/events');
    expect(gone.body.error.errors[0]).toMatchObject({ domain: 'calendar', reason: 'fullSyncRequired' });
    const backend = await h.api(token, 'GET', '/calendars/primary/events');
    expect(backend.body).toEqual({
      error: {
        errors: [{ domain: 'global', reason: 'backendError', message: 'Backend Error' }],
        code: 500,
        message: 'Backend Error',
      },
    });
    expect((await h.api(token, 'GET', '/calendars/primary/events')).status).toBe(200);

    await controlRoot('/failures', { endpoint: 'calendar', status: 500, count: 1000, probability: 0.5 });
    const statuses = [];
    for (let index = 0; index < 40; index += 1)
      statuses.push((await h.api(token, 'GET', '/calendars/primary')).status);
    expect(statuses).toContain(500);
    expect(statuses).toContain(200);
  });

  it('injected failures leave state untouched and come before authentication', async () => {
    await controlRoot('/failures', { endpoint: 'calendar', status: 429, count: 1 });
    const limited = await h.api(undefined, 'GET', '/calendars/primary/events');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect((await h.api(undefined, 'GET', '/calendars/primary/events')).status).toBe(401);
  });

  it('delays calendar calls only when the latency targets them', async () => {
    const token = await h.token('lt@example.com');
    await controlRoot('/latency', { ms: 200, endpoint: 'calendar' });
    const started = performance.now();
    await h.api(token, 'GET', '/calendars/primary');
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    const quick = performance.now();
    await fetch(`${h.emulator.url}/v1/userinfo`);
    expect(performance.now() - quick).toBeLessThan(150);
  });
});

describe('control API and state', () => {
  it('resets calendars with the global reset, keeps state serialisable, refuses bad control bodies', async () => {
    await h.control('POST', '/accounts/st@example.com/calendars', {
      summary: 'Mine',
      timeZone: 'Asia/Tokyo',
    });
    await h.control('POST', '/calendars/st@example.com/events', {
      start: { date: '2030-01-01' },
      end: { date: '2030-01-02' },
    });
    const state = (await h.control('GET', '/state')).body;
    expect(Object.keys(state.calendars)).toHaveLength(2);
    expect(JSON.parse(JSON.stringify(h.emulator.state.calendar.toJSON()))).toEqual(state);
    expect(
      (await h.control('POST', '/accounts/st@example.com/calendars', { timeZone: 'Nowhere/Land' })).status,
    ).toBe(400);
    expect((await h.control('POST', '/quotas', { perUserPerMinute: -1 })).status).toBe(400);
    expect((await h.control('GET', '/calendars/nobody.calendar.google.com/events')).status).toBe(404);
    await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
    expect((await h.control('GET', '/state')).body.calendars).toEqual({});
  });
});
