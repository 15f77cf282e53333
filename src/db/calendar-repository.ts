/**
 * Every statement of the calendar sync: Tryton's tables google_integration_calendar,
 * google_integration_event and google_integration_event_detail (declared by the module; every
 * write sets write_date/write_uid, inserts create_date/create_uid, as Tryton does), and the
 * sidecar's bookkeeping calendar_sync and event_link (docs/contracts.md, "Calendar synchronization").
 * Writes are skipped where nothing changed, so an idle sync writes nothing.
 */
import type { Knex } from 'knex';

const CALENDARS = 'google_integration_calendar';
const EVENTS = 'google_integration_event';
const DETAILS = 'google_integration_event_detail';
const SYNC = 'google_integration_sidecar.calendar_sync';
const LINKS = 'google_integration_sidecar.event_link';
const SIDECAR_UID = 0;

const now = (knex: Knex) => knex.raw("timezone('UTC', now())");
const stamps = (knex: Knex) => ({ write_date: now(knex), write_uid: SIDECAR_UID });
const creation = (knex: Knex) => ({ create_date: now(knex), create_uid: SIDECAR_UID });

export interface CalendarListEntry {
  readonly google_id: string;
  readonly name: string | null;
  readonly time_zone: string | null;
  readonly access_role: string | null;
  readonly color: string | null;
  readonly is_primary: boolean;
}

export interface SyncCalendar {
  readonly id: number;
  readonly google_id: string;
  readonly name: string | null;
  readonly time_zone: string | null;
  readonly sync_enabled: boolean;
  readonly sync_status: string | null;
}

/** Brings calendarList into Tryton: new calendars added, changed ones updated, gone ones inactive. */
export async function storeCalendarList(
  knex: Knex,
  credentialId: number,
  entries: readonly CalendarListEntry[],
): Promise<SyncCalendar[]> {
  return knex.transaction(async (trx) => {
    const existing = await trx(CALENDARS)
      .where({ credential: credentialId })
      .select<Array<CalendarListEntry & { id: number; active: boolean }>>(
        'id',
        'google_id',
        'name',
        'time_zone',
        'access_role',
        'color',
        'is_primary',
        'active',
      );
    const byGoogleId = new Map(existing.map((row) => [row.google_id, row]));
    for (const entry of entries) {
      const row = byGoogleId.get(entry.google_id);
      if (!row) {
        await trx(CALENDARS).insert({
          ...entry,
          credential: credentialId,
          active: true,
          sync_enabled: false,
          sync_status: 'never',
          ...creation(trx),
          ...stamps(trx),
        });
      } else if (
        !row.active ||
        (['name', 'time_zone', 'access_role', 'color', 'is_primary'] as const).some(
          (key) => row[key] !== entry[key],
        )
      ) {
        await trx(CALENDARS)
          .where({ id: row.id })
          .update({ ...entry, active: true, ...stamps(trx) });
      }
    }
    const listed = new Set(entries.map((entry) => entry.google_id));
    const gone = existing.filter((row) => row.active && !listed.has(row.google_id)).map((row) => row.id);
    if (gone.length > 0)
      await trx(CALENDARS)
        .whereIn('id', gone)
        .update({ active: false, ...stamps(trx) });
    return calendarsOf(trx, credentialId);
  });
}

export async function calendarsOf(knex: Knex, credentialId: number): Promise<SyncCalendar[]> {
  return knex(CALENDARS)
    .where({ credential: credentialId })
    .orderBy('id')
    .select<SyncCalendar[]>('id', 'google_id', 'name', 'time_zone', 'sync_enabled', 'sync_status');
}

/** The active calendars of a credential to pull (one, when `calendarId` is given). */
export async function calendarsToSync(
  knex: Knex,
  credentialId: number,
  calendarId?: number,
): Promise<SyncCalendar[]> {
  const query = knex(CALENDARS).where({ credential: credentialId, active: true, sync_enabled: true });
  if (calendarId !== undefined) query.where({ id: calendarId });
  return query
    .orderBy('id')
    .select<SyncCalendar[]>('id', 'google_id', 'name', 'time_zone', 'sync_enabled', 'sync_status');
}

/**
 * Every calendar to pull in the background, with its credential: ticked calendars of credentials
 * whose synchronization is on (Sync Now needs only the calendar's switch); none where the module's
 * calendar table does not exist (a standalone database, an older module).
 */
export async function enabledCalendars(knex: Knex): Promise<Array<{ id: number; credential: number }>> {
  const table = await knex.raw<{ rows: Array<{ found: string | null }> }>(
    'SELECT to_regclass(?)::text AS found',
    [`public.${CALENDARS}`],
  );
  if (!table.rows[0]?.found) return [];
  return knex(`${CALENDARS} as cal`)
    .join('google_integration_google_credentials as cred', 'cred.id', 'cal.credential')
    .where({ 'cal.active': true, 'cal.sync_enabled': true, 'cred.sync_enabled': true })
    .whereIn('cred.state', ['authorized', 'authorization_pending'])
    .whereNotNull('cred.refresh_token')
    .orderBy('cal.id')
    .select<Array<{ id: number; credential: number }>>('cal.id', 'cal.credential');
}

export async function syncToken(knex: Knex, calendarId: number): Promise<string | null> {
  const row = await knex(SYNC)
    .where({ calendar_id: calendarId })
    .first<{ sync_token: string | null }>('sync_token');
  return row?.sync_token ?? null;
}

export interface EventWrite {
  readonly hash: string;
  readonly etag: string | null;
  readonly event: Record<string, unknown> & { readonly google_id: string };
  readonly detail: Record<string, unknown>;
}

export interface PageCounts {
  created: number;
  updated: number;
  deleted: number;
}

/**
 * Applies one page of Google's answer in one transaction, with a fixed number of statements
 * whatever the page's size: the links read, the changed events with their details and links
 * upserted in one statement, etags of unchanged events refreshed, cancelled events deleted.
 * Unchanged events (same content hash) write nothing more.
 */
export async function applyEventPage(
  knex: Knex,
  calendarId: number,
  upserts: readonly EventWrite[],
  cancelled: readonly string[],
): Promise<PageCounts> {
  const counts: PageCounts = { created: 0, updated: 0, deleted: 0 };
  if (upserts.length === 0 && cancelled.length === 0) return counts;
  // A page may list an event twice (an edit while paging): the last one counts.
  const writes = [...new Map(upserts.map((one) => [one.event.google_id, one])).values()];
  return knex.transaction(async (trx) => {
    const found = await trx.raw<{
      rows: Array<{ google_id: string; etag: string | null; content_hash: string }>;
    }>(`SELECT google_id, etag, content_hash FROM ${LINKS} WHERE calendar_id = ? AND google_id = ANY(?)`, [
      calendarId,
      writes.map((write) => write.event.google_id),
    ]);
    const links = new Map(found.rows.map((link) => [link.google_id, link]));
    const changed: EventWrite[] = [];
    const etags: Array<{ google_id: string; etag: string | null }> = [];
    for (const write of writes) {
      const link = links.get(write.event.google_id);
      if (link?.content_hash !== write.hash) changed.push(write);
      else if (link.etag !== write.etag) etags.push({ google_id: link.google_id, etag: write.etag });
    }
    if (changed.length > 0) {
      await upsertEvents(trx, calendarId, changed);
      for (const write of changed) {
        if (links.has(write.event.google_id)) counts.updated++;
        else counts.created++;
      }
    }
    if (etags.length > 0) {
      await trx.raw(
        `UPDATE ${LINKS} AS l SET etag = v.etag
           FROM json_populate_recordset(NULL::${LINKS}, ?::json) AS v
          WHERE l.calendar_id = ? AND l.google_id = v.google_id`,
        [JSON.stringify(etags), calendarId],
      );
    }
    if (cancelled.length > 0) counts.deleted += await deleteEvents(trx, calendarId, cancelled);
    return counts;
  });
}

const CREATED_AND_WRITTEN = "timezone('UTC', now()), 0, timezone('UTC', now()), 0";

/**
 * The page's changed events, their details and links in one statement, the rows travelling as one
 * JSON parameter: a page costs one round trip and PostgreSQL parses one short statement, where a
 * multi-row VALUES of 2,500 rows has tens of thousands of parameters to bind and plan. Dates
 * travel as JSON's ISO text in UTC; Tryton's Timestamp columns are `timestamp without time zone`,
 * whose input ignores the zone suffix, so they hold naive UTC as Tryton expects.
 */
async function upsertEvents(trx: Knex.Transaction, calendarId: number, writes: readonly EventWrite[]) {
  const eventColumns = Object.keys((writes[0] as EventWrite).event).filter(
    (column) => column !== 'calendar' && column !== 'sync_status',
  );
  const detailColumns = Object.keys((writes[0] as EventWrite).detail).filter((column) => column !== 'event');
  // The objects as they are, nested: no copy of each row just to flatten it.
  const rows = writes.map((write) => ({
    e: write.event,
    d: write.detail,
    etag: write.etag,
    hash: write.hash,
  }));
  const list = (columns: readonly string[], prefix = '') =>
    columns.map((column) => `${prefix}"${column}"`).join(', ');
  const assign = (columns: readonly string[]) =>
    columns.map((column) => `"${column}" = excluded."${column}"`).join(', ');
  await trx.raw(
    `WITH input AS MATERIALIZED (SELECT value AS j FROM json_array_elements(?::json)),
     event AS (
       INSERT INTO ${EVENTS} (calendar, sync_status, ${list(eventColumns)},
                              create_date, create_uid, write_date, write_uid)
       SELECT ?, 'synced', ${list(eventColumns, 'e.')}, ${CREATED_AND_WRITTEN}
         FROM input, json_populate_record(NULL::${EVENTS}, input.j->'e') AS e
       ON CONFLICT (calendar, google_id) DO UPDATE SET sync_status = excluded.sync_status,
         ${assign(eventColumns)}, write_date = excluded.write_date, write_uid = excluded.write_uid
       RETURNING id, google_id
     ),
     detail AS (
       INSERT INTO ${DETAILS} (event, ${list(detailColumns)}, create_date, create_uid, write_date, write_uid)
       SELECT event.id, ${list(detailColumns, 'd.')}, ${CREATED_AND_WRITTEN}
         FROM input JOIN event ON event.google_id = input.j->'e'->>'google_id',
              json_populate_record(NULL::${DETAILS}, input.j->'d') AS d
       ON CONFLICT (event) DO UPDATE SET ${assign(detailColumns)},
         write_date = excluded.write_date, write_uid = excluded.write_uid
     )
     INSERT INTO ${LINKS} (calendar_id, google_id, event_id, etag, content_hash)
     SELECT ?, event.google_id, event.id, input.j->>'etag', input.j->>'hash'
       FROM input JOIN event ON event.google_id = input.j->'e'->>'google_id'
     ON CONFLICT (calendar_id, google_id) DO UPDATE
       SET event_id = excluded.event_id, etag = excluded.etag, content_hash = excluded.content_hash`,
    [JSON.stringify(rows), calendarId, calendarId],
  );
}

async function deleteEvents(knex: Knex, calendarId: number, googleIds: readonly string[]): Promise<number> {
  const ids = [...googleIds];
  const deleted = await knex(EVENTS)
    .where({ calendar: calendarId })
    .whereRaw('google_id = ANY(?)', [ids])
    .delete();
  await knex(LINKS).where({ calendar_id: calendarId }).whereRaw('google_id = ANY(?)', [ids]).delete();
  return deleted;
}

/** After a full pull: what Tryton holds that Google no longer listed was deleted in between. */
export async function deleteEventsNotIn(
  knex: Knex,
  calendarId: number,
  listed: ReadonlySet<string>,
): Promise<number> {
  return knex.transaction(async (trx) => {
    const held = await trx(EVENTS).where({ calendar: calendarId }).pluck<string[]>('google_id');
    const gone = held.filter((googleId) => !listed.has(googleId));
    const deleted = gone.length > 0 ? await deleteEvents(trx, calendarId, gone) : 0;
    // Links whose event a user deleted in Tryton are stale too.
    await trx(LINKS)
      .where({ calendar_id: calendarId })
      .whereRaw('NOT (google_id = ANY(?))', [[...listed]])
      .delete();
    return deleted;
  });
}

/** The end of a successful pull: its token, and what it did for users to see (nothing when idle). */
export async function finishSync(
  knex: Knex,
  calendar: SyncCalendar,
  token: string | null,
  previousToken: string | null,
  counts: PageCounts,
): Promise<void> {
  const changed = counts.created + counts.updated + counts.deleted > 0;
  if (token !== previousToken) {
    await knex.raw(
      `INSERT INTO ${SYNC} (calendar_id, sync_token, failures, last_attempt_at) VALUES (?, ?, 0, now())
       ON CONFLICT (calendar_id) DO UPDATE SET sync_token = excluded.sync_token, failures = 0, last_attempt_at = now()`,
      [calendar.id, token],
    );
  }
  if (changed || calendar.sync_status !== 'ok') {
    await knex(CALENDARS)
      .where({ id: calendar.id })
      .update({
        sync_status: 'ok',
        last_error: null,
        last_sync: now(knex),
        last_sync_created: counts.created,
        last_sync_updated: counts.updated,
        last_sync_deleted: counts.deleted,
        ...stamps(knex),
      });
  }
}

/** The credential's `last_sync`: the end of the last pull that changed something in Tryton. */
export async function markCredentialSynced(knex: Knex, credentialId: number): Promise<void> {
  await knex('google_integration_google_credentials')
    .where({ id: credentialId })
    .update({ last_sync: now(knex), ...stamps(knex) });
}

/** The sync token is forgotten when Google says it is no longer valid (410). */
export async function forgetSyncToken(knex: Knex, calendarId: number): Promise<void> {
  await knex(SYNC).where({ calendar_id: calendarId }).update({ sync_token: null });
}

export async function recordSyncFailure(knex: Knex, calendarId: number, message: string): Promise<void> {
  await knex.raw(
    `INSERT INTO ${SYNC} (calendar_id, failures, last_attempt_at) VALUES (?, 1, now())
     ON CONFLICT (calendar_id) DO UPDATE SET failures = ${SYNC}.failures + 1, last_attempt_at = now()`,
    [calendarId],
  );
  await knex(CALENDARS)
    .where({ id: calendarId })
    .update({ sync_status: 'failing', last_error: message, ...stamps(knex) });
}
