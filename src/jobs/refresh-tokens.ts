/**
 * Background refresh ahead of expiry, as a job of the job engine (engine.ts), so Tryton's callers
 * rarely wait on Google. The job `refresh_due_tokens` of a database lists the credentials due and
 * refreshes them through the same path as on-demand callers (credentials/refresh.ts: one refresh
 * per credential across replicas, no connection held while Google answers), then queues itself
 * again `intervalSeconds` later under one job key, so every replica shares one schedule. A failed
 * refresh puts the credential in a cool-down that doubles with each failure (refresh_backoff).
 */
import type { CredentialContext, CredentialRef } from '../credentials/context.js';
import { refreshUnlessBusy } from '../credentials/refresh.js';
import { listDueForRefresh } from '../db/credentials-repository.js';
import type { Db } from '../db/handle.js';
import { clearRefreshFailures, recordRefreshFailure } from '../db/refresh-backoff-repository.js';
import { SidecarError } from '../errors.js';
import type { JobQueue } from './engine.js';

export const REFRESH_TASK = 'refresh_due_tokens';

export interface RefreshSchedule {
  readonly intervalSeconds: number;
  /** Refresh tokens that expire within this many seconds. */
  readonly aheadSeconds: number;
}

const BATCH = 50;
const FIRST_BACKOFF_SECONDS = 30;

/**
 * Queues the database's pass at `runAt`, unless one is queued already (any replica's); with
 * `moveQueued` (at start), the queued one moves to `runAt`, so a changed interval applies now.
 */
export async function scheduleRefresh(queue: JobQueue, runAt: Date, moveQueued = false): Promise<void> {
  // A pass that fails is simply followed by the next one.
  await queue.add(REFRESH_TASK, {}, { jobKey: REFRESH_TASK, runAt, maxAttempts: 1, moveQueued });
}

/** One pass over one database; returns how many credentials were refreshed. */
export async function refreshDueTokens(
  context: CredentialContext,
  database: string,
  db: Db,
  schedule: RefreshSchedule,
): Promise<number> {
  const aheadMs = schedule.aheadSeconds * 1000;
  const fresh = (row: { token_expiry: Date | null }) =>
    row.token_expiry !== null && row.token_expiry.getTime() - context.now().getTime() > aheadMs;
  let refreshed = 0;
  for (const id of await listDueForRefresh(db, schedule.aheadSeconds, BATCH)) {
    const ref: CredentialRef = { database, db, id };
    try {
      // Busy: another caller or replica is refreshing it (or cooling down); theirs counts.
      if ((await refreshUnlessBusy(context, ref, fresh)) === undefined) continue;
      await clearRefreshFailures(db, id);
      refreshed++;
    } catch (error) {
      if (!(error instanceof SidecarError)) throw error;
      await recordRefreshFailure(db, id, FIRST_BACKOFF_SECONDS);
    }
  }
  if (refreshed > 0) context.logger.info({ database, refreshed }, 'background refresh');
  return refreshed;
}
