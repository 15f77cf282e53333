/**
 * Model-based property test of the calendar pull (fast-check `commands`): random sequences of
 * what a person does in Google Calendar (timed, all-day and other-zone events, recurring series,
 * one occurrence edited or cancelled, edits that change only the etag, deletions), pulls, and
 * faults (5xx, 429, a pull broken off mid-way and run again, sync tokens invalidated, short pages).
 * After a final quiet pull Tryton holds exactly Google's events (the API's own listing of
 * instances), no duplicate, and one more pull makes one list call and writes nothing.
 * Each run uses a calendar of its own. Seeded: FUZZ_SEED / MODEL_RUNS override; a failure prints
 * its seed and the shortest sequence that fails.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastDay } from '../../src/services/calendar/event-mapping.js';
import { type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';

const EMAIL = 'model.owner@example.com';
const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const RUNS = Number(process.env.MODEL_RUNS ?? 200);

let stack: Stack;
let credentialId: number;
let runNumber = 0;

beforeAll(async () => {
  stack = await startStack({
    template: await trytonTemplate(),
    env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '3600', SIDECAR_GOOGLE_TIMEOUT: '2' },
  });
  credentialId = await stack.authorizedCredential(EMAIL);
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

interface Real {
  readonly calendar: string;
  readonly calendarId: number;
  readonly events: string[];
  readonly series: string[];
}
type Model = Record<string, never>;

async function control(path: string, method: string, body?: unknown): Promise<any> {
  const response = await fetch(`${stack.emulator.url}/__emulator${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`control ${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

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
  return !answer.error;
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

type Fault = 'none' | '503' | '429' | 'broken' | 'invalidate' | 'short-pages';

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
    await pull(real);
    await control('/calendar/paging', 'POST', { maxPageSize: null });
  }
  toString = () => `Pull(${this.fault})`;
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
    .constantFrom<Fault>('none', 'none', 'none', '503', '429', 'broken', 'invalidate', 'short-pages')
    .map((fault) => new Pull(fault)),
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
  return { calendar: google, calendarId: calendar.id, events: [], series: [] };
}

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
  return items
    .filter((item) => item.status !== 'cancelled')
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

describe('the calendar pull, model-based', () => {
  it(`ends with Tryton holding exactly Google's events (${RUNS} seeded runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 14 }), async (sequence) => {
        const real = await newCalendar();
        await fc.asyncModelRun(() => ({ model: {}, real }), sequence);
        // The faults end: the next pulls must bring Tryton level with Google.
        await control('/failures', 'DELETE');
        expect(await pull(real)).toBe(true);
        const google = await googleEvents(real);
        const tryton = await trytonEvents(real);
        expect(tryton).toEqual(google);
        expect(new Set(tryton.map((event: { google_id: string }) => event.google_id)).size).toBe(
          tryton.length,
        );
        const before = await fingerprint(real);
        const calls = await calendarCalls();
        expect(await pull(real)).toBe(true);
        expect((await calendarCalls()) - calls).toBe(1);
        expect(await fingerprint(real)).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `calendar model: ${RUNS} runs, ${pulls.ok} pulls succeeded, ${pulls.failed} failed under faults`,
    );
    pulls = { ok: 0, failed: 0 };
  }, 900_000);
});
