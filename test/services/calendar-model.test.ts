/**
 * Model-based property test of the calendar pull (fast-check `commands`): random sequences of
 * what a person does in Google Calendar (timed, all-day and other-zone events, recurring series,
 * one occurrence edited or cancelled, edits that change only the etag, deletions), odd items among
 * them (instants outside the years 1-9999 in UTC, answers a proxy could mangle), pulls, and faults
 * (5xx, 429, a pull broken off mid-way and run again, sync tokens invalidated, short pages, events
 * changed while a full listing pages after a 410). After every pull an event Tryton held keeps its
 * Tryton id (never deleted and created again). After a final quiet pull Tryton holds exactly
 * Google's events but the odd ones (the API's own listing of instances), no duplicate, the
 * calendar names the odd ones, and one more pull makes one list call and writes nothing.
 * A second property stops the sidecar (SIGTERM or SIGKILL) in the middle of a background pull,
 * once a run: the pulls go on, and the calendar's background job runs again.
 * Each run uses a calendar of its own. Seeded: FUZZ_SEED / MODEL_RUNS / STOP_RUNS override; a
 * failure prints its seed and the shortest sequence that fails.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import {
  calendarApi,
  dateOf,
  day,
  eventsPath,
  fingerprint,
  type GoogleRun,
  googleChanges,
  googleInstances,
  ignoreGone,
  keepsTrytonIds,
  type Model,
  picked,
  projectGoogle,
  syncedCalendar,
  trytonEvents,
  zones,
} from '../support/google-calendar-model.js';
import { type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';
import { until } from '../support/wait.js';

const EMAIL = 'model.owner@example.com';
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const RUNS = Number(process.env.MODEL_RUNS ?? 200);
const STOP_RUNS = Number(process.env.STOP_RUNS ?? 20);

let stack: Stack;
let credentialId: number;
let runNumber = 0;

beforeAll(async () => {
  stack = await startStack({
    template: await trytonTemplate(),
    // A 4 s interval beats job runners' heartbeats every second: a killed one lapses within 3 s.
    // No periodic pass pulls the runs' calendars: the credential's synchronization stays off.
    env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '4', SIDECAR_GOOGLE_TIMEOUT: '2' },
  });
  credentialId = await stack.authorizedCredential(EMAIL);
  await stack.jobsStarted();
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

/** An odd item, and how to tell from Google's listing whether it still is (a regular edit fixes some). */
interface Odd {
  readonly id: string;
  readonly kind: OddKind;
}

interface Real extends GoogleRun {
  readonly series: string[];
  readonly odd: Odd[];
}

const control = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(path, method, body);

/** The test's own reads of Google; faults a run left queued are for the sidecar, so they are retried here. */
const googleApi = (path: string) => calendarApi(stack, credentialId, path, { attempts: 10 });

let pulls = { ok: 0, failed: 0 };
async function pull(real: Real): Promise<boolean> {
  const answer = await stack.rpc('calendar.sync', {
    credential_id: credentialId,
    calendar_id: real.calendarId,
  });
  // Failing is allowed while faults are injected; failing with an internal error never is.
  expect(answer.error?.code).not.toBe(-32603);
  if (answer.error) pulls.failed++;
  else pulls.ok++;
  await keepsTrytonIds(stack, real, { unique: false });
  return !answer.error;
}

class CreateSeries implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly zone: string,
    readonly offset: number,
    readonly freq: string,
    readonly count: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const date = dateOf(this.offset);
    const event = await control(eventsPath(real), 'POST', {
      summary: `series ${this.freq} ${this.count}`,
      start: { dateTime: `${date}T09:00:00`, timeZone: this.zone },
      end: { dateTime: `${date}T10:00:00`, timeZone: this.zone },
      recurrence: [`RRULE:FREQ=${this.freq};COUNT=${this.count}`],
    });
    real.events.push(event.id);
    real.series.push(event.id);
  }
  toString = () => `CreateSeries(${this.zone}, +${this.offset}d, ${this.freq}, ${this.count})`;
}

/** A change Google makes without changing what Tryton keeps: a new etag, the same content. */
class EtagChurn implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const id = picked(real.events, this.pick);
    if (id === undefined) return;
    await control(`${eventsPath(real)}/${id}`, 'PATCH', { transparency: 'transparent' }).catch(ignoreGone);
  }
  toString = () => `EtagChurn(#${this.pick})`;
}

/** One occurrence of a series edited (moved an hour later) or cancelled, as a person does in Google. */
class Occurrence implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly nth: number,
    readonly cancel: boolean,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const id = picked(real.series, this.pick);
    if (id === undefined) return;
    const instances = await googleApi(
      `/calendars/${encodeURIComponent(real.calendar)}/events/${id}/instances`,
    ).catch(() => undefined);
    const instance = instances?.items?.[this.nth % Math.max(1, instances?.items?.length ?? 1)];
    if (!instance?.originalStartTime) return;
    const originalStart = instance.originalStartTime.dateTime ?? instance.originalStartTime.date;
    const moved = (value: string) => new Date(new Date(value).getTime() + 3_600_000).toISOString();
    await control(`${eventsPath(real)}/${id}/occurrence`, 'POST', {
      originalStart,
      ...(this.cancel
        ? { cancel: true }
        : {
            changes: {
              summary: 'moved occurrence',
              start: { dateTime: moved(instance.start.dateTime), timeZone: instance.start.timeZone },
              end: { dateTime: moved(instance.end.dateTime), timeZone: instance.end.timeZone },
            },
          }),
    }).catch(ignoreGone);
  }
  toString = () => `Occurrence(#${this.pick}, ${this.nth}, ${this.cancel ? 'cancel' : 'move'})`;
}

type Fault = 'none' | '503' | '429' | 'broken' | 'invalidate' | 'short-pages' | 'changed-while-paging';

class Pull implements fc.AsyncCommand<Model, Real> {
  constructor(readonly fault: Fault) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    if (this.fault === '503') await control('/failures', 'POST', { endpoint: 'calendar', status: 503 });
    if (this.fault === '429') await control('/failures', 'POST', { endpoint: 'calendar', status: 429 });
    // Every attempt of a page after the first fails: the pull stops mid-way and must be run again.
    if (this.fault === 'broken') {
      await control('/calendar/paging', 'POST', { maxPageSize: 2 });
      await control('/failures', 'POST', { endpoint: 'calendar', status: 500, count: 4, probability: 0.5 });
    }
    if (this.fault === 'invalidate') await control('/calendar/sync-tokens/invalidate', 'POST', {});
    if (this.fault === 'short-pages') await control('/calendar/paging', 'POST', { maxPageSize: 3 });
    // Tryton holds what Google holds; then a 410, and a full listing whose next unsent item is
    // edited after each page: left out of the rest of it.
    if (this.fault === 'changed-while-paging') {
      await pull(real);
      await control('/calendar/sync-tokens/invalidate', 'POST', { calendarId: real.calendar });
      await control('/calendar/paging', 'POST', {
        maxPageSize: 1,
        changeWhilePaging: { calendar_id: real.calendar, count: 1 },
      });
    }
    await pull(real);
    await control('/calendar/paging', 'POST', { maxPageSize: null });
  }
  toString = () => `Pull(${this.fault})`;
}

type OddKind =
  | 'year-0'
  | 'year-10000'
  | 'summary-number'
  | 'attendees-object'
  | 'invalid-date'
  | 'unknown-status';

/** Instants Google accepts; the other kinds are answers a proxy or a future API could send (raw). */
const ODD: Record<
  OddKind,
  { event: Record<string, unknown>; raw?: Record<string, unknown>; still: (item: any) => boolean }
> = {
  'year-0': {
    event: {
      start: { dateTime: '0001-01-01T00:00:00+14:00' },
      end: { dateTime: '0001-01-01T01:00:00+14:00' },
    },
    still: () => true,
  },
  'year-10000': {
    event: {
      start: { dateTime: '9999-12-31T22:00:00-05:00' },
      end: { dateTime: '9999-12-31T23:00:00-05:00' },
    },
    still: () => true,
  },
  'summary-number': { event: {}, raw: { summary: 42 }, still: (item) => typeof item.summary !== 'string' },
  'attendees-object': {
    event: {},
    raw: { attendees: { email: 'odd@example.com' } },
    still: (item) => item.attendees !== undefined && !Array.isArray(item.attendees),
  },
  'invalid-date': {
    event: {},
    raw: { start: { date: '2026-02-30' }, end: { date: '2026-03-01' } },
    still: (item) => item.start?.date === '2026-02-30',
  },
  'unknown-status': { event: {}, raw: { status: 'weird' }, still: (item) => item.status === 'weird' },
};

class CreateOdd implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly kind: OddKind,
    readonly offset: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const date = dateOf(this.offset);
    const odd = ODD[this.kind];
    const event = await control(eventsPath(real), 'POST', {
      summary: `odd ${this.kind}`,
      start: { dateTime: `${date}T08:00:00Z` },
      end: { dateTime: `${date}T08:30:00Z` },
      ...odd.event,
    });
    if (odd.raw) await control(`${eventsPath(real)}/${event.id}/raw`, 'POST', { fields: odd.raw });
    real.odd.push({ id: event.id, kind: this.kind });
  }
  toString = () => `CreateOdd(${this.kind}, +${this.offset}d)`;
}

class DeleteOdd implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const odd = picked(real.odd, this.pick);
    if (odd === undefined) return;
    await control(`${eventsPath(real)}/${odd.id}`, 'DELETE').catch(ignoreGone);
  }
  toString = () => `DeleteOdd(#${this.pick})`;
}

/** Stops the sidecar while it runs a background pull of the calendar, and starts another. */
class StopDuringPull implements fc.AsyncCommand<Model, Real> {
  constructor(readonly signal: 'SIGTERM' | 'SIGKILL') {}
  check = () => true;
  async run(_model: Model, real: Real) {
    await control('/latency', 'POST', { ms: 300, endpoint: 'calendar' });
    await stack.db.raw(
      `SELECT google_integration_jobs.add_job('sync_calendar',
         json_build_object('credential_id', ?::int, 'calendar_id', ?::int), queue_name => ?, job_key => ?)`,
      [credentialId, real.calendarId, `calendar:${real.calendarId}`, `sync_calendar:${real.calendarId}`],
    );
    await until(
      () => backgroundJob(real),
      (job) => job.locked || job.pending === 0,
      { what: 'the background pull running' },
    );
    await stack.replaceSidecar(this.signal);
    await control('/latency', 'POST', { ms: 0, endpoint: 'calendar' });
  }
  toString = () => `StopDuringPull(${this.signal})`;
}

/** The calendar's background job: how many are queued, and whether its queue is locked. */
async function backgroundJob(real: Real): Promise<{ pending: number; locked: boolean }> {
  const result = await stack.db.raw(
    `SELECT (SELECT count(*)::int FROM google_integration_jobs.jobs WHERE queue_name = ?) AS pending,
            EXISTS (SELECT 1 FROM google_integration_jobs._private_job_queues
                     WHERE queue_name = ? AND locked_by IS NOT NULL) AS locked`,
    [`calendar:${real.calendarId}`, `calendar:${real.calendarId}`],
  );
  return result.rows[0];
}

const changes = googleChanges(control, { maxPick: 20 });
const commands = [
  changes.createTimed,
  changes.createAllDay,
  fc
    .tuple(zones, day, fc.constantFrom('DAILY', 'WEEKLY'), fc.integer({ min: 2, max: 5 }))
    .map(([zone, offset, freq, count]) => new CreateSeries(zone, offset, freq, count)),
  changes.edit,
  fc.nat(20).map((pick) => new EtagChurn(pick)),
  changes.delete,
  fc
    .tuple(fc.nat(10), fc.nat(5), fc.boolean())
    .map(([pick, nth, cancel]) => new Occurrence(pick, nth, cancel)),
  fc
    .constantFrom<Fault>(
      'none',
      'none',
      'none',
      '503',
      '429',
      'broken',
      'invalidate',
      'short-pages',
      'changed-while-paging',
      'changed-while-paging',
    )
    .map((fault) => new Pull(fault)),
  fc
    .tuple(fc.constantFrom<OddKind>(...(Object.keys(ODD) as OddKind[])), day)
    .map(([kind, offset]) => new CreateOdd(kind, offset)),
  fc.nat(5).map((pick) => new DeleteOdd(pick)),
];

async function newCalendar(): Promise<Real> {
  runNumber++;
  const google = `model-${SEED}-${runNumber}@group.calendar.google.com`;
  const calendarId = await syncedCalendar(stack, control, credentialId, {
    email: EMAIL,
    google,
    summary: `Model run ${runNumber}`,
  });
  return { calendar: google, calendarId, events: [], series: [], odd: [], trytonIds: new Map() };
}

/** What the comparison looks at: the pull's fields but the location. */
const COMPARED = { location: false };

/** Google's listing of the calendar's instances: those the pull takes, and the odd ones' ids. */
async function googleEvents(real: Real) {
  const items = await googleInstances(googleApi, real);
  const oddKinds = new Map(real.odd.map((odd) => [odd.id, odd.kind]));
  const isOdd = (item: any) => {
    const kind = oddKinds.get(item.id);
    return kind !== undefined && ODD[kind].still(item);
  };
  const odd = items.filter((item) => item.status !== 'cancelled' && isOdd(item)).map((item) => item.id);
  const events = projectGoogle(
    items.filter((item) => item.status !== 'cancelled' && !isOdd(item)),
    COMPARED,
  );
  return { events, odd };
}

async function calendarCalls(): Promise<number> {
  const stats = (await stack.control('/stats')).calendar;
  return typeof stats === 'number'
    ? stats
    : Object.values(stats as Record<string, number>).reduce((a, b) => a + b, 0);
}

/** After the commands: faults end, and Tryton must come level with Google in one pull, then idle. */
/**
 * After the faults, one pull brings Tryton to Google's events, and one more is idle (one list call,
 * no write). `settle` runs in between: what else must end before the idle pull is counted.
 */
async function converges(real: Real, settle?: () => Promise<unknown>): Promise<void> {
  await control('/failures', 'DELETE');
  expect(await pull(real)).toBe(true);
  const google = await googleEvents(real);
  const tryton = (await trytonEvents(stack, real, COMPARED)).events;
  expect(tryton).toEqual(google.events);
  expect(new Set(tryton.map((event) => event.google_id)).size).toBe(tryton.length);
  const notice = (await stack.db('google_integration_calendar').where({ id: real.calendarId }).first())
    .sync_notice;
  expect(notice === null ? 0 : Number(/^(\d+) events? from Google/.exec(notice)?.[1])).toBe(
    google.odd.length,
  );
  await settle?.();
  const before = await fingerprint(stack, real);
  const calls = await calendarCalls();
  expect(await pull(real)).toBe(true);
  expect((await calendarCalls()) - calls).toBe(1);
  expect(await fingerprint(stack, real)).toBe(before);
}

describe('the calendar pull, model-based', () => {
  it(`ends with Tryton holding exactly Google's events (${RUNS} seeded runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 14 }), async (sequence) => {
        const real = await newCalendar();
        await fc.asyncModelRun(() => ({ model: {}, real }), sequence);
        await converges(real);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `calendar model: ${RUNS} runs, ${pulls.ok} pulls succeeded, ${pulls.failed} failed under faults`,
    );
    pulls = { ok: 0, failed: 0 };
  }, 900_000);

  it(`goes on when the sidecar stops in the middle of a background pull (${STOP_RUNS} seeded runs)`, async () => {
    let stops = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commands, { maxCommands: 8 }),
        fc.constantFrom<'SIGTERM' | 'SIGKILL'>('SIGTERM', 'SIGKILL'),
        fc.nat(),
        async (sequence, signal, at) => {
          const real = await newCalendar();
          const list = [...sequence];
          list.splice(at % (list.length + 1), 0, new StopDuringPull(signal));
          await fc.asyncModelRun(() => ({ model: {}, real }), list);
          stops++;
          // The calendar's background job runs again (released by the stopped sidecar's runner,
          // or waiting for the pull's lease): nothing of it is left queued or locked before the
          // idle pull is counted.
          await converges(real, () =>
            until(
              () => backgroundJob(real),
              (job) => job.pending === 0 && !job.locked,
              { what: 'the background job done', timeoutMs: 20_000 },
            ),
          );
        },
      ),
      { seed: SEED, numRuns: STOP_RUNS, endOnFailure: true },
    );
    console.log(`calendar model with stops: ${STOP_RUNS} runs, ${stops} sidecars stopped mid-pull`);
  }, 900_000);
});
