/**
 * Every statement on a calendar's events: Tryton's google_integration_event and
 * google_integration_event_detail (declared by the module; every write sets write_date/write_uid,
 * inserts create_date/create_uid, as Tryton does), and the sidecar's event_link and skipped_event
 * (docs/contracts.md, "Calendar synchronization"). A page of Google's answer is applied in one
 * transaction with a fixed number of statements; unchanged items write nothing.
 */
import type { Knex } from 'knex';

const EVENTS = 'google_integration_event';
const DETAILS = 'google_integration_event_detail';
const LINKS = 'google_integration_sidecar.event_link';
const SKIPPED = 'google_integration_sidecar.skipped_event';
const TOMBSTONES = 'google_integration_event_tombstone';

export interface EventWrite {
  readonly hash: string;
  readonly etag: string | null;
  readonly event: Record<string, unknown> & { readonly google_id: string };
  readonly detail: Record<string, unknown>;
  /** The synchronized fields as Google holds them: the merge's base once Tryton holds them too. */
  readonly base: unknown;
}

export interface PageCounts {
  created: number;
  updated: number;
  deleted: number;
}

/** An item Google sent that the pull did not take, and why. */
export interface RefusedItem {
  readonly google_id: string;
  readonly reason: string;
}

export interface PageOutcome extends PageCounts {
  /** Whether the calendar's list of skipped items changed (its notice is then written again). */
  skippedChanged: boolean;
}

/**
 * Applies one page of Google's answer in one transaction, with a fixed number of statements
 * whatever the page's size: the links read, the changed events with their details and links
 * upserted in one statement, etags of unchanged events refreshed, cancelled events deleted.
 * Unchanged events (same content hash) write nothing more. Events with a user's change not yet
 * pushed, and events deleted in Tryton (tombstones), are the merge's (pull-merge.ts): the caller
 * leaves them out, and the statements skip any that became so meanwhile.
 */
export async function applyEventPage(
  knex: Knex,
  calendarId: number,
  upserts: readonly EventWrite[],
  cancelled: readonly string[],
  refused: readonly RefusedItem[] = [],
): Promise<PageOutcome> {
  const counts: PageOutcome = { created: 0, updated: 0, deleted: 0, skippedChanged: false };
  if (upserts.length === 0 && cancelled.length === 0 && refused.length === 0) return counts;
  // A page may list an event twice (an edit while paging): the last one counts.
  const writes = [...new Map(upserts.map((one) => [one.event.google_id, one])).values()];
  return knex.transaction(async (trx) => {
    const found = await trx.raw<{
      rows: Array<{ google_id: string; etag: string | null; content_hash: string; no_base: boolean }>;
    }>(
      `SELECT google_id, etag, content_hash, base IS NULL AS no_base FROM ${LINKS} WHERE calendar_id = ? AND google_id = ANY(?)`,
      [calendarId, writes.map((write) => write.event.google_id)],
    );
    const links = new Map(found.rows.map((link) => [link.google_id, link]));
    const changed: EventWrite[] = [];
    const etags: Array<{ google_id: string; etag: string | null; base: unknown }> = [];
    for (const write of writes) {
      const link = links.get(write.event.google_id);
      if (link?.content_hash !== write.hash) changed.push(write);
      // A link from before the merge existed gets its base once, from an unchanged event.
      else if (link.etag !== write.etag || link.no_base)
        etags.push({ google_id: link.google_id, etag: write.etag, base: write.base });
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
        `UPDATE ${LINKS} AS l SET etag = v.etag, base = COALESCE(l.base, v.base)
           FROM json_populate_recordset(NULL::${LINKS}, ?::json) AS v
          WHERE l.calendar_id = ? AND l.google_id = v.google_id`,
        [JSON.stringify(etags), calendarId],
      );
    }
    if (cancelled.length > 0) counts.deleted += await deleteEvents(trx, calendarId, cancelled);
    counts.skippedChanged = await noteSkipped(
      trx,
      calendarId,
      [...writes.map((write) => write.event.google_id), ...cancelled],
      refused,
    );
    return counts;
  });
}

/**
 * Keeps skipped_event in step with a page: the items refused are recorded with their reason, those
 * that came valid (or cancelled) are forgotten. Reads first, so an unchanged page writes nothing.
 */
async function noteSkipped(
  trx: Knex.Transaction,
  calendarId: number,
  taken: readonly string[],
  refused: readonly RefusedItem[],
): Promise<boolean> {
  const ids = [...taken, ...refused.map((item) => item.google_id)];
  const found = await trx.raw<{ rows: Array<{ google_id: string; reason: string }> }>(
    `SELECT google_id, reason FROM ${SKIPPED} WHERE calendar_id = ? AND google_id = ANY(?)`,
    [calendarId, ids],
  );
  if (found.rows.length === 0 && refused.length === 0) return false;
  const known = new Map(found.rows.map((row) => [row.google_id, row.reason]));
  const gone = taken.filter((id) => known.has(id));
  const changed = [...new Map(refused.map((item) => [item.google_id, item])).values()].filter(
    (item) => known.get(item.google_id) !== item.reason,
  );
  if (gone.length > 0)
    await trx.raw(`DELETE FROM ${SKIPPED} WHERE calendar_id = ? AND google_id = ANY(?)`, [calendarId, gone]);
  if (changed.length > 0) {
    await trx.raw(
      `INSERT INTO ${SKIPPED} (calendar_id, google_id, reason)
       SELECT ?, v.google_id, v.reason FROM json_populate_recordset(NULL::${SKIPPED}, ?::json) AS v
       ON CONFLICT (calendar_id, google_id) DO UPDATE SET reason = excluded.reason`,
      [calendarId, JSON.stringify(changed)],
    );
  }
  return gone.length > 0 || changed.length > 0;
}

/** What the calendar's skipped items are, the first few by id, and how many in all. */
export async function skippedItems(
  knex: Knex,
  calendarId: number,
  limit: number,
): Promise<{ total: number; items: RefusedItem[] }> {
  const rows = await knex.raw<{ rows: Array<RefusedItem & { total: number }> }>(
    `SELECT google_id, reason, count(*) OVER ()::int AS total FROM ${SKIPPED}
      WHERE calendar_id = ? ORDER BY google_id LIMIT ?`,
    [calendarId, limit],
  );
  return {
    total: rows.rows[0]?.total ?? 0,
    items: rows.rows.map(({ google_id, reason }) => ({ google_id, reason })),
  };
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
    base: write.base,
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
        WHERE NOT EXISTS (SELECT 1 FROM ${TOMBSTONES} t WHERE t.calendar = ? AND t.google_id = e.google_id)
       ON CONFLICT (calendar, google_id) DO UPDATE SET sync_status = excluded.sync_status,
         ${assign(eventColumns)}, write_date = excluded.write_date, write_uid = excluded.write_uid
         WHERE ${EVENTS}.sync_status IS DISTINCT FROM 'pending_push'
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
     INSERT INTO ${LINKS} (calendar_id, google_id, event_id, etag, content_hash, base)
     SELECT ?, event.google_id, event.id, input.j->>'etag', input.j->>'hash', (input.j->'base')::jsonb
       FROM input JOIN event ON event.google_id = input.j->'e'->>'google_id'
     ON CONFLICT (calendar_id, google_id) DO UPDATE
       SET event_id = excluded.event_id, etag = excluded.etag, content_hash = excluded.content_hash,
           base = excluded.base`,
    [JSON.stringify(rows), calendarId, calendarId, calendarId],
  );
}

/** Deletes the events gone at Google, but for those with a change not yet pushed (the merge's). */
async function deleteEvents(knex: Knex, calendarId: number, googleIds: readonly string[]): Promise<number> {
  const ids = [...googleIds];
  const deleted = await knex.raw<{ rowCount: number }>(
    `DELETE FROM ${EVENTS} WHERE calendar = ? AND google_id = ANY(?)
        AND sync_status IS DISTINCT FROM 'pending_push'`,
    [calendarId, ids],
  );
  await knex.raw(
    `DELETE FROM ${LINKS} l WHERE l.calendar_id = ? AND l.google_id = ANY(?)
        AND NOT EXISTS (SELECT 1 FROM ${EVENTS} e WHERE e.calendar = ? AND e.google_id = l.google_id)`,
    [calendarId, ids, calendarId],
  );
  return deleted.rowCount;
}

/**
 * What a full listing may find absent and delete: events Google had (linked), not series rows
 * (Google lists their occurrences, not them) and without a change to push (the merge's).
 */
const DELETABLE_WHEN_ABSENT = `calendar = ? AND repeat_frequency IS NULL
  AND sync_status IS DISTINCT FROM 'pending_push'
  AND EXISTS (SELECT 1 FROM ${LINKS} l WHERE l.calendar_id = ${EVENTS}.calendar AND l.google_id = ${EVENTS}.google_id)`;

/** The events Tryton holds for the calendar that a full listing did not list (nothing is written). */
export async function heldNotListed(
  knex: Knex,
  calendarId: number,
  listed: ReadonlySet<string>,
): Promise<string[]> {
  const held = await knex(EVENTS).whereRaw(DELETABLE_WHEN_ABSENT, [calendarId]).pluck<string[]>('google_id');
  return held.filter((googleId) => !listed.has(googleId));
}

/**
 * After a confirmed full listing (docs/contracts.md, "Full listings"): what Tryton holds that
 * Google listed in none of its rounds is gone at Google, and is deleted; skipped items no longer
 * listed are forgotten. Returns the events deleted, and whether skipped items were forgotten.
 */
export async function deleteEventsNotIn(
  knex: Knex,
  calendarId: number,
  listed: ReadonlySet<string>,
): Promise<{ deleted: number; skippedChanged: boolean }> {
  return knex.transaction(async (trx) => {
    const held = await trx(EVENTS).whereRaw(DELETABLE_WHEN_ABSENT, [calendarId]).pluck<string[]>('google_id');
    const gone = held.filter((googleId) => !listed.has(googleId));
    const deleted = gone.length > 0 ? await deleteEvents(trx, calendarId, gone) : 0;
    // Links left without an event or a tombstone (a series row's and a deletion's to push stay).
    await trx.raw(
      `DELETE FROM ${LINKS} l WHERE l.calendar_id = ? AND NOT (l.google_id = ANY(?))
          AND NOT EXISTS (SELECT 1 FROM ${EVENTS} e WHERE e.calendar = l.calendar_id AND e.google_id = l.google_id)
          AND NOT EXISTS (SELECT 1 FROM ${TOMBSTONES} t WHERE t.calendar = l.calendar_id AND t.google_id = l.google_id)`,
      [calendarId, [...listed]],
    );
    const forgotten = await trx(SKIPPED)
      .where({ calendar_id: calendarId })
      .whereRaw('NOT (google_id = ANY(?))', [[...listed]])
      .delete();
    return { deleted, skippedChanged: forgotten > 0 };
  });
}
