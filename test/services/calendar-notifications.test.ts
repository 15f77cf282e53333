/**
 * Google's push notifications end to end (docs/contracts.md, "Push notifications"): the sidecar on a
 * fixed port its channels call back, the emulator sending Google's messages. A change at Google reaches
 * Tryton through a notification while the calendar is no longer polled; a burst makes one more round,
 * not one per message; forged, replayed, late, expired and malformed notifications change nothing and
 * are counted; a lost channel is found by a pull and replaced; a channel close to expiry is renewed
 * once with two replicas running; channels are stopped when a calendar is switched off or removed at
 * Google; a calendar added at Google reaches Tryton through the calendarList channel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ChannelTokens } from '../../src/oauth/channel-token.js';
import { emulatorControl } from '../support/emulator-client.js';
import type { SidecarProcess } from '../support/processes.js';
import { startNotifiedStack } from '../support/notified-stack.js';
import type { Stack } from '../support/stack.js';
import { freePort } from '../support/trytond.js';
import { until } from '../support/wait.js';

const EMAIL = 'notified.owner@example.com';
const ACCOUNT = encodeURIComponent(EMAIL);
const CHANNELS = 'google_integration_sidecar.watch_channel';
const JOBS = 'google_integration_jobs._private_jobs';
const WAIT = { timeoutMs: 30_000 };

let stack: Stack;
let credentialId: number;
let publicUrl: string;
let tokens: ChannelTokens;
let calendars = 0;

beforeAll(async () => {
  ({ stack, credentialId, publicUrl } = await startNotifiedStack(EMAIL));
  tokens = new ChannelTokens(loadConfig(stack.env).encryptionKeys);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

const control = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(path, method, body);

interface ChannelRow {
  channel_id: string;
  resource_id: string;
  last_message: string;
  confirmed: boolean;
  lost: boolean;
}

/** A calendar of its own, enabled in Tryton, watched (its channel confirmed) and pulled once. */
async function watchedCalendar() {
  calendars++;
  const google = `notified-${calendars}@group.calendar.google.com`;
  await control(`/calendar/accounts/${ACCOUNT}/calendars`, 'POST', {
    id: google,
    summary: `Notified ${calendars}`,
    timeZone: 'Europe/Paris',
  });
  const listed = await stack.rpc('calendar.list_calendars', { credential_id: credentialId });
  const id = listed.result.calendars.find((cal: { google_id: string }) => cal.google_id === google)
    .id as number;
  await stack.db('google_integration_calendar').where({ id }).update({ sync_enabled: true });
  // Watched, and pulled whole once (an empty calendar's first pull writes no last_sync).
  const seen = async () => ({
    status: (await calendarRow(id)).channel_status,
    token: (
      await stack
        .db('google_integration_sidecar.calendar_sync')
        .where({ calendar_id: id })
        .first('sync_token')
    )?.sync_token,
  });
  await until(seen, (now) => now.status === 'active' && typeof now.token === 'string', {
    ...WAIT,
    what: `calendar ${id} watched and pulled`,
  });
  await quiet(id);
  return { id, google, events: `/calendar/calendars/${encodeURIComponent(google)}/events` };
}

const calendarRow = (id: number) =>
  stack
    .db('google_integration_calendar')
    .where({ id })
    .first('channel_status', 'channel_expires', 'last_sync', 'write_date', 'active');

/** The calendar's current channel (the newest). */
async function channelOf(calendarId: number): Promise<ChannelRow> {
  const row = await stack
    .db(CHANNELS)
    .where({ kind: 'events', target: calendarId })
    .orderBy('created_at', 'desc')
    .first<ChannelRow | undefined>('channel_id', 'resource_id', 'last_message', 'confirmed', 'lost');
  if (!row) throw new Error(`calendar ${calendarId} has no channel`);
  return row;
}

/** No round of the calendar queued or running, and the emulator has nothing on its way. */
async function quiet(calendarId: number): Promise<void> {
  await stack.emulator.state.push.delivery.settled();
  await until(
    () =>
      stack
        .db(JOBS)
        .where({ key: `sync_calendar:${calendarId}` })
        .count<{ n: string }[]>({ n: '*' }),
    (rows) => Number(rows[0]?.n) === 0,
    { ...WAIT, what: `no round of calendar ${calendarId} queued` },
  );
}

const listCalls = async () => ((await control('/stats', 'GET')).calendar['events.list'] ?? 0) as number;

async function summaries(calendarId: number): Promise<string[]> {
  const rows = await stack
    .db('google_integration_event as e')
    .join('google_integration_event_detail as d', 'd.event', 'e.id')
    .where('e.calendar', calendarId)
    .orderBy('d.summary')
    .select('d.summary');
  return rows.map((row) => row.summary as string);
}

/** Waits until Tryton holds an event of that summary in the calendar. */
async function arrives(calendarId: number, summary: string): Promise<void> {
  await until(
    () => summaries(calendarId),
    (rows) => rows.includes(summary),
    {
      ...WAIT,
      what: `${summary} in Tryton`,
    },
  );
}

/** Waits until the sidecar no longer keeps the channel. */
async function forgotten(channelId: string, what: string): Promise<void> {
  await until(
    () => stack.db(CHANNELS).where({ channel_id: channelId }).first('channel_id'),
    (row) => row === undefined,
    { ...WAIT, what },
  );
}

/** Whether Google (the emulator) has the channel stopped; undefined when it has no such channel. */
async function stoppedAtGoogle(channelId: string): Promise<boolean | undefined> {
  const items = (await control('/channels', 'GET')).items as { id: string; stopped?: boolean }[];
  const found = items.find((item) => item.id === channelId);
  return found && found.stopped === true;
}

async function metric(name: string, label: string, sidecars: readonly SidecarProcess[] = [stack.sidecar]) {
  let total = 0;
  for (const sidecar of sidecars) {
    const text = await (await fetch(`${sidecar.url}/metrics`)).text();
    const line = text.split('\n').find((entry) => entry.startsWith(`${name}{${label}}`));
    total += line ? Number(line.split(' ').at(-1)) : 0;
  }
  return total;
}

/** A notification as Google sends it, straight to the sidecar's route. */
async function notify(headers: Record<string, string>): Promise<number> {
  const answer = await fetch(`${publicUrl}/google/notifications`, {
    method: 'POST',
    headers: { 'content-length': '0', ...headers },
  });
  return answer.status;
}

function headersOf(channel: ChannelRow, token: string, number: number, state = 'exists') {
  return {
    'x-goog-channel-id': channel.channel_id,
    'x-goog-channel-token': token,
    'x-goog-resource-id': channel.resource_id,
    'x-goog-resource-state': state,
    'x-goog-message-number': String(number),
    'x-goog-resource-uri': 'https://www.googleapis.com/calendar/v3/calendars/x/events',
  };
}

const event = (summary: string, day: number) => ({
  summary,
  start: { dateTime: `2026-12-${String(day).padStart(2, '0')}T09:00:00Z` },
  end: { dateTime: `2026-12-${String(day).padStart(2, '0')}T10:00:00Z` },
});

describe('a change at Google', () => {
  it('reaches Tryton through a notification, with one list call, while the calendar is not polled', async () => {
    const cal = await watchedCalendar();
    const channel = await channelOf(cal.id);
    const taken = await metric('tryton_google_notifications_total', 'outcome="taken"');
    const lists = await listCalls();
    const started = performance.now();
    await control(cal.events, 'POST', event('Told by Google', 3));
    await arrives(cal.id, 'Told by Google');
    const elapsed = performance.now() - started;
    await quiet(cal.id);
    // Polled only once a day now: what brought it is the notification, and its one round listed once.
    expect(await listCalls()).toBe(lists + 1);
    expect(await metric('tryton_google_notifications_total', 'outcome="taken"')).toBeGreaterThan(taken);
    expect(Number((await channelOf(cal.id)).last_message)).toBeGreaterThan(Number(channel.last_message));
    const delivered = (await control(`/notifications?channelId=${channel.channel_id}`, 'GET')).items;
    expect(delivered.map((item: { state: string; outcome: string }) => [item.state, item.outcome])).toEqual([
      ['sync', 'delivered'],
      ['exists', 'delivered'],
    ]);
    // Seconds, against a fallback poll a day away.
    expect(elapsed).toBeLessThan(20_000);
  });

  it('burst: 100 notifications while a round runs make one more round, not 100', async () => {
    const cal = await watchedCalendar();
    const channel = await channelOf(cal.id);
    const token = (await control('/channels', 'GET')).items.find(
      (item: { id: string }) => item.id === channel.channel_id,
    ).token as string;
    await control('/latency', 'POST', { ms: 1500, endpoint: 'calendar' });
    try {
      const lists = await listCalls();
      const first = Number(channel.last_message) + 1;
      const answers: number[] = [];
      for (let number = first; number < first + 100; number++)
        answers.push(await notify(headersOf(channel, token, number)));
      expect(new Set(answers)).toEqual(new Set([200]));
      await quiet(cal.id);
      const rounds = (await listCalls()) - lists;
      expect(rounds).toBeGreaterThanOrEqual(1);
      expect(rounds).toBeLessThanOrEqual(2);
      expect((await channelOf(cal.id)).last_message).toBe(String(first + 99));
    } finally {
      await control('/latency', 'POST', { ms: 0, endpoint: 'calendar' });
    }
  });
});

describe('notifications that must change nothing', () => {
  it('forged, replayed, late, for another channel, expired or malformed: answered, counted, nothing queued', async () => {
    const cal = await watchedCalendar();
    const channel = await channelOf(cal.id);
    const good = tokens.create(channel.channel_id, {
      database: stack.database,
      kind: 'events',
      target: cal.id,
    });
    const next = Number(channel.last_message) + 5;
    const before = {
      row: await calendarRow(cal.id),
      forged: await metric('tryton_google_notifications_total', 'outcome="forged"'),
      replayed: await metric('tryton_google_notifications_total', 'outcome="replayed"'),
      expired: await metric('tryton_google_notifications_total', 'outcome="expired"'),
      malformed: await metric('tryton_google_notifications_total', 'outcome="malformed"'),
      unknown: await metric('tryton_google_notifications_total', 'outcome="unknown"'),
      lists: await listCalls(),
    };
    const tampered = `${good.slice(0, -2)}${good.endsWith('AA') ? 'AB' : 'AA'}`;
    // Forged: a MAC that does not verify; a valid token moved to another calendar; another resource.
    expect(await notify(headersOf(channel, tampered, next))).toBe(403);
    const otherTarget = tokens.create(channel.channel_id, {
      database: stack.database,
      kind: 'events',
      target: cal.id + 1000,
    });
    expect(await notify(headersOf(channel, otherTarget, next))).toBe(403);
    expect(
      await notify({ ...headersOf(channel, good, next), 'x-goog-resource-id': 'another-resource' }),
    ).toBe(403);
    const otherChannel = { ...channel, channel_id: 'another-channel-id' };
    expect(await notify(headersOf(otherChannel, good, next))).toBe(403);
    // Replayed and late: numbers not above the highest taken.
    expect(await notify(headersOf(channel, good, Number(channel.last_message)))).toBe(200);
    expect(await notify(headersOf(channel, good, 1))).toBe(200);
    // A database this sidecar does not serve: unknown.
    const elsewhere = tokens.create(channel.channel_id, {
      database: 'no_such_db',
      kind: 'events',
      target: cal.id,
    });
    expect(await notify(headersOf(channel, elsewhere, next))).toBe(200);
    // Malformed: no token, a state Google never sends, a number that is not one.
    const { 'x-goog-channel-token': _dropped, ...tokenless } = headersOf(channel, good, next);
    expect(await notify(tokenless)).toBe(400);
    expect(await notify(headersOf(channel, good, next, 'changed'))).toBe(400);
    expect(await notify({ ...headersOf(channel, good, next), 'x-goog-message-number': '-3' })).toBe(400);
    expect((await fetch(`${publicUrl}/google/notifications`)).status).toBe(405);

    // Nothing taken, nothing queued, nothing written.
    expect((await channelOf(cal.id)).last_message).toBe(channel.last_message);
    expect(
      await stack
        .db(JOBS)
        .where({ key: `sync_calendar:${cal.id}` })
        .first(),
    ).toBeUndefined();
    expect(await calendarRow(cal.id)).toEqual(before.row);
    expect(await metric('tryton_google_notifications_total', 'outcome="forged"')).toBe(before.forged + 4);
    expect(await metric('tryton_google_notifications_total', 'outcome="replayed"')).toBe(before.replayed + 2);
    expect(await metric('tryton_google_notifications_total', 'outcome="unknown"')).toBe(before.unknown + 1);
    expect(await metric('tryton_google_notifications_total', 'outcome="malformed"')).toBe(
      before.malformed + 3,
    );

    // Out of order: a later message taken, then an earlier one arriving after it is late.
    expect(await notify(headersOf(channel, good, next + 2))).toBe(200);
    expect(await notify(headersOf(channel, good, next + 1))).toBe(200);
    expect((await channelOf(cal.id)).last_message).toBe(String(next + 2));
    expect(await metric('tryton_google_notifications_total', 'outcome="replayed"')).toBe(before.replayed + 3);
    await quiet(cal.id);

    // Expired (the channel's end as Google gave it has passed): nothing taken.
    await stack
      .db(CHANNELS)
      .where({ channel_id: channel.channel_id })
      .update({ expires_at: stack.db.raw("now() - interval '1 minute'") });
    expect(await notify(headersOf(channel, good, next + 10))).toBe(200);
    expect((await channelOf(cal.id)).last_message).toBe(String(next + 2));
    expect(await metric('tryton_google_notifications_total', 'outcome="expired"')).toBe(before.expired + 1);
    expect(
      await stack
        .db(JOBS)
        .where({ key: `sync_calendar:${cal.id}` })
        .first(),
    ).toBeUndefined();
    // ...and the next pass replaces it: the calendar is watched again by a new channel.
    await until(
      () => channelOf(cal.id),
      (row) => row.channel_id !== channel.channel_id && row.confirmed,
      { ...WAIT, what: 'the expired channel replaced' },
    );
    // Forgotten (no call: Google ended it already) once its replacement is made.
    await forgotten(channel.channel_id, 'the expired channel forgotten');
  });
});

describe('a lost channel', () => {
  it('is shown lost by a pull that finds a change it was not told about, and replaced', async () => {
    const cal = await watchedCalendar();
    const channel = await channelOf(cal.id);
    // Google stops delivering it; the channel was made an hour ago and last heard from then.
    await control(`/channels/${channel.channel_id}/lose`, 'POST');
    await stack
      .db(CHANNELS)
      .where({ channel_id: channel.channel_id })
      .update({
        created_at: stack.db.raw("now() - interval '1 hour'"),
        last_message_at: stack.db.raw("now() - interval '1 hour'"),
      });
    // A change made ten minutes ago (the emulator's clock): no notification came for it.
    await control('/clock', 'POST', { advance_ms: -600_000 });
    try {
      await control(cal.events, 'POST', event('Never announced', 7));
    } finally {
      await control('/clock', 'POST', { advance_ms: 600_000 });
    }
    await stack.emulator.state.push.delivery.settled();
    expect(await summaries(cal.id)).not.toContain('Never announced');
    const lost = await metric('tryton_google_channel_changes_total', 'change="lost"');
    // The user's "Synchronize now" (or the daily fallback poll) brings it, and shows the channel lost.
    const pulled = await stack.rpc('calendar.sync', { credential_id: credentialId, calendar_id: cal.id });
    expect(pulled.result).toMatchObject({ created: 1 });
    expect((await stack.db(CHANNELS).where({ channel_id: channel.channel_id }).first()).lost).toBe(true);
    // The next pass replaces it: a new channel, confirmed; the lost one stopped at Google.
    const replaced = await until(
      () => channelOf(cal.id),
      (row) => row.channel_id !== channel.channel_id && row.confirmed,
      { ...WAIT, what: 'a new channel' },
    );
    // Stopped (then forgotten) once its replacement is made.
    await forgotten(channel.channel_id, 'the lost channel forgotten');
    expect(await stoppedAtGoogle(channel.channel_id)).toBe(true);
    expect(await metric('tryton_google_channel_changes_total', 'change="lost"')).toBe(lost + 1);
    await until(
      () => calendarRow(cal.id),
      (row) => row.channel_status === 'active',
      {
        ...WAIT,
        what: 'the calendar watched again',
      },
    );
    // And changes are told again.
    await quiet(cal.id);
    await control(cal.events, 'POST', event('Told again', 8));
    await arrives(cal.id, 'Told again');
    expect(Number((await channelOf(cal.id)).last_message)).toBeGreaterThan(1);
    expect(replaced.channel_id).not.toBe(channel.channel_id);
  });
});

describe('renewal', () => {
  it('replaces a channel close to its end exactly once, with two replicas running', async () => {
    const cal = await watchedCalendar();
    const channel = await channelOf(cal.id);
    const second = await stack.startAnotherSidecar({ SIDECAR_PORT: String(await freePort()) });
    const sidecars = [stack.sidecar, second];
    const stats = async () => (await control('/stats', 'GET')).calendar as Record<string, number>;
    const before = {
      stats: await stats(),
      renewed: await metric('tryton_google_channel_changes_total', 'change="renewed"', sidecars),
    };
    // Twelve hours left: within the day before its end, when it is renewed.
    await stack
      .db(CHANNELS)
      .where({ channel_id: channel.channel_id })
      .update({ expires_at: stack.db.raw("now() + interval '12 hours'") });
    const renewed = await until(
      () => channelOf(cal.id),
      (row) => row.channel_id !== channel.channel_id && row.confirmed,
      { ...WAIT, what: 'the channel renewed' },
    );
    // Three more passes, on either replica: nothing more is renewed.
    const passAt = async () =>
      (await stack.db(JOBS).where({ key: 'sync_calendars' }).first('run_at'))?.run_at as Date | undefined;
    const start = (await passAt()) ?? new Date();
    await until(passAt, (at) => at !== undefined && at.getTime() >= start.getTime() + 6_000, {
      ...WAIT,
      what: 'three more passes',
    });
    const after = await stats();
    expect((after['events.watch'] ?? 0) - (before.stats['events.watch'] ?? 0)).toBe(1);
    expect((after['channels.stop'] ?? 0) - (before.stats['channels.stop'] ?? 0)).toBe(1);
    expect(await metric('tryton_google_channel_changes_total', 'change="renewed"', sidecars)).toBe(
      before.renewed + 1,
    );
    const rows = await stack.db(CHANNELS).where({ kind: 'events', target: cal.id }).select('channel_id');
    expect(rows.map((row) => row.channel_id)).toEqual([renewed.channel_id]);
    expect(await stoppedAtGoogle(channel.channel_id)).toBe(true);
    expect(await stoppedAtGoogle(renewed.channel_id)).toBe(false);
    await second.stop();
  });
});

describe('stopping', () => {
  it('stops the channel of a calendar switched off in Tryton', async () => {
    const cal = await watchedCalendar();
    const channel = await channelOf(cal.id);
    await stack.db('google_integration_calendar').where({ id: cal.id }).update({ sync_enabled: false });
    await until(
      () => calendarRow(cal.id),
      (row) => row.channel_status === 'none',
      {
        ...WAIT,
        what: 'the channel stopped',
      },
    );
    expect(await stack.db(CHANNELS).where({ kind: 'events', target: cal.id }).first()).toBeUndefined();
    expect(await stoppedAtGoogle(channel.channel_id)).toBe(true);
    expect((await calendarRow(cal.id)).channel_expires).toBeNull();
  });

  it('follows the calendarList channel: a calendar removed at Google leaves, one added arrives', async () => {
    await until(
      () => stack.row(credentialId),
      (row) => row.calendar_list_channel === 'active',
      { ...WAIT, what: "the credential's calendarList channel" },
    );
    const cal = await watchedCalendar();
    const channel = await channelOf(cal.id);
    // Removed from the account's list at Google: not_exists, then the list fetched, the channel stopped.
    await control(`/calendar/accounts/${ACCOUNT}/calendars/${encodeURIComponent(cal.google)}`, 'DELETE');
    await until(
      () => calendarRow(cal.id),
      (row) => row.active === false && row.channel_status === 'none',
      {
        ...WAIT,
        what: 'the removed calendar inactive, its channel stopped',
      },
    );
    expect(await stack.db(CHANNELS).where({ channel_id: channel.channel_id }).first()).toBeUndefined();
    // Added at Google: it arrives in Tryton without anyone listing the calendars.
    const added = `added-${calendars}@group.calendar.google.com`;
    await control(`/calendar/accounts/${ACCOUNT}/calendars`, 'POST', {
      id: added,
      summary: 'Added at Google',
      timeZone: 'Europe/Paris',
    });
    await until(
      () => stack.db('google_integration_calendar').where({ google_id: added }).first('id'),
      (row) => row !== undefined,
      { ...WAIT, what: 'the added calendar in Tryton' },
    );
    expect(
      await metric('tryton_google_channels', `database="${stack.database}",status="active"`),
    ).toBeGreaterThan(0);
  });
});
