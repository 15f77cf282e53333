/**
 * Statements on the job runners' heartbeats (google_integration_sidecar.job_runner) and on the locks
 * graphile-worker keeps in its schema (docs/contracts.md, "Releasing jobs"). graphile-worker marks a
 * running job and its queue with its pool id (`locked_by`) and, when that runner dies, keeps them
 * locked for 4 hours; a queue locked so stops every job behind it. Locks are read from its tables
 * (`_private_jobs`, `_private_job_queues`: version 0.17, pinned) and released through its own SQL
 * function `force_unlock_workers`. Times are the database's now(), the clock replicas share.
 */
import type { Knex } from 'knex';

const RUNNERS = 'google_integration_sidecar.job_runner';
const JOBS_SCHEMA = 'google_integration_jobs';
/** Heartbeats of runners gone this long are forgotten (nothing they locked is left by then). */
const FORGET_AFTER_SECONDS = 3600;

/** The runner `runnerId` is alive for `ttlMs` more. */
export async function beat(knex: Knex, runnerId: string, holder: string, ttlMs: number): Promise<void> {
  await knex.raw(
    `INSERT INTO ${RUNNERS} (runner_id, holder, expires_at) VALUES (?, ?, now() + make_interval(secs => ?))
     ON CONFLICT (runner_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
    [runnerId, holder, ttlMs / 1000],
  );
}

/**
 * Releases the jobs and queues locked for more than `lockedForMs` by runners whose heartbeat lapsed
 * (or never came: a runner of an older sidecar, or one killed before its first beat); returns those
 * runners. One statement, so replicas sweeping at once release each lock once.
 */
export async function releaseDeadRunners(knex: Knex, lockedForMs: number): Promise<string[]> {
  const result = await knex.raw<{ rows: Array<{ dead: string[] | null }> }>(
    `WITH locks AS (
       SELECT locked_by, locked_at FROM ${JOBS_SCHEMA}._private_jobs WHERE locked_by IS NOT NULL
       UNION ALL
       SELECT locked_by, locked_at FROM ${JOBS_SCHEMA}._private_job_queues WHERE locked_by IS NOT NULL
     ), dead AS (
       SELECT array_agg(DISTINCT l.locked_by) AS ids FROM locks l
        WHERE l.locked_at < now() - make_interval(secs => ?)
          AND NOT EXISTS (SELECT 1 FROM ${RUNNERS} r WHERE r.runner_id = l.locked_by AND r.expires_at > now())
     )
     SELECT ids AS dead, ${JOBS_SCHEMA}.force_unlock_workers(ids) FROM dead WHERE ids IS NOT NULL`,
    [lockedForMs / 1000],
  );
  await knex.raw(`DELETE FROM ${RUNNERS} WHERE expires_at < now() - make_interval(secs => ?)`, [
    FORGET_AFTER_SECONDS,
  ]);
  return result.rows[0]?.dead ?? [];
}

/** A runner that stopped cleanly says so: nothing of its own is locked any more. */
export async function forgetRunner(knex: Knex, runnerId: string): Promise<void> {
  await knex.raw(`DELETE FROM ${RUNNERS} WHERE runner_id = ?`, [runnerId]);
}

/**
 * The queues among `queueNames` holding a job due for more than `overdueMs`, with the oldest due
 * time: work that is not happening (waiting, or running far too long) although nothing failed.
 * A job out of attempts is not waiting: its failure shows elsewhere.
 */
export async function overdueQueues(
  knex: Knex,
  queueNames: readonly string[],
  overdueMs: number,
): Promise<Map<string, Date>> {
  if (queueNames.length === 0) return new Map();
  const result = await knex.raw<{ rows: Array<{ queue_name: string; due: Date }> }>(
    `SELECT q.queue_name, min(j.run_at) AS due
       FROM ${JOBS_SCHEMA}._private_job_queues q
       JOIN ${JOBS_SCHEMA}._private_jobs j ON j.job_queue_id = q.id
      WHERE q.queue_name = ANY(?)
        AND j.run_at < now() - make_interval(secs => ?)
        AND j.attempts < j.max_attempts
      GROUP BY q.queue_name`,
    [[...queueNames], overdueMs / 1000],
  );
  return new Map(result.rows.map((row) => [row.queue_name, row.due]));
}

/**
 * When a round asked for by a notification should run (docs/contracts.md, "Push notifications"):
 * with no job under the key, at once, or `trailMs` after the calendar's last pull that wrote
 * something (calendar_sync.last_attempt_at) when that was more recent; a job already due keeps
 * its time; while one runs, `trailMs` after now; a trailing job already queued moves to `trailMs`
 * after now, but never later than `capMs` after it was queued, so a steady trickle cannot postpone
 * it for ever.
 */
export async function notifiedRunAt(
  knex: Knex,
  jobKey: string,
  calendarId: number,
  trailMs: number,
  capMs: number,
): Promise<Date> {
  const trail = 'make_interval(secs => ?)';
  const result = await knex.raw<{ rows: Array<{ run_at: Date }> }>(
    `SELECT CASE
              WHEN j.id IS NULL THEN greatest(now(), s.last_attempt_at + ${trail})
              WHEN j.locked_at IS NULL AND j.run_at <= now() THEN now()
              WHEN j.locked_at IS NOT NULL THEN now() + ${trail}
              ELSE least(j.created_at + make_interval(secs => ?), now() + ${trail})
            END AS run_at
       FROM (SELECT 1) AS one
       LEFT JOIN ${JOBS_SCHEMA}._private_jobs j ON j.key = ?
       LEFT JOIN google_integration_sidecar.calendar_sync s ON s.calendar_id = ?`,
    [trailMs / 1000, trailMs / 1000, capMs / 1000, trailMs / 1000, jobKey, calendarId],
  );
  return result.rows[0]?.run_at ?? new Date();
}
