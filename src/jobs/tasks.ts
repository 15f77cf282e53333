/**
 * The tasks the job engine runs in each database, and what each needs. A task that fails throws;
 * the engine logs it and retries it as its job says.
 */
import type { TaskList } from 'graphile-worker';
import type { CredentialContext } from '../credentials/context.js';
import type { Db } from '../db/handle.js';
import type { JobQueue } from './engine.js';
import type { Services } from '../services/services.js';
import { calendarTablesExist } from '../db/calendar-repository.js';
import type { Metrics } from '../metrics.js';
import {
  CHANNELS_TASK,
  isCredentialPayload,
  LIST_TASK,
  queueChannelReconciles,
  runCalendarService,
} from './watch-channels.js';
import { queueContactRounds, SYNC_CONTACTS_TASK, syncContacts } from './sync-contacts.js';
import { REFRESH_TASK, type RefreshSchedule, refreshDueTokens, scheduleRefresh } from './refresh-tokens.js';
import {
  isCalendarPayload,
  queueCalendarSyncs,
  queuePendingRounds,
  SYNC_ALL_TASK,
  SYNC_ONE_TASK,
  scheduleCalendarSyncs,
  syncOneCalendar,
} from './sync-calendars.js';

export interface TaskDependencies {
  readonly credentials: CredentialContext;
  readonly open: (database: string) => Promise<Db>;
  readonly queue: (database: string) => Promise<JobQueue>;
  readonly refresh: RefreshSchedule;
  readonly services: Services;
  readonly syncIntervalSeconds: number;
  readonly notifications: { readonly enabled: boolean; readonly watchedIntervalSeconds: number };
  readonly metrics: Metrics;
}

export function taskList(database: string, deps: TaskDependencies): TaskList {
  return {
    [REFRESH_TASK]: async () => {
      try {
        await refreshDueTokens(deps.credentials, database, await deps.open(database), deps.refresh);
      } finally {
        // The next pass is queued whatever this one did: the schedule never stops.
        const next = new Date(Date.now() + deps.refresh.intervalSeconds * 1000);
        await scheduleRefresh(await deps.queue(database), next);
      }
    },
    [SYNC_ALL_TASK]: async () => {
      const queue = await deps.queue(database);
      try {
        const db = await deps.open(database);
        await queueCalendarSyncs(db, queue, {
          intervalSeconds: deps.syncIntervalSeconds,
          watchedIntervalSeconds: deps.notifications.enabled
            ? deps.notifications.watchedIntervalSeconds
            : deps.syncIntervalSeconds,
          now: Date.now(),
        });
        if (await calendarTablesExist(db))
          await queueChannelReconciles(database, db, queue, deps.notifications.enabled, deps.metrics);
        await queueContactRounds(db, queue);
      } finally {
        await scheduleCalendarSyncs(queue, new Date(Date.now() + deps.syncIntervalSeconds * 1000));
      }
    },
    [SYNC_ONE_TASK]: async (payload) => {
      if (!isCalendarPayload(payload)) throw new Error('sync_calendar needs credential_id and calendar_id');
      const db = await deps.open(database);
      await syncOneCalendar(deps.services, { database, db, id: payload.credential_id }, payload.calendar_id);
    },
    [SYNC_CONTACTS_TASK]: async (payload) => {
      if (!isCredentialPayload(payload)) throw new Error('sync_contacts needs credential_id');
      const db = await deps.open(database);
      await syncContacts(
        deps.services,
        { database, db, id: payload.credential_id },
        await deps.queue(database),
      );
    },
    [CHANNELS_TASK]: async (payload) => {
      if (!isCredentialPayload(payload)) throw new Error('watch_channels needs credential_id');
      const db = await deps.open(database);
      await runCalendarService(
        deps.services,
        { database, db, id: payload.credential_id },
        { kind: 'channels' },
      );
    },
    [LIST_TASK]: async (payload) => {
      if (!isCredentialPayload(payload)) throw new Error('list_calendars needs credential_id');
      const db = await deps.open(database);
      await runCalendarService(deps.services, { database, db, id: payload.credential_id }, { kind: 'list' });
    },
  };
}

/**
 * Starts a database's background work: its runner, and a refresh and a calendar pass now. A pass
 * already queued moves to now: it may have been queued with an interval that has changed since.
 */
export async function startBackgroundWork(database: string, deps: TaskDependencies): Promise<void> {
  const queue = await deps.queue(database);
  await scheduleRefresh(queue, new Date(), true);
  await scheduleCalendarSyncs(queue, new Date(), true);
  // Changes saved in Tryton while no sidecar ran (the trigger found no job queue): pushed now.
  await queuePendingRounds(await deps.open(database), queue);
}
