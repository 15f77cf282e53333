/**
 * Model-based property test of the calendar sync with Google's push notifications on (fast-check
 * `commands`; docs/contracts.md, "Push notifications"), against the sidecar process, PostgreSQL and the
 * emulator, whose delivery is scripted: random sequences of what a person does in Google Calendar
 * (timed events in several zones, all-day events, edits, deletions), delivery faults switched on and
 * off (messages duplicated, reordered, delayed, held until a flush, dropped), Google answering slowly
 * (rounds running while the next messages arrive) and settle steps (what is
 * held is released, delivery ends, the calendar's queued rounds finish). The calendar is watched, so
 * no background pass polls it: only notifications bring Google's changes.
 *
 * At every settle: no Google id twice in Tryton, an event Tryton held keeps its Tryton id (never
 * deleted and created again), an event Google did not change since the last settle that Tryton held
 * in step is not written again (a duplicated or replayed message makes no write), and when the
 * channel's last message reached the sidecar (always so when none was dropped), Tryton holds exactly
 * Google's events without any `calendar.sync`. At the end of a run whose last message was dropped, one
 * `calendar.sync` (the user's "Synchronize now") brings Tryton level. Then one more `calendar.sync` is
 * idle: one events.list call and no row written. Once, at the end: the sidecar's `/metrics` count at
 * least as many `replayed` notifications as duplicates the emulator delivered.
 * Each run uses a calendar of its own. Seeded: FUZZ_SEED / MODEL_RUNS override; a failure prints its
 * seed and its sequence.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import {
  calendarApi,
  fingerprint,
  type GoogleRun,
  googleChanges,
  googleInstances,
  keepsTrytonIds,
  type Model,
  type Projection,
  projectGoogle,
  syncedCalendar,
  trytonEvents,
} from '../support/google-calendar-model.js';
import { startNotifiedStack } from '../support/notified-stack.js';
import type { Stack } from '../support/stack.js';
import { until } from '../support/wait.js';

const EMAIL = 'notified.model@example.com';
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.MODEL_RUNS ?? 25);
const JOBS = 'google_integration_jobs._private_jobs';
const CHANNELS = 'google_integration_sidecar.watch_channel';
const WAIT = { timeoutMs: 30_000 };

let stack: Stack;
let credentialId: number;
let runNumber = 0;

beforeAll(async () => {
  ({ stack, credentialId } = await startNotifiedStack(EMAIL));
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

const control = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(path, method, body);

interface Real extends GoogleRun {
  /** Events Tryton held in step with Google at the last settle: Google's etag, and the rows' versions. */
  inStep: Map<string, { etag: string; rows: string }>;
  /** What the run did to delivery, for the summary. */
  readonly faults: Set<string>;
}

/** Across runs, for the summary and the metrics check. */
const tally = {
  runs: 0,
  withoutDrops: 0,
  lastDroppedSynced: 0,
  settles: 0,
  exactSettles: 0,
  messages: 0,
  dropped: 0,
  duplicatesDelivered: 0,
  faults: new Map<string, number>(),
};

/** The test's own reads of Google, through the Calendar API (Google's rendering of the instants). */
const googleApi = (path: string) => calendarApi(stack, credentialId, path, { attempts: 1 });

interface Faults {
  readonly duplicate: boolean;
  readonly reorder: boolean;
  readonly delayMs: number;
  readonly hold: boolean;
  readonly drop: boolean;
}

/** How Google delivers from now on: each fault on or off (all off: delivery as usual, held ones sent). */
class Deliver implements fc.AsyncCommand<Model, Real> {
  constructor(readonly faults: Faults) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const { duplicate, reorder, delayMs, hold, drop } = this.faults;
    await control('/notifications', 'POST', {
      duplicateProbability: duplicate ? 0.6 : 0,
      dropProbability: drop ? 0.5 : 0,
      reorder,
      hold,
      delayMs,
    });
    for (const [name, on] of Object.entries({ duplicate, reorder, hold, drop, delay: delayMs > 0 }))
      if (on) real.faults.add(name);
  }
  toString = () => {
    const { duplicate, reorder, delayMs, hold, drop } = this.faults;
    const on = [
      ...(duplicate ? ['duplicate'] : []),
      ...(reorder ? ['reorder'] : []),
      ...(delayMs > 0 ? [`delay ${delayMs} ms`] : []),
      ...(hold ? ['hold'] : []),
      ...(drop ? ['drop'] : []),
    ];
    return `Deliver(${on.length > 0 ? on.join(', ') : 'as usual'})`;
  };
}

/** Google answers the Calendar API slowly: rounds run while the next changes' messages arrive. */
class SlowGoogle implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    await control('/latency', 'POST', { ms: this.ms, endpoint: 'calendar' });
    if (this.ms > 0) real.faults.add('slow');
  }
  toString = () => `SlowGoogle(${this.ms} ms)`;
}

/** What is held is sent now (shuffled when reorder is on); the settings stay. */
class Flush implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run() {
    await control('/notifications/flush', 'POST');
  }
  toString = () => 'Flush';
}

/** What is held is sent, delivery ends, the calendar's rounds finish; then the checks of a settle. */
class Settle implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(_model: Model, real: Real) {
    await control('/notifications/flush', 'POST');
    await quiet(real);
    await checkSettled(real, false);
  }
  toString = () => 'Settle';
}

/** Nothing released is on its way, and no round of the calendar is queued or running. */
async function quiet(real: Real): Promise<void> {
  await stack.emulator.state.push.delivery.settled();
  await until(
    () =>
      stack
        .db(JOBS)
        .where({ key: `sync_calendar:${real.calendarId}` })
        .select('attempts', 'last_error', 'locked_by'),
    (rows) => rows.length === 0,
    { ...WAIT, what: `no round of calendar ${real.calendarId} queued` },
  );
}

interface Delivery {
  readonly channelId: string;
  /** The number of the channel's last message (1: its sync). */
  readonly last: number;
  /** Whether that message reached the sidecar (answered 2xx). */
  readonly lastDelivered: boolean;
  readonly messages: number;
  readonly dropped: number;
  /** Attempts answered 2xx beyond one per message: each is a replay for the sidecar. */
  readonly repeats: number;
}

/** The calendar's channel at the emulator and what its delivery log says. */
async function delivery(real: Real): Promise<Delivery> {
  const channels = (await control('/channels', 'GET')).items.filter(
    (item: { kind: string; calendarId?: string }) =>
      item.kind === 'events' && item.calendarId === real.calendar,
  );
  // A healthy channel is never replaced within a short run.
  expect(channels.map((item: { id: string }) => item.id)).toHaveLength(1);
  const channel = channels[0];
  const log = (await control(`/notifications?channelId=${encodeURIComponent(channel.id)}`, 'GET'))
    .items as Array<{ messageNumber: number; outcome: string; status?: number }>;
  const reached = new Map<number, number>();
  for (const entry of log)
    if (
      (entry.outcome === 'delivered' || entry.outcome === 'duplicate') &&
      entry.status !== undefined &&
      entry.status < 300
    )
      reached.set(entry.messageNumber, (reached.get(entry.messageNumber) ?? 0) + 1);
  // The sidecar knows the channel, and took the highest message that reached it.
  const row = await stack.db(CHANNELS).where({ channel_id: channel.id }).first('last_message', 'confirmed');
  expect(row, `channel ${channel.id} known to the sidecar`).toBeDefined();
  expect(Number(row.last_message), 'the highest message delivered is the last taken').toBe(
    Math.max(0, ...reached.keys()),
  );
  return {
    channelId: channel.id,
    last: channel.messageNumber,
    lastDelivered: (reached.get(channel.messageNumber) ?? 0) > 0,
    messages: channel.messageNumber,
    dropped: log.filter((entry) => entry.outcome === 'dropped').length,
    repeats: [...reached.values()].reduce((sum, count) => sum + count - 1, 0),
  };
}

/** What the comparison looks at: the location too (an edit sets it). */
const COMPARED = { location: true };

/** Google's events of the calendar (the API's listing), and their etags. */
async function googleEvents(real: Real): Promise<{ events: Projection[]; etags: Map<string, string> }> {
  const live = (await googleInstances(googleApi, real)).filter((item) => item.status !== 'cancelled');
  return {
    events: projectGoogle(live, COMPARED),
    etags: new Map(live.map((item) => [item.id as string, item.etag as string])),
  };
}

/**
 * The checks of a settle. `exact`: Tryton must hold Google's events whatever delivery did (after the
 * final `calendar.sync`); otherwise only when the channel's last message reached the sidecar.
 */
async function checkSettled(real: Real, exact: boolean): Promise<void> {
  tally.settles++;
  await keepsTrytonIds(stack, real, { unique: true });
  const told = await delivery(real);
  const google = await googleEvents(real);
  const tryton = await trytonEvents(stack, real, COMPARED);
  if (exact || told.lastDelivered) {
    tally.exactSettles++;
    expect(tryton.events, `Tryton holds Google's events (message ${told.last} delivered)`).toEqual(
      google.events,
    );
  }
  // An event unchanged at Google since the last settle, that Tryton held in step then, is not written.
  for (const [googleId, before] of real.inStep) {
    if (google.etags.get(googleId) !== before.etag) continue;
    expect(tryton.rows.get(googleId), `event ${googleId}, unchanged at Google, not written again`).toBe(
      before.rows,
    );
  }
  const held = new Map(tryton.events.map((event) => [event.google_id, event]));
  real.inStep = new Map();
  for (const event of google.events) {
    const rows = tryton.rows.get(event.google_id);
    const etag = google.etags.get(event.google_id);
    if (
      rows !== undefined &&
      etag !== undefined &&
      JSON.stringify(held.get(event.google_id)) === JSON.stringify(event)
    )
      real.inStep.set(event.google_id, { etag, rows });
  }
}

const listCalls = async () => ((await control('/stats', 'GET')).calendar['events.list'] ?? 0) as number;

async function syncNow(real: Real): Promise<void> {
  const answer = await stack.rpc('calendar.sync', {
    credential_id: credentialId,
    calendar_id: real.calendarId,
  });
  expect(answer.error).toBeUndefined();
}

/**
 * After the commands: delivery back to normal (what is held is sent), everything settles; Tryton holds
 * Google's events, after a `calendar.sync` only when the last message was dropped; then one more
 * `calendar.sync` lists once and writes nothing.
 */
async function converges(real: Real): Promise<void> {
  await control('/notifications', 'DELETE');
  await control('/latency', 'POST', { ms: 0, endpoint: 'calendar' });
  await quiet(real);
  const told = await delivery(real);
  tally.runs++;
  tally.messages += told.messages;
  tally.dropped += told.dropped;
  tally.duplicatesDelivered += told.repeats;
  for (const fault of real.faults) tally.faults.set(fault, (tally.faults.get(fault) ?? 0) + 1);
  if (told.dropped === 0) {
    tally.withoutDrops++;
    // Nothing dropped: the notifications alone brought everything.
    expect(told.lastDelivered).toBe(true);
  }
  if (told.lastDelivered) {
    await checkSettled(real, false);
  } else {
    tally.lastDroppedSynced++;
    await syncNow(real);
  }
  await checkSettled(real, true);
  const before = await fingerprint(stack, real);
  const calls = await listCalls();
  await syncNow(real);
  expect((await listCalls()) - calls, 'an idle calendar.sync lists once').toBe(1);
  expect(await fingerprint(stack, real), 'an idle calendar.sync writes nothing').toBe(before);
  await keepsTrytonIds(stack, real, { unique: true });
}

const calendarRow = (id: number) =>
  stack.db('google_integration_calendar').where({ id }).first('channel_status', 'last_sync');

/** A calendar of its own, enabled, watched (its channel confirmed), pulled once and quiet. */
async function newCalendar(): Promise<Real> {
  runNumber++;
  const google = `notified-model-${SEED}-${runNumber}@group.calendar.google.com`;
  const calendarId = await syncedCalendar(stack, control, credentialId, {
    email: EMAIL,
    google,
    summary: `Notified model run ${runNumber}`,
  });
  await until(
    () => calendarRow(calendarId),
    (row) => row.channel_status === 'active' && row.last_sync !== null,
    { ...WAIT, what: `calendar ${calendarId} watched and pulled` },
  );
  const real: Real = {
    calendar: google,
    calendarId,
    events: [],
    trytonIds: new Map(),
    inStep: new Map(),
    faults: new Set(),
  };
  await quiet(real);
  return real;
}

/** Off when its run ends: its channel is stopped, so no later run sees a round of it. */
async function retire(real: Real): Promise<void> {
  await stack
    .db('google_integration_calendar')
    .where({ id: real.calendarId })
    .update({ sync_enabled: false });
}

const changes = googleChanges(control, { maxPick: 12 });
// Timed events and edits listed twice: drawn twice as often as the other commands.
const commands = [
  changes.createTimed,
  changes.createTimed,
  changes.createAllDay,
  changes.edit,
  changes.edit,
  changes.delete,
  fc
    .record({
      duplicate: fc.boolean(),
      reorder: fc.boolean(),
      delayMs: fc.constantFrom(0, 0, 150, 600),
      hold: fc.boolean(),
      // Less often than the others: most runs check that notifications alone suffice.
      drop: fc.constantFrom(false, false, true),
    })
    .map((faults) => new Deliver(faults)),
  fc
    .record({
      duplicate: fc.boolean(),
      reorder: fc.boolean(),
      delayMs: fc.constantFrom(0, 150),
      hold: fc.constant(false),
      drop: fc.constant(false),
    })
    .map((faults) => new Deliver(faults)),
  fc.constantFrom(0, 250).map((ms) => new SlowGoogle(ms)),
  fc.constant(new Flush()),
  fc.constant(new Settle()),
];

async function replayedNotifications(): Promise<number> {
  const text = await (await fetch(`${stack.sidecar.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((entry) => entry.startsWith('tryton_google_notifications_total{outcome="replayed"}'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('the calendar sync with push notifications, model-based', () => {
  it(`brings Google's changes through notifications alone unless one was dropped (${RUNS} seeded runs)`, async () => {
    const replayedBefore = await replayedNotifications();
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commands, { maxCommands: 14, size: 'medium' }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (sequence, deliverySeed) => {
          const real = await newCalendar();
          try {
            // The emulator's drops, duplicates and shuffles: reproducible with the run.
            await control('/notifications', 'POST', { seed: deliverySeed });
            await fc.asyncModelRun(() => ({ model: {}, real }), sequence);
            await converges(real);
          } finally {
            await control('/notifications', 'DELETE');
            await control('/latency', 'POST', { ms: 0, endpoint: 'calendar' });
            await retire(real);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const replayed = (await replayedNotifications()) - replayedBefore;
    console.log(
      `calendar notifications model: ${tally.runs} runs (${tally.withoutDrops} without a drop, ` +
        `${tally.lastDroppedSynced} whose last message was dropped and needed calendar.sync), ` +
        `${tally.settles} settles (${tally.exactSettles} exact), ${tally.messages} messages, ` +
        `${tally.dropped} dropped, ${tally.duplicatesDelivered} repeated deliveries, ${replayed} replayed; ` +
        `runs per fault: ${JSON.stringify(Object.fromEntries(tally.faults))}`,
    );
    // Each message delivered again (a duplicate, a retry) is a replay for the sidecar.
    expect(replayed).toBeGreaterThanOrEqual(tally.duplicatesDelivered);
    if (tally.duplicatesDelivered > 0) expect(replayed).toBeGreaterThan(0);
  }, 900_000);
});
