/**
 * What a calendar says when its pull fails (docs/contracts.md, "JSON-RPC" of the calendar sync):
 * one short sentence in `last_error`, never a driver's or SQL text (a failed INSERT once put 2.8 kB
 * of SQL there), and written even when the database itself was what failed: the write is tried
 * again once the database is back, so such a calendar does not keep saying `ok`.
 */
import { googleFailure } from '../../credentials/errors.js';
import { recordSyncFailure } from '../../db/calendar-repository.js';
import type { Db } from '../../db/handle.js';
import { databaseFailureReason } from '../../db/unavailable.js';
import { SidecarError } from '../../errors.js';
import { GoogleError } from '../../google/errors.js';
import type { Logger } from '../../log.js';

const MAX_LENGTH = 500;
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 30_000;
const RETRY_FOR_MS = 300_000;

export const UNEXPECTED = "Unexpected error during the pull: the sidecar's log has the details.";

/** The sentence users read for a failed pull. */
export function failureText(credentialId: number, error: unknown): string {
  let text = UNEXPECTED;
  if (error instanceof SidecarError) text = error.message;
  else if (error instanceof GoogleError) text = googleFailure(credentialId, error).message;
  else {
    const reason = databaseFailureReason(error);
    if (reason) text = `The database was unavailable during the pull (${reason}); it is pulled again later.`;
  }
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 1)}…` : text;
}

/**
 * Marks the calendar failing. When the database refuses that too, tries again after 1 s, doubling
 * up to 30 s, for 5 minutes (timers that do not keep the process alive); a pull that ended since
 * keeps its `ok`. Never rejects.
 */
export async function recordPullFailure(
  db: Db,
  calendarId: number,
  message: string,
  log: Logger,
): Promise<void> {
  const failedAt = new Date();
  try {
    await recordSyncFailure(db, calendarId, message);
  } catch (error) {
    if (databaseFailureReason(error) === undefined) {
      log.warn({ calendar: calendarId, err: String(error) }, 'could not record the failure');
      return;
    }
    retryLater(db, calendarId, message, failedAt, log, FIRST_RETRY_MS);
  }
}

function retryLater(
  db: Db,
  calendarId: number,
  message: string,
  failedAt: Date,
  log: Logger,
  delayMs: number,
): void {
  setTimeout(() => {
    recordSyncFailure(db, calendarId, message, failedAt).then(
      () => log.info({ calendar: calendarId }, 'failure of an earlier pull recorded'),
      () => {
        if (Date.now() + delayMs - failedAt.getTime() > RETRY_FOR_MS) {
          log.warn(
            { calendar: calendarId },
            'the failure of a pull could not be recorded: the database stayed unavailable',
          );
          return;
        }
        retryLater(db, calendarId, message, failedAt, log, Math.min(LAST_RETRY_MS, delayMs * 2));
      },
    );
  }, delayMs).unref();
}
