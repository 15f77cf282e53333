import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CalendarHarness, SCOPE, startCalendar, timed } from './calendar-helpers.js';

let h: CalendarHarness;
beforeAll(async () => {
  h = await startCalendar();
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});

describe('calendarList and calendars', () => {
  it('lists the primary calendar (created on first use) and calendars made through the control API', async () => {
    const token = await h.token('ann@example.com');
    const made = await h.control('POST', '/accounts/ann@example.com/calendars', {
      summary: 'Team',
      timeZone: 'Europe/Paris',
      summaryOverride: 'My team',
    });
    expect(made.status).toBe(201);
    const list = await h.api(token, 'GET', '/users/me/calendarList');
    expect(list.status).toBe(200);
    expect(list.body.kind).toBe('calendar#calendarList');
    const [primary, team] = list.body.items;
    expect(primary).toMatchObject({
      kind: 'calendar#calendarListEntry',
      id: 'ann@example.com',
      summary: 'ann@example.com',
      timeZone: 'UTC',
      accessRole: 'owner',
      primary: true,
    });
    expect(primary.etag).toMatch(/^"\d+"$/);
    expect(primary.backgroundColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(primary.foregroundColor).toMatch(/^#[0-9a-f]{6}$/);
    expect(team).toMatchObject({ summary: 'Team', summaryOverride: 'My team', timeZone: 'Europe/Paris' });
    expect(team.id).toMatch(/@group\.calendar\.google\.com$/);
    expect(team.primary).toBeUndefined();
  });

  it('pages calendarList with maxResults and pageToken', async () => {
    const token = await h.token('pat@example.com');
    for (let index = 0; index < 4; index += 1)
      await h.control('POST', '/accounts/pat@example.com/calendars', { summary: `C${index}` });
    const first = await h.api(token, 'GET', '/users/me/calendarList', { query: { maxResults: '2' } });
    expect(first.body.items).toHaveLength(2);
    const second = await h.api(token, 'GET', '/users/me/calendarList', {
      query: { maxResults: '2', pageToken: first.body.nextPageToken },
    });
    const third = await h.api(token, 'GET', '/users/me/calendarList', {
      query: { maxResults: '2', pageToken: second.body.nextPageToken },
    });
    expect(third.body.nextPageToken).toBeUndefined();
    const summaries = [...first.body.items, ...second.body.items, ...third.body.items].map(
      (item) => item.summary,
    );
    expect(summaries).toEqual(['pat@example.com', 'C0', 'C1', 'C2', 'C3']);
  });

  it('answers calendars.get for primary and by id; another account sees 404', async () => {
    const token = await h.token('bob@example.com');
    const primary = await h.api(token, 'GET', '/calendars/primary');
    expect(primary.body).toMatchObject({ kind: 'calendar#calendar', id: 'bob@example.com', timeZone: 'UTC' });
    const byId = await h.api(token, 'GET', `/calendars/${encodeURIComponent('bob@example.com')}`);
    expect(byId.body.id).toBe('bob@example.com');
    const other = await h.token('eve@example.com');
    const refused = await h.api(other, 'GET', '/calendars/bob%40example.com');
    expect(refused.status).toBe(404);
    expect(refused.body).toEqual({
      error: {
        errors: [{ domain: 'global', reason: 'notFound', message: 'Not Found' }],
        code: 404,
        message: 'Not Found',
      },
    });
  });

  it('shares a calendar: a reader reads but may not write (403 requiredAccessLevel)', async () => {
    const owner = await h.token('own@example.com');
    await h.api(owner, 'POST', '/calendars/primary/events', {
      body: timed('Shared', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z'),
    });
    const shared = await h.control('POST', '/calendars/own@example.com/share', {
      email: 'reader@example.com',
      accessRole: 'reader',
    });
    expect(shared.status).toBe(201);
    const reader = await h.token('reader@example.com');
    const list = await h.api(reader, 'GET', '/users/me/calendarList', { query: { minAccessRole: 'writer' } });
    expect(list.body.items.map((item: any) => item.id)).toEqual(['reader@example.com']);
    const events = await h.api(reader, 'GET', '/calendars/own%40example.com/events');
    expect(events.body.accessRole).toBe('reader');
    expect(events.body.items.map((item: any) => item.summary)).toEqual(['Shared']);
    const write = await h.api(reader, 'POST', '/calendars/own%40example.com/events', {
      body: timed('No', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z'),
    });
    expect(write.status).toBe(403);
    expect(write.body.error.errors[0]).toMatchObject({ domain: 'calendar', reason: 'requiredAccessLevel' });
    expect((await h.control('DELETE', '/accounts/reader@example.com/calendars/own@example.com')).status).toBe(
      200,
    );
    expect((await h.api(reader, 'GET', '/calendars/own%40example.com/events')).status).toBe(404);
  });
});

describe('calendars.insert and calendars.delete', () => {
  it('creates a secondary calendar the caller owns and deletes it (never the primary)', async () => {
    const token = await h.token('mk@example.com');
    const created = await h.api(token, 'POST', '/calendars', {
      body: { summary: 'Projects', timeZone: 'Europe/Paris' },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      kind: 'calendar#calendar',
      summary: 'Projects',
      timeZone: 'Europe/Paris',
    });
    const path = `/calendars/${encodeURIComponent(created.body.id)}`;
    const inserted = await h.api(token, 'POST', `${path}/events`, {
      body: { start: { date: '2030-01-01' }, end: { date: '2030-01-02' } },
    });
    expect(inserted.body.organizer).toEqual({ email: created.body.id, displayName: 'Projects' });
    const list = await h.api(token, 'GET', '/users/me/calendarList');
    expect(list.body.items.map((item: any) => [item.summary, item.accessRole])).toEqual([
      ['mk@example.com', 'owner'],
      ['Projects', 'owner'],
    ]);
    expect((await h.api(token, 'POST', '/calendars', { body: {} })).status).toBe(400);
    expect((await h.api(token, 'DELETE', '/calendars/primary')).status).toBe(400);
    expect((await h.api(token, 'DELETE', path)).status).toBe(204);
    expect((await h.api(token, 'GET', `${path}/events`)).status).toBe(404);
    expect((await h.api(token, 'GET', '/users/me/calendarList')).body.items).toHaveLength(1);
  });
});

describe('authentication and scopes', () => {
  it('answers 401 required without a token, 401 authError with a bad one', async () => {
    const missing = await h.api(undefined, 'GET', '/users/me/calendarList');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(missing.body.error.errors[0]).toMatchObject({
      domain: 'global',
      reason: 'required',
      locationType: 'header',
      location: 'Authorization',
    });
    const bad = await h.api('ya29.nope', 'GET', '/calendars/primary/events');
    expect(bad.status).toBe(401);
    expect(bad.body.error).toMatchObject({ code: 401, message: 'Invalid Credentials' });
    expect(bad.body.error.errors[0].reason).toBe('authError');
  });

  it('answers 401 for a revoked or expired token', async () => {
    const token = await h.token('rev@example.com');
    expect((await h.api(token, 'GET', '/calendars/primary')).status).toBe(200);
    await fetch(`${h.emulator.url}/__emulator/tokens/expire`, { method: 'POST' });
    expect((await h.api(token, 'GET', '/calendars/primary')).status).toBe(401);
  });

  it('gives 403 insufficientPermissions when the scope does not cover the operation', async () => {
    const noCalendar = await h.token('s1@example.com', []);
    const refused = await h.api(noCalendar, 'GET', '/calendars/primary/events');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 403,
      message: 'Insufficient Permission',
      errors: [{ domain: 'global', reason: 'insufficientPermissions', message: 'Insufficient Permission' }],
    });

    const readonly = await h.token('s2@example.com', [SCOPE.readonly]);
    expect((await h.api(readonly, 'GET', '/calendars/primary/events')).status).toBe(200);
    expect((await h.api(readonly, 'GET', '/users/me/calendarList')).status).toBe(200);
    const write = await h.api(readonly, 'POST', '/calendars/primary/events', {
      body: timed('x', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z'),
    });
    expect(write.body.error.errors[0].reason).toBe('insufficientPermissions');

    const events = await h.token('s3@example.com', [SCOPE.events]);
    expect(
      (
        await h.api(events, 'POST', '/calendars/primary/events', {
          body: timed('x', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z'),
        })
      ).status,
    ).toBe(200);
    expect((await h.api(events, 'GET', '/users/me/calendarList')).status).toBe(403);
  });

  it('answers unknown calendar paths with 404 in Google envelope', async () => {
    const token = await h.token('p@example.com');
    const answer = await h.api(token, 'GET', '/nothing/here');
    expect(answer.status).toBe(404);
    expect(answer.body.error.errors[0].reason).toBe('notFound');
  });
});
