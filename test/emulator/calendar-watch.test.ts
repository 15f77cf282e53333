/**
 * Push notifications, the API side: events.watch, calendarList.watch and channels.stop answer as Google
 * does, and each channel is sent `sync`, then `exists` on every change of what it watches (`not_exists`
 * when its calendar leaves the list), with Google's headers, to a local receiver; nothing after expiry,
 * stop or loss; channels survive a restart with the state file.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calendar as calendarClient } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CalendarHarness, SCOPE, startCalendar, timed } from './calendar-helpers.js';
import { controlCall, goog, numberOf, type Receiver, startReceiver, stateOf } from './push-receiver.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EMAIL = 'watcher@example.com';
const OTHER = 'owner@example.com';

let h: CalendarHarness;
let receiver: Receiver;
let token: string;

beforeEach(async () => {
  h = await startCalendar({ now: () => T0 });
  receiver = await startReceiver();
  token = await h.token(EMAIL);
});
afterEach(async () => {
  await h.close();
  await receiver.close();
});

const control = (method: string, path: string, body?: unknown) =>
  controlCall(h.emulator.url, method, path, body);
const settled = () => h.emulator.state.push.delivery.settled();
const channel = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'web_hook',
  address: `${receiver.url}/hook`,
  ...extra,
});
const watchEvents = (calendarId: string, body: unknown, as = token) =>
  h.api(as, 'POST', `/calendars/${encodeURIComponent(calendarId)}/events/watch`, { body });
const watchList = (body: unknown, as = token) => h.api(as, 'POST', '/users/me/calendarList/watch', { body });
const stop = (body: unknown, as = token) => h.api(as, 'POST', '/channels/stop', { body });
const insert = (calendarId: string, summary: string, extra: Record<string, unknown> = {}) =>
  h.api(token, 'POST', `/calendars/${encodeURIComponent(calendarId)}/events`, {
    body: timed(summary, '2026-03-03T10:00:00Z', '2026-03-03T11:00:00Z', extra),
  });

/** Nothing is on its way and nothing more arrived. */
async function expectQuiet(): Promise<void> {
  await settled();
  expect(receiver.unread).toBe(0);
}

describe('events.watch', () => {
  it("answers Google's Channel and sends the sync message with Google's headers", async () => {
    const answer = await watchEvents('primary', channel('chan-1', { token: 'target=primary' }));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      kind: 'api#channel',
      id: 'chan-1',
      resourceId: expect.stringMatching(/^[A-Za-z0-9_-]{27}$/),
      resourceUri: `${h.emulator.url}/calendar/v3/calendars/${EMAIL}/events`,
      token: 'target=primary',
      expiration: String(T0 + 7 * DAY),
    });

    const sync = await receiver.next();
    expect(sync.method).toBe('POST');
    expect(sync.path).toBe('/hook');
    expect(sync.body).toBe('');
    expect(sync.headers['content-length']).toBe('0');
    expect(goog(sync)).toEqual({
      'x-goog-channel-id': 'chan-1',
      'x-goog-channel-token': 'target=primary',
      'x-goog-channel-expiration': 'Mon, 09 Mar 2026 09:00:00 GMT',
      'x-goog-resource-id': answer.body.resourceId,
      'x-goog-resource-uri': answer.body.resourceUri,
      'x-goog-resource-state': 'sync',
      'x-goog-message-number': '1',
    });

    // Without a token: no token in the answer, no X-Goog-Channel-Token header.
    const bare = await watchEvents(EMAIL, channel('chan-2'));
    expect(bare.body).not.toHaveProperty('token');
    const second = await receiver.next();
    expect(goog(second)).not.toHaveProperty('x-goog-channel-token');
    expect(goog(second)['x-goog-channel-id']).toBe('chan-2');
    // `primary` and the email name the same calendar: the same resource id.
    expect(bare.body.resourceId).toBe(answer.body.resourceId);
  });

  it('sends exists, with increasing numbers, on every event write by the API, the control API and the web page', async () => {
    await watchEvents('primary', channel('chan-events'));
    expect(stateOf(await receiver.next())).toBe('sync');
    const expectExists = async (number: number) => {
      const message = await receiver.next();
      expect([stateOf(message), numberOf(message)]).toEqual(['exists', number]);
    };

    const series = await insert('primary', 'Standup', {
      start: { dateTime: '2026-03-02T09:00:00', timeZone: 'Europe/Brussels' },
      end: { dateTime: '2026-03-02T09:15:00', timeZone: 'Europe/Brussels' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=4'],
    });
    expect(series.status).toBe(200);
    await expectExists(2);
    expect(
      (
        await h.api(token, 'PATCH', `/calendars/primary/events/${series.body.id}`, {
          body: { summary: 'Daily' },
        })
      ).status,
    ).toBe(200);
    await expectExists(3);
    const occurrence = `/calendars/${EMAIL}/events/${series.body.id}/occurrence`;
    const edited = await h.control('POST', occurrence, {
      originalStart: '2026-03-09T09:00:00+01:00',
      changes: { summary: 'Moved' },
    });
    expect(edited.status).toBe(200);
    await expectExists(4);
    expect(
      (await h.control('POST', occurrence, { originalStart: '2026-03-16T09:00:00+01:00', cancel: true }))
        .status,
    ).toBe(200);
    await expectExists(5);
    const instance = `${series.body.id}_20260323T080000Z`;
    expect((await h.api(token, 'DELETE', `/calendars/primary/events/${instance}`)).status).toBe(204);
    await expectExists(6);

    const form = new URLSearchParams({
      summary: 'From the page',
      start: '2026-03-04T10:00',
      end: '2026-03-04T11:00',
    });
    const page = await fetch(`${h.emulator.url}/ui/calendars/${encodeURIComponent(EMAIL)}/events`, {
      method: 'POST',
      body: form,
      redirect: 'manual',
    });
    expect(page.status).toBe(303);
    await expectExists(7);
    const byPerson = await h.control(
      'POST',
      `/calendars/${EMAIL}/events`,
      timed('By a person', '2026-03-05T10:00:00Z', '2026-03-05T11:00:00Z'),
    );
    expect(byPerson.status).toBe(201);
    await expectExists(8);
    // Deleting the series cancels its exceptions too: still one change, one message.
    expect((await h.api(token, 'DELETE', `/calendars/primary/events/${series.body.id}`)).status).toBe(204);
    await expectExists(9);

    // A write elsewhere (another calendar) is not this channel's business.
    const other = await h.control('POST', `/accounts/${EMAIL}/calendars`, { summary: 'Side' });
    const side = other.body.items.find((item: any) => item.summary === 'Side').id as string;
    expect((await insert(side, 'Elsewhere')).status).toBe(200);
    await expectQuiet();
    const listed = await control('GET', '/channels');
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id: 'chan-events', kind: 'events', calendarId: EMAIL, messageNumber: 9 }),
    ]);
  });

  it('gives channels on the same calendar the same resource id, and tells each of them', async () => {
    const first = await watchEvents('primary', channel('a', { address: `${receiver.url}/a` }));
    const second = await watchEvents('primary', channel('b', { address: `${receiver.url}/b` }));
    const created = await h.control('POST', `/accounts/${EMAIL}/calendars`, { summary: 'Team' });
    const team = created.body.items.find((item: any) => item.summary === 'Team').id as string;
    const third = await watchEvents(team, channel('c', { address: `${receiver.url}/c` }));
    expect(first.body.resourceId).toBe(second.body.resourceId);
    expect(third.body.resourceId).not.toBe(first.body.resourceId);
    expect(third.body.resourceUri).toBe(`${h.emulator.url}/calendar/v3/calendars/${team}/events`);
    await receiver.take(3);

    await insert('primary', 'For both');
    const told = await receiver.take(2);
    expect(told.map((message) => [message.path, stateOf(message), numberOf(message)]).sort()).toEqual([
      ['/a', 'exists', 2],
      ['/b', 'exists', 2],
    ]);
    await expectQuiet();
  });

  it('sends not_exists when the calendar leaves the account, then nothing more', async () => {
    const shared = await h.control('POST', `/accounts/${OTHER}/calendars`, { summary: 'Shared' });
    const calendarId = shared.body.items.find((item: any) => item.summary === 'Shared').id as string;
    await h.control('POST', `/calendars/${calendarId}/share`, { email: EMAIL, accessRole: 'writer' });
    const ownerToken = await h.token(OTHER);
    await watchEvents(calendarId, channel('mine', { address: `${receiver.url}/mine` }));
    await watchEvents(calendarId, channel('owners', { address: `${receiver.url}/owners` }), ownerToken);
    await receiver.take(2);

    // Taken off the watcher's list: its channel is told the resource no longer exists; the owner's is not.
    expect((await h.control('DELETE', `/accounts/${EMAIL}/calendars/${calendarId}`)).body).toEqual({
      removed: true,
    });
    const gone = await receiver.next();
    expect([gone.path, stateOf(gone), numberOf(gone)]).toEqual(['/mine', 'not_exists', 2]);
    await expectQuiet();

    // Further changes reach the owner's channel only.
    await h.control(
      'POST',
      `/calendars/${calendarId}/events`,
      timed('Later', '2026-03-06T10:00:00Z', '2026-03-06T11:00:00Z'),
    );
    const later = await receiver.next();
    expect([later.path, stateOf(later), numberOf(later)]).toEqual(['/owners', 'exists', 2]);
    await expectQuiet();
    const listed = await control('GET', '/channels');
    expect(listed.body.items.find((item: any) => item.id === 'mine')).toMatchObject({ resourceGone: true });

    // Deleting the calendar: the owner's channel gets not_exists too.
    expect((await h.api(ownerToken, 'DELETE', `/calendars/${encodeURIComponent(calendarId)}`)).status).toBe(
      204,
    );
    const deleted = await receiver.next();
    expect([deleted.path, stateOf(deleted), numberOf(deleted)]).toEqual(['/owners', 'not_exists', 3]);
    await expectQuiet();
  });

  it('honours an earlier expiration (string or number) or params.ttl, caps a later one at seven days', async () => {
    const asString = await watchEvents('primary', channel('s', { expiration: String(T0 + HOUR) }));
    expect(asString.body.expiration).toBe(String(T0 + HOUR));
    const asNumber = await watchEvents('primary', channel('n', { expiration: T0 + 2 * HOUR }));
    expect(asNumber.body.expiration).toBe(String(T0 + 2 * HOUR));
    const capped = await watchEvents('primary', channel('c', { expiration: String(T0 + 30 * DAY) }));
    expect(capped.body.expiration).toBe(String(T0 + 7 * DAY));
    const ttl = await watchEvents('primary', channel('t', { params: { ttl: '600' } }));
    expect(ttl.body.expiration).toBe(String(T0 + 600_000));
    const both = await watchEvents('primary', channel('b', { expiration: T0 + HOUR, params: { ttl: 60 } }));
    expect(both.body.expiration).toBe(String(T0 + 60_000));
    const [first] = await receiver.take(5);
    expect(first?.headers['x-goog-channel-expiration']).toBe('Mon, 02 Mar 2026 10:00:00 GMT');

    for (const expiration of [T0 - 1, T0, 'soon', -5, 1.5]) {
      const refused = await watchEvents('primary', channel('p', { expiration }));
      expect(refused.status).toBe(400);
      expect(refused.body.error.errors[0]).toMatchObject({ reason: 'invalid' });
    }
    expect((await watchEvents('primary', channel('p', { params: { ttl: 'x' } }))).status).toBe(400);
  });

  it("refuses what Google refuses, in Google's envelope", async () => {
    const reasonOf = async (body: unknown) => {
      const answer = await watchEvents('primary', body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe(400);
      return answer.body.error.errors[0].reason as string;
    };
    expect(await reasonOf({ type: 'web_hook', address: receiver.url })).toBe('required');
    expect(await reasonOf(undefined)).toBe('required');
    expect(await reasonOf(channel('x'.repeat(65)))).toBe('invalid');
    expect(await reasonOf(channel('has space'))).toBe('invalid');
    expect(await reasonOf(channel('semi;colon'))).toBe('invalid');
    expect(await reasonOf(channel('ok', { type: 'email' }))).toBe('push.channelTypeNotSupported');
    expect(await reasonOf(channel('ok', { type: undefined }))).toBe('required');
    expect(await reasonOf(channel('ok', { address: undefined }))).toBe('required');
    expect(await reasonOf(channel('ok', { address: '/relative/hook' }))).toBe(
      'push.webhookUrlNoHostOrAddress',
    );
    expect(await reasonOf(channel('ok', { address: 'ftp://127.0.0.1/hook' }))).toBe(
      'push.webhookUrlNotHttps',
    );
    expect(await reasonOf(channel('ok', { token: 'x'.repeat(257) }))).toBe('invalid');
    expect(await reasonOf(channel('ok', { token: 'line\nbreak' }))).toBe('invalid');

    // Every allowed character, 64 of them; `webhook` is taken as Google takes it.
    const longest = `${'Aa0_-+/='.repeat(8)}`;
    expect((await watchEvents('primary', channel(longest))).status).toBe(200);
    expect((await watchEvents('primary', channel('alt', { type: 'webhook' }))).status).toBe(200);

    const duplicate = await watchEvents('primary', channel(longest));
    expect(duplicate.status).toBe(400);
    expect(duplicate.body.error.errors[0]).toEqual({
      domain: 'global',
      reason: 'channelIdNotUnique',
      message: `Channel id ${longest} not unique`,
    });
    // A calendarList channel shares the id space.
    expect((await watchList(channel(longest))).body.error.errors[0].reason).toBe('channelIdNotUnique');
    // No channel was made by the refused calls: two syncs only.
    await receiver.take(2);
    await expectQuiet();
    expect((await control('GET', '/channels')).body.items.map((item: any) => item.id)).toEqual([
      longest,
      'alt',
    ]);

    expect((await watchEvents('nobody@group.calendar.google.com', channel('z'))).status).toBe(404);
  });
});

describe('channels.stop', () => {
  it('answers 204, then the channel sends nothing; unknown or mismatched channels answer 404', async () => {
    const made = await watchEvents('primary', channel('to-stop'));
    await receiver.next();
    const { resourceId } = made.body;

    const wrong = await stop({ id: 'to-stop', resourceId: 'not-its-resource' });
    expect(wrong.status).toBe(404);
    expect(wrong.body.error.errors[0]).toMatchObject({ domain: 'global', reason: 'notFound' });
    expect((await stop({ id: 'never-made', resourceId })).status).toBe(404);
    expect((await stop({ id: 'to-stop' })).status).toBe(400);

    const stopped = await stop({ id: 'to-stop', resourceId });
    expect(stopped.status).toBe(204);
    expect(stopped.body).toBeUndefined();
    await insert('primary', 'After the stop');
    await expectQuiet();
    expect((await control('GET', '/channels')).body.items).toEqual([
      expect.objectContaining({ id: 'to-stop', stopped: true, messageNumber: 1 }),
    ]);

    // Stopped is stopped: a second stop is 404, and the id may be used again.
    expect((await stop({ id: 'to-stop', resourceId })).status).toBe(404);
    expect((await watchEvents('primary', channel('to-stop'))).status).toBe(200);
    expect(numberOf(await receiver.next())).toBe(1);
  });

  it('only stops channels of the OAuth client that made them', async () => {
    const made = await watchEvents('primary', channel('mine'));
    await receiver.next();
    await control('POST', '/clients', {
      client_id: 'other-client',
      client_secret: 'other-secret',
      redirect_uris: ['http://127.0.0.1:9/cb'],
    });
    const stranger = h.emulator.state.issueAccessToken({
      clientId: 'other-client',
      email: EMAIL,
      scopes: [SCOPE.calendar],
      origin: 'test',
    });
    expect((await stop({ id: 'mine', resourceId: made.body.resourceId }, stranger.token)).status).toBe(404);
    expect((await stop({ id: 'mine', resourceId: made.body.resourceId })).status).toBe(204);
  });
});

describe('calendarList.watch', () => {
  it("sends exists when an entry of the caller's list is added, changed or removed", async () => {
    const answer = await watchList(channel('list', { token: 'list' }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      kind: 'api#channel',
      id: 'list',
      resourceUri: `${h.emulator.url}/calendar/v3/users/me/calendarList`,
      expiration: String(T0 + 7 * DAY),
    });
    const events = await watchEvents('primary', channel('events'));
    expect(events.body.resourceId).not.toBe(answer.body.resourceId);
    await receiver.take(2);
    const nextOfList = async () => {
      const message = await receiver.next();
      expect(message.headers['x-goog-channel-id']).toBe('list');
      expect(message.headers['x-goog-resource-id']).toBe(answer.body.resourceId);
      return [stateOf(message), numberOf(message)];
    };

    const created = await h.control('POST', `/accounts/${EMAIL}/calendars`, { summary: 'Added' });
    const added = created.body.items.find((item: any) => item.summary === 'Added').id as string;
    expect(await nextOfList()).toEqual(['exists', 2]);
    const elsewhere = await h.control('POST', `/accounts/${OTHER}/calendars`, { summary: "Owner's" });
    const owners = elsewhere.body.items.find((item: any) => item.summary === "Owner's").id as string;
    await expectQuiet();
    await h.control('POST', `/calendars/${owners}/share`, { email: EMAIL, accessRole: 'reader' });
    expect(await nextOfList()).toEqual(['exists', 3]);
    await h.control('PATCH', `/calendars/${added}`, { summary: 'Renamed' });
    expect(await nextOfList()).toEqual(['exists', 4]);
    await h.control('DELETE', `/accounts/${EMAIL}/calendars/${owners}`);
    expect(await nextOfList()).toEqual(['exists', 5]);
    const inserted = await h.api(token, 'POST', '/calendars', { body: { summary: 'By the API' } });
    expect(await nextOfList()).toEqual(['exists', 6]);
    expect((await h.api(token, 'DELETE', `/calendars/${encodeURIComponent(inserted.body.id)}`)).status).toBe(
      204,
    );
    expect(await nextOfList()).toEqual(['exists', 7]);
    await expectQuiet();

    // An event change is the events channel's, not the list's.
    await insert('primary', 'Event');
    const message = await receiver.next();
    expect([message.headers['x-goog-channel-id'], stateOf(message), numberOf(message)]).toEqual([
      'events',
      'exists',
      2,
    ]);
    await expectQuiet();
    expect((await control('GET', '/channels')).body.items[0]).toEqual({
      id: 'list',
      kind: 'calendarList',
      account: EMAIL,
      clientId: expect.any(String),
      address: `${receiver.url}/hook`,
      token: 'list',
      resourceId: answer.body.resourceId,
      resourceUri: answer.body.resourceUri,
      expiration: new Date(T0 + 7 * DAY).toISOString(),
      created: new Date(T0).toISOString(),
      messageNumber: 7,
    });
  });
});

describe('expiry and loss', () => {
  it('sends nothing after the expiration on the emulator clock, and forgets the channel', async () => {
    const made = await watchEvents('primary', channel('short', { expiration: T0 + HOUR }));
    await watchEvents('primary', channel('long'));
    await receiver.take(2);
    expect((await control('POST', '/clock', { advance_ms: HOUR })).status).toBe(200);

    await h.control(
      'POST',
      `/calendars/${EMAIL}/events`,
      timed('Late', '2026-03-06T10:00:00Z', '2026-03-06T11:00:00Z'),
    );
    const only = await receiver.next();
    expect(only.headers['x-goog-channel-id']).toBe('long');
    await expectQuiet();
    expect((await control('GET', '/channels')).body.items.map((item: any) => item.id)).toEqual(['long']);
    const fresh = await h.token(EMAIL);
    expect((await stop({ id: 'short', resourceId: made.body.resourceId }, fresh)).status).toBe(404);
    // Its id is free again.
    expect((await watchEvents('primary', channel('short'), fresh)).status).toBe(200);
  });

  it('expires a channel on demand through the control API', async () => {
    await watchEvents('primary', channel('doomed'));
    await receiver.next();
    expect(await control('POST', '/channels/doomed/expire')).toEqual({
      status: 200,
      body: { id: 'doomed', expired: true },
    });
    expect((await control('POST', '/channels/doomed/expire')).status).toBe(404);
    await insert('primary', 'Unseen');
    await expectQuiet();
    expect((await control('GET', '/channels')).body.items).toEqual([]);
  });

  it('loses a channel: it still exists for the API but never sends again', async () => {
    const made = await watchEvents('primary', channel('lost'));
    await receiver.next();
    const lost = await control('POST', '/channels/lost/lose');
    expect(lost.status).toBe(200);
    expect(lost.body).toMatchObject({ id: 'lost', lost: true });
    expect((await control('POST', '/channels/nope/lose')).status).toBe(404);

    await insert('primary', 'Into the void');
    await insert('primary', 'Again');
    await expectQuiet();
    const log = await control('GET', '/notifications?channelId=lost');
    expect(log.body.items.map((item: any) => [item.messageNumber, item.outcome, item.error])).toEqual([
      [1, 'delivered', undefined],
      [2, 'dropped', 'lost'],
      [3, 'dropped', 'lost'],
    ]);
    // Google still knows it: the id is taken and stop works.
    expect((await watchEvents('primary', channel('lost'))).status).toBe(400);
    expect((await stop({ id: 'lost', resourceId: made.body.resourceId })).status).toBe(204);
  });
});

describe('the API surface around channels', () => {
  it('applies scopes, counts the calls and takes injected failures like other calendar calls', async () => {
    const readonly = await h.token('reader@example.com', [SCOPE.readonly]);
    expect((await watchEvents('primary', channel('ro'), readonly)).status).toBe(200);
    expect((await watchList(channel('ro-list'), readonly)).status).toBe(200);
    const eventsOnly = await h.token('events@example.com', [SCOPE.events]);
    const refused = await watchList(channel('no-list'), eventsOnly);
    expect(refused.status).toBe(403);
    expect(refused.body.error.errors[0].reason).toBe('insufficientPermissions');
    expect(
      (await h.api(undefined, 'POST', '/calendars/primary/events/watch', { body: channel('anonymous') }))
        .status,
    ).toBe(401);

    expect((await control('POST', '/failures', { endpoint: 'calendar', status: 503, count: 1 })).status).toBe(
      200,
    );
    const failed = await watchEvents('primary', channel('failed'));
    expect(failed.status).toBe(503);
    const list = await control('GET', '/channels');
    expect(list.body.items.map((item: any) => item.id)).toEqual(['ro', 'ro-list']);
    expect((await stop({ id: 'ro', resourceId: list.body.items[0].resourceId }, readonly)).status).toBe(204);

    const stats = await control('GET', '/stats');
    expect(stats.body.calendar).toMatchObject({
      'events.watch': 3,
      'calendarList.watch': 2,
      'channels.stop': 1,
    });
    await receiver.take(2);
  });

  it('works with the official @googleapis/calendar client', async () => {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: token });
    const api = calendarClient({ version: 'v3', rootUrl: `${h.emulator.url}/`, auth });
    const events = await api.events.watch({
      calendarId: 'primary',
      requestBody: { id: 'client-1', type: 'web_hook', address: `${receiver.url}/hook`, token: 't' },
    });
    expect(events.data).toMatchObject({ kind: 'api#channel', id: 'client-1', token: 't' });
    const list = await api.calendarList.watch({
      requestBody: { id: 'client-2', type: 'web_hook', address: `${receiver.url}/hook` },
    });
    expect(list.data.resourceUri).toBe(`${h.emulator.url}/calendar/v3/users/me/calendarList`);
    await receiver.take(2);
    const stopped = await api.channels.stop({
      requestBody: { id: 'client-1', resourceId: events.data.resourceId ?? '' },
    });
    expect(stopped.status).toBe(204);
    await expect(
      api.channels.stop({ requestBody: { id: 'client-1', resourceId: events.data.resourceId ?? '' } }),
    ).rejects.toMatchObject({ status: 404 });
  });
});

describe('channels in the state file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-channels-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps channels (number, expiry, stop) across a restart; files without channels still load', async () => {
    const path = join(dir, 'state.json');
    const first = await startCalendar({ now: () => T0, statePath: path, stateSaveDelayMs: 10 });
    const firstToken = await first.token(EMAIL);
    const made = await first.api(firstToken, 'POST', '/calendars/primary/events/watch', {
      body: channel('kept', { token: 'keep' }),
    });
    expect(made.status).toBe(200);
    await first.api(firstToken, 'POST', '/calendars/primary/events', {
      body: timed('Before', '2026-03-03T10:00:00Z', '2026-03-03T11:00:00Z'),
    });
    await receiver.take(2);
    await first.close();
    const saved = JSON.parse(await readFile(path, 'utf8'));
    expect(saved.channels).toEqual([
      expect.objectContaining({ id: 'kept', kind: 'events', messageNumber: 2, expiration: T0 + 7 * DAY }),
    ]);

    const second = await startCalendar({ now: () => T0, statePath: path, stateSaveDelayMs: 10 });
    try {
      const listed = await controlCall(second.emulator.url, 'GET', '/channels');
      expect(listed.body.items).toEqual([
        expect.objectContaining({
          id: 'kept',
          messageNumber: 2,
          resourceId: made.body.resourceId,
          token: 'keep',
        }),
      ]);
      await second.control(
        'POST',
        `/calendars/${EMAIL}/events`,
        timed('After', '2026-03-04T10:00:00Z', '2026-03-04T11:00:00Z'),
      );
      const after = await receiver.next();
      expect(goog(after)).toMatchObject({
        'x-goog-channel-id': 'kept',
        'x-goog-channel-token': 'keep',
        'x-goog-resource-id': made.body.resourceId,
        'x-goog-resource-state': 'exists',
        'x-goog-message-number': '3',
      });
      const stopped = await second.api(firstToken, 'POST', '/channels/stop', {
        body: { id: 'kept', resourceId: made.body.resourceId },
      });
      expect(stopped.status).toBe(204);
    } finally {
      await second.close();
    }

    // A file written before channels existed.
    delete saved.channels;
    await writeFile(path, JSON.stringify(saved));
    const third = await startCalendar({ now: () => T0, statePath: path });
    try {
      expect((await controlCall(third.emulator.url, 'GET', '/channels')).body.items).toEqual([]);
    } finally {
      await third.close();
    }
  });
});
