/**
 * Statements on google_integration_sidecar.calendar_sync, the pull's cursor per Tryton calendar
 * (docs/contracts.md, "Sidecar bookkeeping"): the sync token of the last complete pull, when the
 * last full listing was confirmed, and failures. Times are the database's now().
 */
import type { Knex } from 'knex';

const SYNC = 'google_integration_sidecar.calendar_sync';

export interface PullState {
  readonly syncToken: string | null;
  /** No full listing confirmed within `fullEveryHours` (or ever): the next pull lists everything. */
  readonly fullDue: boolean;
}

export async function pullState(knex: Knex, calendarId: number, fullEveryHours: number): Promise<PullState> {
  const result = await knex.raw<{ rows: Array<{ sync_token: string | null; full_due: boolean }> }>(
    `SELECT sync_token, (full_pull_at IS NULL OR full_pull_at < now() - make_interval(hours => ?)) AS full_due
       FROM ${SYNC} WHERE calendar_id = ?`,
    [fullEveryHours, calendarId],
  );
  const row = result.rows[0];
  return { syncToken: row?.sync_token ?? null, fullDue: row?.full_due ?? true };
}

/**
 * The end of a complete pull: its token, and with `full` the time of its confirmed full listing.
 * Nothing is written when an incremental pull's token did not change (an idle pull).
 */
export async function saveSyncState(
  knex: Knex,
  calendarId: number,
  token: string | null,
  previousToken: string | null,
  full: boolean,
): Promise<void> {
  if (!full && token === previousToken) return;
  await knex.raw(
    `INSERT INTO ${SYNC} AS s (calendar_id, sync_token, failures, last_attempt_at, full_pull_at)
     VALUES (?, ?, 0, now(), CASE WHEN ? THEN now() END)
     ON CONFLICT (calendar_id) DO UPDATE SET sync_token = excluded.sync_token, failures = 0,
       last_attempt_at = now(), full_pull_at = COALESCE(excluded.full_pull_at, s.full_pull_at)`,
    [calendarId, token, full],
  );
}

/** The sync token is forgotten when Google says it is no longer valid (410). */
export async function forgetSyncToken(knex: Knex, calendarId: number): Promise<void> {
  await knex(SYNC).where({ calendar_id: calendarId }).update({ sync_token: null });
}

export async function noteSyncFailure(knex: Knex, calendarId: number): Promise<void> {
  await knex.raw(
    `INSERT INTO ${SYNC} (calendar_id, failures, last_attempt_at) VALUES (?, 1, now())
     ON CONFLICT (calendar_id) DO UPDATE SET failures = ${SYNC}.failures + 1, last_attempt_at = now()`,
    [calendarId],
  );
}
