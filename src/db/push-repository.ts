/**
 * Statements of the push and of the merge (docs/contracts.md, "Two-way rules"): Tryton's pending
 * changes read (events with `pending_push`, tombstones) with their links, and each outcome settled in
 * one transaction once Google answered: the link (etag, content hash, base), Tryton's rows where
 * `local_version` is still the one pushed (a change saved meanwhile stays pending), conflict rows.
 * Never a lock or a connection held while Google answers.
 */
import type { Knex } from 'knex';
import type { EventWrite } from './event-repository.js';

const EVENTS = 'google_integration_event';
const DETAILS = 'google_integration_event_detail';
const TOMBSTONES = 'google_integration_event_tombstone';
const CONFLICTS = 'google_integration_event_conflict';
const LINKS = 'google_integration_sidecar.event_link';
const STAMPED = "write_date = timezone('UTC', now()), write_uid = 0";

/** The synchronized columns of a Tryton event and its detail, as the push and the merge read them. */
export interface TrytonEvent {
  readonly summary: string | null;
  readonly description: string | null;
  readonly location: string | null;
  readonly attendees: string | null;
  readonly visibility: string | null;
  readonly status: string | null;
  readonly all_day: boolean | null;
  readonly start_date: string | null;
  readonly end_date: string | null;
  readonly starts_at: Date | null;
  readonly ends_at: Date | null;
  readonly time_zone: string | null;
  readonly repeat_frequency: string | null;
  readonly repeat_count: number | null;
  readonly repeat_until: string | null;
}

/** A Tryton event with a change to push, its synchronized columns and its link. */
export interface PendingEvent extends TrytonEvent {
  readonly id: number;
  readonly google_id: string;
  readonly local_version: number;
  readonly local_write: Date | null;
  readonly recurring_event_id: string | null;
  /** The link: null until Google confirmed its creation. */
  readonly etag: string | null;
  readonly linked: boolean;
  readonly base: unknown;
}

export interface Tombstone {
  readonly google_id: string;
  readonly summary: string | null;
  readonly etag: string | null;
  readonly linked: boolean;
  readonly base: unknown;
}

export interface ConflictRow {
  readonly google_id: string;
  readonly event: number | null;
  readonly kind: 'edit' | 'delete';
  readonly winner: 'tryton' | 'google';
  readonly fields: readonly string[];
  readonly kept: unknown;
  readonly lost: unknown;
}

const PENDING_COLUMNS = `e.id, e.google_id, e.local_version, e.local_write, e.recurring_event_id,
  d.summary, d.description, d.location, d.attendees, e.visibility, e.status, e.all_day,
  to_char(e.start_date, 'YYYY-MM-DD') AS start_date, to_char(e.end_date, 'YYYY-MM-DD') AS end_date,
  e.starts_at, e.ends_at, e.time_zone, e.repeat_frequency, e.repeat_count,
  to_char(e.repeat_until, 'YYYY-MM-DD') AS repeat_until,
  l.etag, l.google_id IS NOT NULL AS linked, l.base`;

/** The calendar's events with a change to push, series first (their occurrences come after them). */
export async function pendingEvents(knex: Knex, calendarId: number): Promise<PendingEvent[]> {
  const result = await knex.raw<{ rows: PendingEvent[] }>(
    `SELECT ${PENDING_COLUMNS}
       FROM ${EVENTS} e
       LEFT JOIN ${DETAILS} d ON d.event = e.id
       LEFT JOIN ${LINKS} l ON l.calendar_id = e.calendar AND l.google_id = e.google_id
      WHERE e.calendar = ? AND e.sync_status = 'pending_push'
      ORDER BY e.repeat_frequency IS NULL, e.id`,
    [calendarId],
  );
  return result.rows;
}

/** The pending events among `googleIds` (a page the pull is writing). */
export async function pendingAmong(
  knex: Knex,
  calendarId: number,
  googleIds: readonly string[],
): Promise<PendingEvent[]> {
  if (googleIds.length === 0) return [];
  const result = await knex.raw<{ rows: PendingEvent[] }>(
    `SELECT ${PENDING_COLUMNS}
       FROM ${EVENTS} e
       LEFT JOIN ${DETAILS} d ON d.event = e.id
       LEFT JOIN ${LINKS} l ON l.calendar_id = e.calendar AND l.google_id = e.google_id
      WHERE e.calendar = ? AND e.sync_status = 'pending_push' AND e.google_id = ANY(?)`,
    [calendarId, [...googleIds]],
  );
  return result.rows;
}

export async function tombstones(
  knex: Knex,
  calendarId: number,
  googleIds?: readonly string[],
): Promise<Tombstone[]> {
  if (googleIds?.length === 0) return [];
  const result = await knex.raw<{ rows: Tombstone[] }>(
    `SELECT t.google_id, t.summary, l.etag, l.google_id IS NOT NULL AS linked, l.base
       FROM ${TOMBSTONES} t
       LEFT JOIN ${LINKS} l ON l.calendar_id = t.calendar AND l.google_id = t.google_id
      WHERE t.calendar = ? ${googleIds ? 'AND t.google_id = ANY(?)' : ''}
      ORDER BY t.id`,
    googleIds ? [calendarId, [...googleIds]] : [calendarId],
  );
  return result.rows;
}

/** The calendars of a database with changes waiting in Tryton (a round is queued for each at start). */
export async function calendarsWithPendingChanges(
  knex: Knex,
): Promise<Array<{ id: number; credential: number }>> {
  const result = await knex.raw<{ rows: Array<{ id: number; credential: number }> }>(
    `SELECT c.id, c.credential FROM google_integration_calendar c
      WHERE c.sync_enabled AND c.active
        AND (EXISTS (SELECT 1 FROM ${EVENTS} e WHERE e.calendar = c.id AND e.sync_status = 'pending_push')
             OR EXISTS (SELECT 1 FROM ${TOMBSTONES} t WHERE t.calendar = c.id))
      ORDER BY c.id`,
  );
  return result.rows;
}

/**
 * Google holds `answer` (what it answered to the push, or what it holds after a merge): the link
 * follows it, and Tryton's rows take it where the event is still at `version` (no change saved since).
 * Returns whether Tryton's rows were written.
 */
export async function settle(
  knex: Knex,
  calendarId: number,
  eventId: number,
  version: number,
  answer: EventWrite,
  base: unknown,
  conflict?: ConflictRow,
): Promise<boolean> {
  return knex.transaction(async (trx) => {
    const columns = Object.keys(answer.event).filter((column) => column !== 'google_id');
    const updated = await trx.raw<{ rowCount: number }>(
      `UPDATE ${EVENTS} AS e SET ${columns.map((column) => `"${column}" = v."${column}"`).join(', ')},
              sync_status = 'synced', ${STAMPED}
         FROM json_populate_record(NULL::${EVENTS}, ?::json) AS v
        WHERE e.id = ? AND e.local_version = ?`,
      [JSON.stringify(answer.event), eventId, version],
    );
    const written = updated.rowCount === 1;
    if (written) {
      const detailColumns = Object.keys(answer.detail);
      await trx.raw(
        `INSERT INTO ${DETAILS} (event, ${detailColumns.map((c) => `"${c}"`).join(', ')},
                                create_date, create_uid, write_date, write_uid)
         SELECT ?, ${detailColumns.map((c) => `v."${c}"`).join(', ')},
                timezone('UTC', now()), 0, timezone('UTC', now()), 0
           FROM json_populate_record(NULL::${DETAILS}, ?::json) AS v
         ON CONFLICT (event) DO UPDATE SET ${detailColumns.map((c) => `"${c}" = excluded."${c}"`).join(', ')},
           ${STAMPED}`,
        [eventId, JSON.stringify(answer.detail)],
      );
    }
    await trx.raw(
      `INSERT INTO ${LINKS} (calendar_id, google_id, event_id, etag, content_hash, base)
       VALUES (?, ?, ?, ?, ?, ?::jsonb)
       ON CONFLICT (calendar_id, google_id) DO UPDATE SET event_id = excluded.event_id, etag = excluded.etag,
         content_hash = excluded.content_hash, base = excluded.base`,
      [calendarId, answer.event.google_id, eventId, answer.etag, answer.hash, JSON.stringify(base)],
    );
    if (conflict) await insertConflict(trx, calendarId, conflict);
    return written;
  });
}

/**
 * Tryton keeps its merged values (still to push) and learns Google's etag and version as the base:
 * the next push sends them with `If-Match` of what Google holds now.
 */
export async function mergedLocally(
  knex: Knex,
  calendarId: number,
  event: PendingEvent,
  columns: { event: Record<string, unknown>; detail: Record<string, unknown> } | null,
  link: { etag: string | null; hash: string; base: unknown },
  conflict?: ConflictRow,
): Promise<void> {
  await knex.transaction(async (trx) => {
    if (columns) {
      const updated = await trx.raw<{ rowCount: number }>(
        `UPDATE ${EVENTS} AS e SET ${Object.keys(columns.event)
          .map((column) => `"${column}" = v."${column}"`)
          .join(', ')}, ${STAMPED}
           FROM json_populate_record(NULL::${EVENTS}, ?::json) AS v
          WHERE e.id = ? AND e.local_version = ?`,
        [JSON.stringify(columns.event), event.id, event.local_version],
      );
      if (updated.rowCount !== 1) return;
      await trx.raw(
        `UPDATE ${DETAILS} AS d SET ${Object.keys(columns.detail)
          .map((column) => `"${column}" = v."${column}"`)
          .join(', ')}, ${STAMPED}
           FROM json_populate_record(NULL::${DETAILS}, ?::json) AS v
          WHERE d.event = ?`,
        [JSON.stringify(columns.detail), event.id],
      );
    }
    await trx.raw(
      `INSERT INTO ${LINKS} (calendar_id, google_id, event_id, etag, content_hash, base)
       VALUES (?, ?, ?, ?, ?, ?::jsonb)
       ON CONFLICT (calendar_id, google_id) DO UPDATE SET event_id = excluded.event_id, etag = excluded.etag,
         content_hash = excluded.content_hash, base = excluded.base`,
      [calendarId, event.google_id, event.id, link.etag, link.hash, JSON.stringify(link.base)],
    );
    if (conflict) await insertConflict(trx, calendarId, conflict);
  });
}

/** Google deleted the event (the deletion wins): Tryton's goes, unless changed again meanwhile. */
export async function deleteDeleted(
  knex: Knex,
  calendarId: number,
  event: { id: number; google_id: string; local_version: number },
  conflict?: ConflictRow,
): Promise<boolean> {
  return knex.transaction(async (trx) => {
    const deleted = await trx.raw<{ rowCount: number }>(
      `DELETE FROM ${EVENTS} WHERE id = ? AND local_version = ?`,
      [event.id, event.local_version],
    );
    if (deleted.rowCount !== 1) return false;
    await trx.raw(`DELETE FROM ${LINKS} WHERE calendar_id = ? AND google_id = ?`, [
      calendarId,
      event.google_id,
    ]);
    if (conflict) await insertConflict(trx, calendarId, { ...conflict, event: null });
    return true;
  });
}

/** Google confirmed a deletion made in Tryton (or the event was gone already). */
export async function forgetTombstone(
  knex: Knex,
  calendarId: number,
  googleId: string,
  conflict?: ConflictRow,
): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw(`DELETE FROM ${TOMBSTONES} WHERE calendar = ? AND google_id = ?`, [calendarId, googleId]);
    await trx.raw(`DELETE FROM ${LINKS} WHERE calendar_id = ? AND google_id = ?`, [calendarId, googleId]);
    if (conflict) await insertConflict(trx, calendarId, conflict);
  });
}

async function insertConflict(
  trx: Knex.Transaction,
  calendarId: number,
  conflict: ConflictRow,
): Promise<void> {
  await trx.raw(
    `INSERT INTO ${CONFLICTS} (calendar, event, google_id, kind, winner, fields, kept, lost, state,
                               create_date, create_uid, write_date, write_uid)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', timezone('UTC', now()), 0, timezone('UTC', now()), 0)`,
    [
      calendarId,
      conflict.event,
      conflict.google_id,
      conflict.kind,
      conflict.winner,
      conflict.fields.join(','),
      JSON.stringify(conflict.kept),
      JSON.stringify(conflict.lost),
    ],
  );
}
