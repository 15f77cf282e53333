/**
 * What the calendar's model-based tests (fast-check `commands`) share: the changes a person makes in
 * Google Calendar (timed and all-day events created, events edited and deleted), with their arbitraries
 * and helpers, a calendar of a run's own, and the comparison of Tryton's events with Google's. The
 * commands act through the emulator's control API the test passes (`Control`), on the run's `GoogleRun`.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { lastDay } from '../../src/services/calendar/dates.js';
import type { Stack } from './stack.js';

/** The emulator's control API (`emulatorControl` of ./emulator-client.js), bound to the test's stack. */
export type Control = (path: string, method: string, body?: unknown) => Promise<any>;

/** The models check only the real side. */
export type Model = Record<string, never>;

/** What every run keeps of its calendar; each test's `Real` adds its own. */
export interface GoogleRun {
  /** The calendar's Google id. */
  readonly calendar: string;
  /** Its Tryton id. */
  readonly calendarId: number;
  /** Google ids of the events the run created, for the commands that pick one. */
  readonly events: string[];
  /** The Tryton id each Google id got: an event Tryton holds is never created again. */
  readonly trytonIds: Map<string, number>;
}

export const eventsPath = (real: GoogleRun) =>
  `/calendar/calendars/${encodeURIComponent(real.calendar)}/events`;

/** The `pick`th of `items`, round the list; undefined while it is empty. */
export const picked = <T>(items: readonly T[], pick: number): T | undefined =>
  items[pick % Math.max(1, items.length)];

export function ignoreGone(error: Error): void {
  // The event (or occurrence) was deleted by an earlier command: what a person would see too.
  if (!/: (404|410) /.test(error.message)) throw error;
}

export const zones = fc.constantFrom(
  'Europe/Paris',
  'America/New_York',
  'Asia/Kolkata',
  'UTC',
  'Pacific/Auckland',
);
/** Days from 2026-10-20: the weeks around Europe's (10-25) and America's (11-01) DST changes. */
export const day = fc.integer({ min: 0, max: 20 });
export const dateOf = (offset: number) => new Date(Date.UTC(2026, 9, 20 + offset)).toISOString().slice(0, 10);
const pad = (value: number) => String(value).padStart(2, '0');

export class CreateTimed implements fc.AsyncCommand<Model, GoogleRun> {
  constructor(
    readonly control: Control,
    readonly zone: string,
    readonly offset: number,
    readonly hour: number,
    readonly minutes: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: GoogleRun) {
    const date = dateOf(this.offset);
    const end = new Date(Date.UTC(2000, 0, 1, this.hour, this.minutes));
    const event = await this.control(eventsPath(real), 'POST', {
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

export class CreateAllDay implements fc.AsyncCommand<Model, GoogleRun> {
  constructor(
    readonly control: Control,
    readonly offset: number,
    readonly days: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: GoogleRun) {
    const event = await this.control(eventsPath(real), 'POST', {
      summary: `all-day ${this.offset}+${this.days}`,
      start: { date: dateOf(this.offset) },
      end: { date: dateOf(this.offset + this.days) },
    });
    real.events.push(event.id);
  }
  toString = () => `CreateAllDay(+${this.offset}d, ${this.days} days)`;
}

export class Edit implements fc.AsyncCommand<Model, GoogleRun> {
  constructor(
    readonly control: Control,
    readonly pick: number,
    readonly summary: string,
  ) {}
  check = () => true;
  async run(_model: Model, real: GoogleRun) {
    const id = picked(real.events, this.pick);
    if (id === undefined) return;
    await this.control(`${eventsPath(real)}/${id}`, 'PATCH', {
      summary: this.summary,
      location: `room ${this.pick}`,
    }).catch(ignoreGone);
  }
  toString = () => `Edit(#${this.pick}, ${JSON.stringify(this.summary)})`;
}

export class Delete implements fc.AsyncCommand<Model, GoogleRun> {
  constructor(
    readonly control: Control,
    readonly pick: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: GoogleRun) {
    const id = picked(real.events, this.pick);
    if (id === undefined) return;
    await this.control(`${eventsPath(real)}/${id}`, 'DELETE').catch(ignoreGone);
  }
  toString = () => `Delete(#${this.pick})`;
}

/** The arbitraries of the shared commands; `maxPick` bounds which created event an edit or deletion picks. */
export function googleChanges(control: Control, { maxPick }: { maxPick: number }) {
  return {
    createTimed: fc
      .tuple(zones, day, fc.integer({ min: 0, max: 22 }), fc.constantFrom(15, 30, 45))
      .map(([zone, offset, hour, minutes]) => new CreateTimed(control, zone, offset, hour, minutes)),
    createAllDay: fc
      .tuple(day, fc.integer({ min: 1, max: 3 }))
      .map(([offset, days]) => new CreateAllDay(control, offset, days)),
    edit: fc
      .tuple(fc.nat(maxPick), fc.string({ minLength: 1, maxLength: 12 }))
      .map(([pick, summary]) => new Edit(control, pick, summary)),
    delete: fc.nat(maxPick).map((pick) => new Delete(control, pick)),
  };
}

/**
 * The test's own GET of the Calendar API (`path` below /calendar/v3) as the credential's user: Google's
 * rendering of the instants. Up to `attempts` tries while it answers 5xx or 429 (faults a run left
 * queued are for the sidecar).
 */
export async function calendarApi(
  stack: Stack,
  credentialId: number,
  path: string,
  { attempts }: { attempts: number },
): Promise<any> {
  const { result } = await stack.rpc('credentials.get_access_token', { credential_id: credentialId });
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${stack.emulator.url}/calendar/v3${path}`, {
      headers: { authorization: `Bearer ${result.access_token}` },
    });
    if (response.ok) return response.json();
    if (attempt >= attempts || (response.status < 500 && response.status !== 429)) {
      throw new Error(`calendar API ${path}: ${response.status} ${await response.text()}`);
    }
  }
}

/**
 * A calendar of the run's own at Google (`google`, its id), as Tryton lists it for the credential,
 * its synchronization on: its Tryton id.
 */
export async function syncedCalendar(
  stack: Stack,
  control: Control,
  credentialId: number,
  { email, google, summary }: { email: string; google: string; summary: string },
): Promise<number> {
  await control(`/calendar/accounts/${encodeURIComponent(email)}/calendars`, 'POST', {
    id: google,
    summary,
    timeZone: 'Europe/Paris',
  });
  const listed = await stack.rpc('calendar.list_calendars', { credential_id: credentialId });
  const calendarId = listed.result.calendars.find((cal: { google_id: string }) => cal.google_id === google)
    .id as number;
  await stack.db('google_integration_calendar').where({ id: calendarId }).update({ sync_enabled: true });
  return calendarId;
}

/** Google's listing of the calendar's instances (singleEvents), every page, cancelled ones too. */
export async function googleInstances(googleApi: (path: string) => Promise<any>, real: GoogleRun) {
  const items: any[] = [];
  let pageToken: string | undefined;
  do {
    const page = await googleApi(
      `/calendars/${encodeURIComponent(real.calendar)}/events?singleEvents=true&maxResults=2500${pageToken ? `&pageToken=${pageToken}` : ''}`,
    );
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return items;
}

/** An event as the comparison sees it, on either side; `location` when the test compares it. */
export interface Projection {
  google_id: string;
  summary: string | null;
  location?: string | null;
  all_day: boolean;
  start: string;
  end: string;
}

/** What the comparison looks at. */
export interface Compared {
  readonly location: boolean;
}

const byGoogleId = (a: Projection, b: Projection) => a.google_id.localeCompare(b.google_id);

/** Google's instances as Tryton keeps them (an all-day event's last day, instants in UTC), by Google id. */
export function projectGoogle(items: readonly any[], compared: Compared): Projection[] {
  return items
    .map((item) => ({
      google_id: item.id as string,
      summary: item.summary ?? null,
      ...(compared.location ? { location: item.location ?? null } : {}),
      all_day: Boolean(item.start.date),
      start: item.start.date ?? new Date(item.start.dateTime).toISOString(),
      end: item.start.date
        ? lastDay(item.start.date, item.end.date)
        : new Date(item.end.dateTime).toISOString(),
    }))
    .sort(byGoogleId);
}

/**
 * Tryton's events of the calendar, by Google id, and the versions of each one's rows (xmin: any write
 * changes it).
 */
export async function trytonEvents(
  stack: Stack,
  real: GoogleRun,
  compared: Compared,
): Promise<{ events: Projection[]; rows: Map<string, string> }> {
  const result = await stack.db.raw(
    `SELECT e.id, e.google_id, d.summary, d.location, e.all_day,
            to_char(e.start_date, 'YYYY-MM-DD') AS start_date, to_char(e.end_date, 'YYYY-MM-DD') AS end_date,
            e.starts_at, e.ends_at, e.xmin::text || '/' || coalesce(d.xmin::text, '-') AS versions
       FROM google_integration_event e LEFT JOIN google_integration_event_detail d ON d.event = e.id
      WHERE e.calendar = ? ORDER BY e.google_id`,
    [real.calendarId],
  );
  const events = result.rows
    .map((row: any) => ({
      google_id: row.google_id,
      summary: row.summary,
      ...(compared.location ? { location: row.location } : {}),
      all_day: row.all_day,
      start: row.all_day ? row.start_date : row.starts_at.toISOString(),
      end: row.all_day ? row.end_date : row.ends_at.toISOString(),
    }))
    .sort(byGoogleId);
  return {
    events,
    rows: new Map(result.rows.map((row: any) => [row.google_id as string, row.versions as string])),
  };
}

/**
 * An event Tryton held is updated in place: never deleted and created again under a new id. `unique`:
 * first, no Google id twice.
 */
export async function keepsTrytonIds(
  stack: Stack,
  real: GoogleRun,
  { unique }: { unique: boolean },
): Promise<void> {
  const rows = await stack
    .db('google_integration_event')
    .where({ calendar: real.calendarId })
    .select('id', 'google_id');
  if (unique) expect(new Set(rows.map((row) => row.google_id)).size).toBe(rows.length);
  for (const { id, google_id: googleId } of rows) {
    const before = real.trytonIds.get(googleId);
    if (before !== undefined && before !== id)
      throw new Error(`event ${googleId} was created again in Tryton: id ${before}, now ${id}`);
    real.trytonIds.set(googleId, id);
  }
}

/**
 * What a round may write: the event rows (their versions and write dates), their details, the
 * sidecar's links and sync state, and the calendar's row itself (its version: neither a round nor
 * any bookkeeping may rewrite it when nothing changed; and what it tells the user). Equal before and
 * after a round that wrote nothing.
 */
export async function fingerprint(stack: Stack, real: GoogleRun): Promise<string> {
  const rows = await stack.db.raw(
    `SELECT string_agg(x, ',' ORDER BY x) AS f FROM (
       SELECT 'e' || xmin::text || '@' || write_date::text AS x FROM google_integration_event WHERE calendar = ?
       UNION ALL SELECT 'd' || d.xmin::text FROM google_integration_event_detail d
                   JOIN google_integration_event e ON e.id = d.event WHERE e.calendar = ?
       UNION ALL SELECT 'l' || xmin::text FROM google_integration_sidecar.event_link WHERE calendar_id = ?
       UNION ALL SELECT 's' || xmin::text FROM google_integration_sidecar.calendar_sync WHERE calendar_id = ?
       UNION ALL SELECT 'c' || xmin::text FROM google_integration_calendar WHERE id = ?) AS rows`,
    [real.calendarId, real.calendarId, real.calendarId, real.calendarId, real.calendarId],
  );
  const calendar = await stack
    .db('google_integration_calendar')
    .where({ id: real.calendarId })
    .first(
      'sync_status',
      'last_error',
      'sync_notice',
      'last_sync',
      'last_sync_created',
      'last_sync_updated',
      'last_sync_deleted',
      'last_sync_pushed',
      'last_sync_conflicts',
    );
  return `${rows.rows[0].f ?? ''} ${JSON.stringify(calendar)}`;
}
