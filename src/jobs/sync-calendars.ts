/**
 * The periodic pull of every enabled calendar, as jobs of the job engine (engine.ts). The job
 * `sync_calendars` of a database queues one `sync_calendar` job per enabled calendar, then queues
 * itself again `intervalSeconds` later under one job key (one schedule for all replicas). Each
 * calendar's job has a job key (never queued twice) and a queue of its own (never run twice at
 * once); a failed pull is retried with graphile-worker's backoff, and its failure shows on the
 * calendar (sync_status, last_error) and in the metrics.
 */
import type { CredentialRef } from '../credentials/context.js';
import { enabledCalendars } from '../db/calendar-repository.js';
import type { Db } from '../db/handle.js';
import type { ServiceRegistry } from '../services/google-service.js';
import type { JobQueue } from './engine.js';

export const SYNC_ALL_TASK = 'sync_calendars';
export const SYNC_ONE_TASK = 'sync_calendar';
const ATTEMPTS = 5;

export interface CalendarPayload {
  readonly credential_id: number;
  readonly calendar_id: number;
}

export async function scheduleCalendarSyncs(queue: JobQueue, runAt: Date): Promise<void> {
  await queue.add(SYNC_ALL_TASK, {}, { jobKey: SYNC_ALL_TASK, runAt, maxAttempts: 1 });
}

/** Queues a pull of every enabled calendar of the database; returns how many. */
export async function queueCalendarSyncs(db: Db, queue: JobQueue): Promise<number> {
  const calendars = await enabledCalendars(db);
  for (const { id, credential } of calendars) {
    const payload: CalendarPayload = { credential_id: credential, calendar_id: id };
    await queue.add(SYNC_ONE_TASK, payload, {
      jobKey: `${SYNC_ONE_TASK}:${id}`,
      queueName: `calendar:${id}`,
      maxAttempts: ATTEMPTS,
    });
  }
  return calendars.length;
}

export async function syncOneCalendar(
  services: ServiceRegistry,
  ref: CredentialRef,
  calendarId: number,
): Promise<void> {
  const service = services.get('calendar');
  if (!service) throw new Error('the calendar service is not registered');
  await service.run(ref, { kind: 'sync', calendarId });
}

export function isCalendarPayload(payload: unknown): payload is CalendarPayload {
  const value = payload as Partial<CalendarPayload> | null;
  return Number.isInteger(value?.credential_id) && Number.isInteger(value?.calendar_id);
}
