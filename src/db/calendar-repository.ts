/**
 * Every statement of the calendar sync: Tryton's tables google_integration_calendar,
 * google_integration_event and google_integration_event_detail (declared by the module; every
 * write sets write_date/write_uid, inserts create_date/create_uid, as Tryton does), and the
 * sidecar's bookkeeping calendar_sync and event_link (docs/contracts.md, "Calendar synchronization").
 * Writes are skipped where nothing changed, so an idle sync writes nothing.
 */
import type { Knex } from 'knex';
import { withNaiveUtc } from './naive-utc.js';

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
 * Applies one page of Google's answer in one transaction, with one statement per table whatever
 * the page's size: events, their details and links upserted as sets, etags of unchanged events
 * refreshed, cancelled events deleted. Unchanged events (same content hash) write nothing more.
 */
export async function applyEventPage(
  knex: Knex,
  calendarId: number,
  upserts: readonly EventWrite[],
  cancelled: readonly string[],
): Promise<PageCounts> {
  const counts: PageCounts = { created: 0, updated: 0, deleted: 0 };
  if (upserts.length === 0 && cancelled.length === 0) return counts;
  return knex.transaction(async (trx) => {
    const links = new Map(
      (
        await trx(LINKS)
          .where({ calendar_id: calendarId })
          .whereIn(
            'google_id',
            upserts.map((write) => write.event.google_id),
          )
          .select<Array<{ google_id: string; etag: string | null; content_hash: string }>>(
            'google_id',
            'etag',
            'content_hash',
          )
      ).map((link) => [link.google_id, link]),
    );
    const changed: EventWrite[] = [];
    const etags: Array<[string, string | null]> = [];
    // A page may list an event twice (an edit while paging): the last one counts.
    for (const write of new Map(upserts.map((one) => [one.event.google_id, one])).values()) {
      const link = links.get(write.event.google_id);
      if (link?.content_hash !== write.hash) changed.push(write);
      else if (link.etag !== write.etag) etags.push([link.google_id, write.etag]);
    }
    if (changed.length > 0) {
      const ids = await upsertEvents(trx, calendarId, changed);
      await upsertDetails(trx, changed, ids);
      await upsertLinks(trx, calendarId, changed, ids);
      for (const write of changed) {
        if (links.has(write.event.google_id)) counts.updated++;
        else counts.created++;
      }
    }
    if (etags.length > 0) {
      await trx.raw(
        `UPDATE ${LINKS} AS l SET etag = v.etag
           FROM (VALUES ${etags.map(() => '(?, ?)').join(', ')}) AS v (google_id, etag)
          WHERE l.calendar_id = ? AND l.google_id = v.google_id`,
        [...etags.flat(), calendarId],
      );
    }
    if (cancelled.length > 0) counts.deleted += await deleteEvents(trx, calendarId, cancelled);
    return counts;
  });
}

const CREATED_AND_WRITTEN = "timezone('UTC', now()), 0, timezone('UTC', now()), 0";

/** One INSERT ... ON CONFLICT for the page's changed events; returns their ids by Google id. */
async function upsertEvents(
  trx: Knex.Transaction,
  calendarId: number,
  writes: readonly EventWrite[],
): Promise<Map<string, number>> {
  const rows = writes.map((write) => ({
    ...withNaiveUtc(write.event),
    calendar: calendarId,
    sync_status: 'synced',
  }));
  const columns = Object.keys(rows[0] as object);
  const result = await trx.raw<{ rows: Array<{ id: number; google_id: string }> }>(
    `INSERT INTO ${EVENTS} (${columns.map((column) => `"${column}"`).join(', ')}, create_date, create_uid, write_date, write_uid)
     VALUES ${rows.map(() => `(${columns.map(() => '?').join(', ')}, ${CREATED_AND_WRITTEN})`).join(', ')}
     ON CONFLICT (calendar, google_id) DO UPDATE SET ${columns
       .map((column) => `"${column}" = excluded."${column}"`)
       .join(', ')}, write_date = excluded.write_date, write_uid = excluded.write_uid
     RETURNING id, google_id`,
    rows.flatMap((row) => columns.map((column) => (row as Record<string, Knex.Value>)[column] ?? null)),
  );
  return new Map(result.rows.map((row) => [row.google_id, row.id]));
}

async function upsertDetails(trx: Knex.Transaction, writes: readonly EventWrite[], ids: Map<string, number>) {
  const rows = writes.map((write) => ({
    event: ids.get(write.event.google_id),
    ...withNaiveUtc(write.detail),
  }));
  const columns = Object.keys(rows[0] as object);
  await trx.raw(
    `INSERT INTO ${DETAILS} (${columns.map((column) => `"${column}"`).join(', ')}, create_date, create_uid, write_date, write_uid)
     VALUES ${rows.map(() => `(${columns.map(() => '?').join(', ')}, ${CREATED_AND_WRITTEN})`).join(', ')}
     ON CONFLICT (event) DO UPDATE SET ${columns
       .filter((column) => column !== 'event')
       .map((column) => `"${column}" = excluded."${column}"`)
       .join(', ')}, write_date = excluded.write_date, write_uid = excluded.write_uid`,
    rows.flatMap((row) => columns.map((column) => (row as Record<string, Knex.Value>)[column] ?? null)),
  );
}

async function upsertLinks(
  trx: Knex.Transaction,
  calendarId: number,
  writes: readonly EventWrite[],
  ids: Map<string, number>,
) {
  await trx.raw(
    `INSERT INTO ${LINKS} (calendar_id, google_id, event_id, etag, content_hash)
     VALUES ${writes.map(() => '(?, ?, ?, ?, ?)').join(', ')}
     ON CONFLICT (calendar_id, google_id) DO UPDATE
       SET event_id = excluded.event_id, etag = excluded.etag, content_hash = excluded.content_hash`,
    writes.flatMap((write) => [
      calendarId,
      write.event.google_id,
      ids.get(write.event.google_id) ?? null,
      write.etag,
      write.hash,
    ]),
  );
}

async function deleteEvents(knex: Knex, calendarId: number, googleIds: readonly string[]): Promise<number> {
  const deleted = await knex(EVENTS).where({ calendar: calendarId }).whereIn('google_id', googleIds).delete();
  await knex(LINKS).where({ calendar_id: calendarId }).whereIn('google_id', googleIds).delete();
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
    let deleted = 0;
    for (let start = 0; start < gone.length; start += 1000) {
      deleted += await deleteEvents(trx, calendarId, gone.slice(start, start + 1000));
    }
    // Links whose event a user deleted in Tryton are stale too.
    await trx(LINKS)
      .where({ calendar_id: calendarId })
      .whereNotIn('google_id', [...listed])
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
