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
import { lastDay } from '../../src/services/calendar/dates.js';
import { emulatorControl } from '../support/emulator-client.js';
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
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

/** An odd item, and how to tell from Google's listing whether it still is (a regular edit fixes some). */
interface Odd {
  readonly id: string;
  readonly kind: OddKind;
}

interface Real {
  readonly calendar: string;
  readonly calendarId: number;
  readonly events: string[];
  readonly series: string[];
  readonly odd: Odd[];
  /** The Tryton id each Google id got: an event Tryton holds is never created again. */
  readonly trytonIds: Map<string, number>;
}
type Model = Record<string, never>;

const control = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(path, method, body);

const eventsPath = (real: Real) => `/calendar/calendars/${encodeURIComponent(real.calendar)}/events`;

/** The test's own reads of Google; faults a run left queued are for the sidecar, so they are retried here. */
async function googleApi(path: string): Promise<any> {
  const { result } = await stack.rpc('credentials.get_access_token', { credential_id: credentialId });
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${stack.emulator.url}/calendar/v3${path}`, {
      headers: { authorization: `Bearer ${result.access_token}` },
    });
    if (response.ok) return response.json();
    if (attempt >= 10 || (response.status < 500 && response.status !== 429)) {
      throw new Error(`calendar API ${path}: ${response.status}`);
    }
  }
}

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
  await keepsTrytonIds(real);
  return !answer.error;
}

/** An event Tryton held is updated in place: never deleted and created again under a new id. */
async function keepsTrytonIds(real: Real): Promise<void> {
  const rows = await stack
    .db('google_integration_event')
    .where({ calendar: real.calendarId })
    .select('id', 'google_id');
  for (const { id, google_id: googleId } of rows) {
    const before = real.trytonIds.get(googleId);
    if (before !== undefined && before !== id)
      throw new Error(`event ${googleId} was created again in Tryton: id ${before}, now ${id}`);
    real.trytonIds.set(googleId, id);
  }
}

const zones = fc.constantFrom('Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'UTC', 'Pacific/Auckland');
/** Days from 2026-10-20: the weeks around Europe's (10-25) and America's (11-01) DST changes. */
const day = fc.integer({ min: 0, max: 20 });
const dateOf = (offset: number) => new Date(Date.UTC(2026, 9, 20 + offset)).toISOString().slice(0, 10);
const pad = (value: number) => String(value).padStart(2, '0');

class CreateTimed implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly zone: string,
    readonly offset: number,
    readonly hour: number,
    readonly minutes: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const date = dateOf(this.offset);
    const end = new Date(Date.UTC(2000, 0, 1, this.hour, this.minutes));
    const event = await control(eventsPath(real), 'POST', {
      summary: `timed ${this.offset}/${this.hour}`,
      start: { dateTime: `${date}T${pad(this.hour)}:00:00`, timeZone: this.zone },
      end: {
        dateTime: `${date}T${pad(end.getUTCHours())}:${pad(end.getUTCMinutes())}:00`,
        timeZone: this.zone,
      },
    });
    real.events.push(event.id);
  }
  toString = () => `CreateTimed(${this.zone}, +${this.offset}d, ${this.hour}h, ${this.minutes}min)`;
}

class CreateAllDay implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly offset: number,
    readonly days: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const event = await control(eventsPath(real), 'POST', {
      summary: `all-day ${this.offset}+${this.days}`,
      start: { date: dateOf(this.offset) },
      end: { date: dateOf(this.offset + this.days) },
    });
    real.events.push(event.id);
  }
  toString = () => `CreateAllDay(+${this.offset}d, ${this.days} days)`;
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

class Edit implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly summary: string,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const id = real.events[this.pick % Math.max(1, real.events.length)];
    if (id === undefined) return;
    await control(`${eventsPath(real)}/${id}`, 'PATCH', {
      summary: this.summary,
      location: `room ${this.pick}`,
    }).catch(ignoreGone);
  }
  toString = () => `Edit(#${this.pick}, ${JSON.stringify(this.summary)})`;
}

/** A change Google makes without changing what Tryton keeps: a new etag, the same content. */
class EtagChurn implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const id = real.events[this.pick % Math.max(1, real.events.length)];
    if (id === undefined) return;
    await control(`${eventsPath(real)}/${id}`, 'PATCH', { transparency: 'transparent' }).catch(ignoreGone);
  }
  toString = () => `EtagChurn(#${this.pick})`;
}

class Delete implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const id = real.events[this.pick % Math.max(1, real.events.length)];
    if (id === undefined) return;
    await control(`${eventsPath(real)}/${id}`, 'DELETE').catch(ignoreGone);
  }
  toString = () => `Delete(#${this.pick})`;
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
    const id = real.series[this.pick % Math.max(1, real.series.length)];
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
    const odd = real.odd[this.pick % Math.max(1, real.odd.length)];
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

function ignoreGone(error: Error): void {
  // The event (or occurrence) was deleted by an earlier command: what a person would see too.
  if (!/: (404|410) /.test(error.message)) throw error;
}

const commands = [
  fc
    .tuple(zones, day, fc.integer({ min: 0, max: 22 }), fc.constantFrom(15, 30, 45))
    .map(([zone, offset, hour, minutes]) => new CreateTimed(zone, offset, hour, minutes)),
  fc.tuple(day, fc.integer({ min: 1, max: 3 })).map(([offset, days]) => new CreateAllDay(offset, days)),
  fc
    .tuple(zones, day, fc.constantFrom('DAILY', 'WEEKLY'), fc.integer({ min: 2, max: 5 }))
    .map(([zone, offset, freq, count]) => new CreateSeries(zone, offset, freq, count)),
  fc
    .tuple(fc.nat(20), fc.string({ minLength: 1, maxLength: 12 }))
    .map(([pick, summary]) => new Edit(pick, summary)),
  fc.nat(20).map((pick) => new EtagChurn(pick)),
  fc.nat(20).map((pick) => new Delete(pick)),
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
  await control(`/calendar/accounts/${encodeURIComponent(EMAIL)}/calendars`, 'POST', {
    id: google,
    summary: `Model run ${runNumber}`,
    timeZone: 'Europe/Paris',
  });
  const listed = await stack.rpc('calendar.list_calendars', { credential_id: credentialId });
  const calendar = listed.result.calendars.find((cal: { google_id: string }) => cal.google_id === google);
  await stack.db('google_integration_calendar').where({ id: calendar.id }).update({ sync_enabled: true });
  return { calendar: google, calendarId: calendar.id, events: [], series: [], odd: [], trytonIds: new Map() };
}

/** Google's listing of the calendar's instances: those the pull takes, and the odd ones' ids. */
async function googleEvents(real: Real) {
  const items: any[] = [];
  let pageToken: string | undefined;
  do {
    const page = await googleApi(
      `/calendars/${encodeURIComponent(real.calendar)}/events?singleEvents=true&maxResults=2500${pageToken ? `&pageToken=${pageToken}` : ''}`,
    );
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  const oddKinds = new Map(real.odd.map((odd) => [odd.id, odd.kind]));
  const isOdd = (item: any) => {
    const kind = oddKinds.get(item.id);
    return kind !== undefined && ODD[kind].still(item);
  };
  const odd = items.filter((item) => item.status !== 'cancelled' && isOdd(item)).map((item) => item.id);
  const events = items
    .filter((item) => item.status !== 'cancelled' && !isOdd(item))
    .map((item) => ({
      google_id: item.id,
      summary: item.summary ?? null,
      all_day: Boolean(item.start.date),
      start: item.start.date ?? new Date(item.start.dateTime).toISOString(),
      end: item.start.date
        ? lastDay(item.start.date, item.end.date)
        : new Date(item.end.dateTime).toISOString(),
    }))
    .sort((a, b) => a.google_id.localeCompare(b.google_id));
  return { events, odd };
}

async function trytonEvents(real: Real) {
  const rows = await stack.db.raw(
    `SELECT e.google_id, d.summary, e.all_day,
            to_char(e.start_date, 'YYYY-MM-DD') AS start_date, to_char(e.end_date, 'YYYY-MM-DD') AS end_date,
            e.starts_at, e.ends_at
       FROM google_integration_event e LEFT JOIN google_integration_event_detail d ON d.event = e.id
      WHERE e.calendar = ? ORDER BY e.google_id`,
    [real.calendarId],
  );
  return rows.rows
    .map((row: any) => ({
      google_id: row.google_id,
      summary: row.summary,
      all_day: row.all_day,
      start: row.all_day ? row.start_date : row.starts_at.toISOString(),
      end: row.all_day ? row.end_date : row.ends_at.toISOString(),
    }))
    .sort((a: { google_id: string }, b: { google_id: string }) => a.google_id.localeCompare(b.google_id));
}

async function fingerprint(real: Real): Promise<string> {
  const rows = await stack.db.raw(
    `SELECT string_agg(x, ',' ORDER BY x) AS f FROM (
       SELECT 'c' || xmin::text AS x FROM google_integration_calendar WHERE id = ?
       UNION ALL SELECT 'e' || xmin::text FROM google_integration_event WHERE calendar = ?
       UNION ALL SELECT 'd' || d.xmin::text FROM google_integration_event_detail d
                   JOIN google_integration_event e ON e.id = d.event WHERE e.calendar = ?
       UNION ALL SELECT 'l' || xmin::text FROM google_integration_sidecar.event_link WHERE calendar_id = ?
       UNION ALL SELECT 's' || xmin::text FROM google_integration_sidecar.calendar_sync WHERE calendar_id = ?) AS rows`,
    [real.calendarId, real.calendarId, real.calendarId, real.calendarId, real.calendarId],
  );
  return rows.rows[0].f ?? '';
}

async function calendarCalls(): Promise<number> {
  const stats = (await stack.control('/stats')).calendar;
  return typeof stats === 'number'
    ? stats
    : Object.values(stats as Record<string, number>).reduce((a, b) => a + b, 0);
}

/** After the commands: faults end, and Tryton must come level with Google in one pull, then idle. */
async function converges(real: Real): Promise<void> {
  await control('/failures', 'DELETE');
  expect(await pull(real)).toBe(true);
  const google = await googleEvents(real);
  const tryton = await trytonEvents(real);
  expect(tryton).toEqual(google.events);
  expect(new Set(tryton.map((event: { google_id: string }) => event.google_id)).size).toBe(tryton.length);
  const notice = (await stack.db('google_integration_calendar').where({ id: real.calendarId }).first())
    .sync_notice;
  expect(notice === null ? 0 : Number(/^(\d+) events? from Google/.exec(notice)?.[1])).toBe(
    google.odd.length,
  );
  const before = await fingerprint(real);
  const calls = await calendarCalls();
  expect(await pull(real)).toBe(true);
  expect((await calendarCalls()) - calls).toBe(1);
  expect(await fingerprint(real)).toBe(before);
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
          await converges(real);
          // The calendar's background job ran again: nothing of it is left queued or locked.
          await until(
            () => backgroundJob(real),
            (job) => job.pending === 0 && !job.locked,
            { what: 'the background job done', timeoutMs: 20_000 },
          );
        },
      ),
      { seed: SEED, numRuns: STOP_RUNS, endOnFailure: true },
    );
    console.log(`calendar model with stops: ${STOP_RUNS} runs, ${stops} sidecars stopped mid-pull`);
  }, 900_000);
});
