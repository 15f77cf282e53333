/**
 * The periodic pull of every enabled calendar, as jobs of the job engine (engine.ts). The job
 * `sync_calendars` of a database queues one `sync_calendar` job per enabled calendar, then queues
 * itself again `intervalSeconds` later under one job key (one schedule for all replicas). Each
 * calendar's job has a job key (never queued twice) and a queue of its own (never run twice at
 * once); a failed pull is retried with graphile-worker's backoff, and its failure shows on the
 * calendar (sync_status, last_error) and in the metrics; a pull that waits for three intervals
 * shows as stalled (docs/contracts.md, "Background").
 */
import type { CredentialRef } from '../credentials/context.js';
import {
  calendarTablesExist,
  enabledCalendars,
  recordSyncStalled,
  syncCredentialOf,
} from '../db/calendar-repository.js';
import { notifiedRunAt, overdueQueues } from '../db/job-runner-repository.js';
import { calendarsWithPendingChanges } from '../db/push-repository.js';
import { applyTeamRule } from '../db/team-repository.js';
import { watchedCalendars } from '../db/watch-repository.js';
import type { Db } from '../db/handle.js';
import type { Services } from '../services/services.js';
import type { JobQueue } from './engine.js';

export const SYNC_ALL_TASK = 'sync_calendars';
export const SYNC_ONE_TASK = 'sync_calendar';
const ATTEMPTS = 5;
/** A calendar whose pull has been due this many intervals, and this long at least, is stalled. */
const STALLED_AFTER_INTERVALS = 3;
const STALLED_AFTER_MS = 60_000;

export interface CalendarPayload {
  readonly credential_id: number;
  readonly calendar_id: number;
}

/** Queues the pass at `runAt` unless one is queued; `moveQueued` (at start) moves a queued one. */
export async function scheduleCalendarSyncs(queue: JobQueue, runAt: Date, moveQueued = false): Promise<void> {
  await queue.add(SYNC_ALL_TASK, {}, { jobKey: SYNC_ALL_TASK, runAt, maxAttempts: 1, moveQueued });
}

export interface PassSchedule {
  readonly intervalSeconds: number;
  /** How often a calendar whose push channel is healthy is polled (the fallback). */
  readonly watchedIntervalSeconds: number;
  /** When the pass started (ms since the epoch). */
  readonly now: number;
}

/**
 * Queues a pull of every enabled calendar of the database that is due; returns how many. A calendar
 * whose push channel is healthy is due once every `watchedIntervalSeconds`, the passes spreading them
 * (docs/contracts.md, "Push notifications", *Fallback polling*). First, calendars whose pull has been
 * due for three intervals (a minute at least) are marked stalled: their background pulls are not
 * happening although nothing failed (a queue left locked, a pull hung).
 */
export async function queueCalendarSyncs(db: Db, queue: JobQueue, schedule: PassSchedule): Promise<number> {
  const { intervalSeconds } = schedule;
  // Accounts revoked or expired since the last pass: their team calendars move to another member.
  if (await calendarTablesExist(db)) await applyTeamRule(db);
  const calendars = await enabledCalendars(db);
  const overdue = await overdueQueues(
    db,
    calendars.map(({ id }) => queueOf(id)),
    Math.max(STALLED_AFTER_MS, STALLED_AFTER_INTERVALS * intervalSeconds * 1000),
  );
  for (const { id } of calendars) {
    const since = overdue.get(queueOf(id));
    if (since) await recordSyncStalled(db, id, stalledMessage(since, intervalSeconds));
  }
  const watched = await watchedCalendars(db);
  const every = Math.max(1, Math.round(schedule.watchedIntervalSeconds / intervalSeconds));
  const pass = Math.floor(schedule.now / (intervalSeconds * 1000));
  const due = calendars.filter(({ id }) => !watched.has(id) || pass % every === id % every);
  for (const { id, credential } of due) await queueRound(queue, id, credential);
  return due.length;
}

/**
 * One calendar's round, through the account the calendar is synchronized through now: the job may
 * have been queued (by Tryton's trigger, a pass) before the team rule moved it to another one. It
 * waits for a round of the calendar that is running: Tryton's trigger queues a job outside the
 * calendar's queue when a round ended during the save (docs/contracts.md, "The module's trigger").
 */
export async function syncOneCalendar(
  services: Services,
  ref: CredentialRef,
  calendarId: number,
): Promise<void> {
  const service = services.calendar;
  const credential = (await syncCredentialOf(ref.db, calendarId)) ?? ref.id;
  await service.run({ ...ref, id: credential }, { kind: 'sync', calendarId, waitIfBusy: true });
}

/** Queues a round of every calendar with changes waiting in Tryton (at start: saved while no sidecar ran). */
export async function queuePendingRounds(db: Db, queue: JobQueue): Promise<number> {
  if (!(await calendarTablesExist(db))) return 0;
  const calendars = await calendarsWithPendingChanges(db);
  for (const { id, credential } of calendars) await queueRound(queue, id, credential);
  return calendars.length;
}

const queueOf = (calendarId: number) => `calendar:${calendarId}`;

/** A calendar's round, once: its key keeps one queued, its queue runs one at a time. */
async function queueRound(queue: JobQueue, calendarId: number, credentialId: number): Promise<void> {
  const payload: CalendarPayload = { credential_id: credentialId, calendar_id: calendarId };
  await queue.add(SYNC_ONE_TASK, payload, {
    jobKey: `${SYNC_ONE_TASK}:${calendarId}`,
    queueName: queueOf(calendarId),
    maxAttempts: ATTEMPTS,
  });
}

/** A notification's round trails a burst by this much, and waits at most this long once queued. */
const NOTIFIED_TRAIL_MS = 1_000;
const NOTIFIED_CAP_MS = 10_000;

/**
 * The round a notification asks for: at once when none is queued or running and the calendar's last
 * pull that wrote something is more than a second old; otherwise one more, a second after the last
 * notification (at most 10 s after the first), so that a burst of changes makes two rounds, not one
 * per round that ends while the burst goes on.
 */
export async function queueNotifiedRound(
  db: Db,
  queue: JobQueue,
  calendarId: number,
  credentialId: number,
): Promise<void> {
  const jobKey = `${SYNC_ONE_TASK}:${calendarId}`;
  const payload: CalendarPayload = { credential_id: credentialId, calendar_id: calendarId };
  await queue.add(SYNC_ONE_TASK, payload, {
    jobKey,
    queueName: queueOf(calendarId),
    maxAttempts: ATTEMPTS,
    runAt: await notifiedRunAt(db, jobKey, calendarId, NOTIFIED_TRAIL_MS, NOTIFIED_CAP_MS),
    moveQueued: true,
  });
}

function stalledMessage(since: Date, intervalSeconds: number): string {
  const every = intervalSeconds % 60 === 0 ? `${intervalSeconds / 60} min` : `${intervalSeconds} s`;
  return (
    `No background pull since ${since.toISOString().slice(0, 16).replace('T', ' ')} UTC, though one is due ` +
    `every ${every}: its job waits in the queue. Check that a sidecar runs and what its log says; Sync Now pulls at once.`
  );
}

export function isCalendarPayload(payload: unknown): payload is CalendarPayload {
  const value = payload as Partial<CalendarPayload> | null;
  return Number.isInteger(value?.credential_id) && Number.isInteger(value?.calendar_id);
}
