import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar, timed } from './calendar-helpers.js';

let h: CalendarHarness;
let token: string;
beforeAll(async () => {
  h = await startCalendar();
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});
const events = '/calendars/primary/events';
const setUp = async () => {
  token = await h.token('cal@example.com');
};

describe('events insert and get', () => {
  it('inserts a timed event with a client id and gives it back as Google does', async () => {
    await setUp();
    const inserted = await h.api(token, 'POST', events, {
      query: { sendUpdates: 'none' },
      body: timed('Kick-off', '2030-03-04T09:00:00+01:00', '2030-03-04T10:30:00+01:00', {
        id: 'abcdef0123456789',
        location: 'Room 1',
        description: 'Agenda',
        visibility: 'private',
        attendees: [{ email: 'Guest@Example.com' }, { email: 'cal@example.com', responseStatus: 'accepted' }],
        extendedProperties: { private: { tryton: '42' } },
        kind: 'ignored',
        etag: 'ignored',
      }),
    });
    expect(inserted.status).toBe(200);
    const event = inserted.body;
    expect(event).toMatchObject({
      kind: 'calendar#event',
      id: 'abcdef0123456789',
      status: 'confirmed',
      summary: 'Kick-off',
      location: 'Room 1',
      visibility: 'private',
      iCalUID: 'abcdef0123456789@google.com',
      sequence: 0,
      start: { dateTime: '2030-03-04T08:00:00Z' },
      end: { dateTime: '2030-03-04T09:30:00Z' },
      organizer: { email: 'cal@example.com', self: true },
      creator: { email: 'cal@example.com', self: true },
      extendedProperties: { private: { tryton: '42' } },
      attendees: [
        { email: 'guest@example.com', responseStatus: 'needsAction' },
        { email: 'cal@example.com', responseStatus: 'accepted', organizer: true, self: true },
      ],
    });
    expect(event.etag).toMatch(/^"\d+"$/);
    expect(event.htmlLink).toMatch(/^https:\/\/www\.google\.com\/calendar\/event\?eid=/);
    expect(event.created).toBe(event.updated);
    expect(event.updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const got = await h.api(token, 'GET', `${events}/abcdef0123456789`);
    expect(got.body).toEqual(event);
    const inParis = await h.api(token, 'GET', `${events}/abcdef0123456789`, {
      query: { timeZone: 'Europe/Paris' },
    });
    expect(inParis.body.start).toEqual({ dateTime: '2030-03-04T09:00:00+01:00' });
  });

  it('generates base32hex ids, refuses bad ids with 400 and duplicates with 409', async () => {
    await setUp();
    const generated = await h.api(token, 'POST', events, {
      body: timed('x', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z'),
    });
    expect(generated.body.id).toMatch(/^[a-v0-9]{26}$/);
    for (const id of ['abcd', 'ABCDEF', 'abcdwxyz', 'abc_def', 'a'.repeat(1025)]) {
      const bad = await h.api(token, 'POST', events, {
        body: timed('x', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z', { id }),
      });
      expect(bad.status).toBe(400);
      expect(bad.body.error.errors[0]).toMatchObject({
        domain: 'global',
        reason: 'invalid',
        message: 'Invalid resource id value.',
      });
    }
    const body = timed('x', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z', { id: 'v'.repeat(1024) });
    expect((await h.api(token, 'POST', events, { body })).status).toBe(200);
    const duplicate = await h.api(token, 'POST', events, { body });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toEqual({
      error: {
        errors: [
          { domain: 'global', reason: 'duplicate', message: 'The requested identifier already exists.' },
        ],
        code: 409,
        message: 'The requested identifier already exists.',
      },
    });
    await h.api(token, 'DELETE', `${events}/${'v'.repeat(1024)}`);
    expect((await h.api(token, 'POST', events, { body })).status).toBe(409);
  });

  it('keeps all-day events as dates with an exclusive end', async () => {
    await setUp();
    const inserted = await h.api(token, 'POST', events, {
      body: { summary: 'Holiday', start: { date: '2030-07-01' }, end: { date: '2030-07-03' } },
    });
    expect(inserted.body.start).toEqual({ date: '2030-07-01' });
    expect(inserted.body.end).toEqual({ date: '2030-07-03' });
    const empty = await h.api(token, 'POST', events, {
      body: { summary: 'x', start: { date: '2030-07-01' }, end: { date: '2030-07-01' } },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.error.errors[0].reason).toBe('timeRangeEmpty');
  });

  it('validates start and end, time zones and recurrence', async () => {
    await setUp();
    const post = (body: unknown) => h.api(token, 'POST', events, { body });
    const missing = await post({ summary: 'x', start: { dateTime: '2030-01-01T10:00:00Z' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.errors[0]).toMatchObject({ reason: 'required', message: 'Missing end time.' });
    const mixed = await post({ start: { date: '2030-01-01' }, end: { dateTime: '2030-01-01T10:00:00Z' } });
    expect(mixed.body.error.message).toBe(
      'Start and end times must either both be date or both be dateTime.',
    );
    const backwards = await post(timed('x', '2030-01-01T10:00:00Z', '2030-01-01T09:00:00Z'));
    expect(backwards.body.error.errors[0].reason).toBe('timeRangeEmpty');
    const noOffset = await post(timed('x', '2030-01-01T10:00:00', '2030-01-01T11:00:00'));
    expect(noOffset.status).toBe(400);
    const local = await post({
      start: { dateTime: '2030-01-01T10:00:00', timeZone: 'America/New_York' },
      end: { dateTime: '2030-01-01T11:00:00', timeZone: 'America/New_York' },
    });
    expect(local.body.start).toEqual({ dateTime: '2030-01-01T15:00:00Z', timeZone: 'America/New_York' });
    const badZone = await post({
      start: { dateTime: '2030-01-01T10:00:00Z', timeZone: 'Mars/Olympus' },
      end: { dateTime: '2030-01-01T11:00:00Z' },
    });
    expect(badZone.status).toBe(400);
    const recurringWithoutZone = await post(
      timed('x', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z', { recurrence: ['RRULE:FREQ=DAILY'] }),
    );
    expect(recurringWithoutZone.status).toBe(400);
    expect(recurringWithoutZone.body.error.errors[0]).toMatchObject({
      reason: 'required',
      message: 'Missing time zone definition for start time.',
    });
    const hourly = await post({
      start: { dateTime: '2030-01-01T10:00:00Z', timeZone: 'UTC' },
      end: { dateTime: '2030-01-01T11:00:00Z', timeZone: 'UTC' },
      recurrence: ['RRULE:FREQ=HOURLY'],
    });
    expect(hourly.status).toBe(400);
    const malformed = await h.api(token, 'POST', events, {
      body: undefined,
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
  });

  it('answers 404 for an unknown event, 410 deleted for deleting it twice, and shows the deleted one as cancelled', async () => {
    await setUp();
    expect((await h.api(token, 'GET', `${events}/nosuchevent`)).status).toBe(404);
    const { body } = await h.api(token, 'POST', events, {
      body: timed('x', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z'),
    });
    const deleted = await h.api(token, 'DELETE', `${events}/${body.id}`);
    expect(deleted.status).toBe(204);
    const got = await h.api(token, 'GET', `${events}/${body.id}`);
    expect(got.body).toMatchObject({ id: body.id, status: 'cancelled', sequence: 1 });
    const again = await h.api(token, 'DELETE', `${events}/${body.id}`);
    expect(again.status).toBe(410);
    expect(again.body.error.errors[0]).toEqual({
      domain: 'global',
      reason: 'deleted',
      message: 'Resource has been deleted',
    });
  });
});

describe('events update, patch and If-Match', () => {
  it('changes the etag and updated on every modification, bumps sequence on time changes', async () => {
    await setUp();
    const first = (
      await h.api(token, 'POST', events, { body: timed('A', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z') })
    ).body;
    const renamed = (await h.api(token, 'PATCH', `${events}/${first.id}`, { body: { summary: 'B' } })).body;
    expect(renamed.etag).not.toBe(first.etag);
    expect(renamed.sequence).toBe(0);
    expect(renamed.start).toEqual(first.start);
    expect(renamed.created).toBe(first.created);
    expect(Date.parse(renamed.updated)).toBeGreaterThanOrEqual(Date.parse(first.updated));
    const same = (await h.api(token, 'PATCH', `${events}/${first.id}`, { body: {} })).body;
    expect(same.etag).not.toBe(renamed.etag);
    const moved = (
      await h.api(token, 'PATCH', `${events}/${first.id}`, {
        body: { start: { dateTime: '2030-01-01T09:00:00Z' } },
      })
    ).body;
    expect(moved.sequence).toBe(1);
    expect(moved.summary).toBe('B');
    const replaced = await h.api(token, 'PUT', `${events}/${first.id}`, {
      body: { start: { date: '2030-01-02' }, end: { date: '2030-01-03' } },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.summary).toBeUndefined();
    expect(replaced.body.start).toEqual({ date: '2030-01-02' });
    expect(replaced.body.iCalUID).toBe(first.iCalUID);
    const cleared = await h.api(token, 'PATCH', `${events}/${first.id}`, {
      body: { summary: 'C', location: 'L' },
    });
    const nulled = await h.api(token, 'PATCH', `${events}/${first.id}`, { body: { location: null } });
    expect(cleared.body.location).toBe('L');
    expect(nulled.body.location).toBeUndefined();
    expect(nulled.body.summary).toBe('C');
  });

  it('answers 412 conditionNotMet to a stale If-Match and accepts the current one', async () => {
    await setUp();
    const created = (
      await h.api(token, 'POST', events, { body: timed('A', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z') })
    ).body;
    const changed = (await h.api(token, 'PATCH', `${events}/${created.id}`, { body: { summary: 'B' } })).body;
    const stale = await h.api(token, 'PATCH', `${events}/${created.id}`, {
      body: { summary: 'C' },
      headers: { 'if-match': created.etag },
    });
    expect(stale.status).toBe(412);
    expect(stale.body).toEqual({
      error: {
        errors: [
          {
            domain: 'global',
            reason: 'conditionNotMet',
            message: 'Precondition Failed',
            locationType: 'header',
            location: 'If-Match',
          },
        ],
        code: 412,
        message: 'Precondition Failed',
      },
    });
    expect(
      (
        await h.api(token, 'PUT', `${events}/${created.id}`, {
          body: { ...changed, summary: 'C' },
          headers: { 'if-match': created.etag },
        })
      ).status,
    ).toBe(412);
    expect(
      (await h.api(token, 'DELETE', `${events}/${created.id}`, { headers: { 'if-match': created.etag } }))
        .status,
    ).toBe(412);
    const fresh = await h.api(token, 'PUT', `${events}/${created.id}`, {
      body: { ...changed, summary: 'C' },
      headers: { 'if-match': changed.etag },
    });
    expect(fresh.status).toBe(200);
    expect(fresh.body.summary).toBe('C');
    const notModified = await h.api(token, 'GET', `${events}/${created.id}`, {
      headers: { 'if-none-match': fresh.body.etag },
    });
    expect(notModified.status).toBe(304);
  });

  it('records the invitation e-mails sendUpdates would send', async () => {
    await setUp();
    const body = timed('Meet', '2030-01-01T10:00:00Z', '2030-01-01T11:00:00Z', {
      attendees: [{ email: 'in@example.com' }, { email: 'out@other.org' }],
    });
    const created = (await h.api(token, 'POST', events, { body, query: { sendUpdates: 'all' } })).body;
    await h.api(token, 'PATCH', `${events}/${created.id}`, {
      body: { summary: 'x' },
      query: { sendUpdates: 'externalOnly' },
    });
    await h.api(token, 'PATCH', `${events}/${created.id}`, { body: { summary: 'y' } });
    await h.api(token, 'DELETE', `${events}/${created.id}`, { query: { sendUpdates: 'none' } });
    const sent = (await h.control('GET', '/sent-updates')).body.items;
    expect(sent.map((item: any) => [item.action, item.recipients])).toEqual([
      ['created', ['in@example.com', 'out@other.org']],
      ['updated', ['out@other.org']],
    ]);
    expect(
      (await h.api(token, 'DELETE', `${events}/${created.id}`, { query: { sendUpdates: 'bogus' } })).status,
    ).toBe(400);
  });
});
