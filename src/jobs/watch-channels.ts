/**
 * Push channels and calendar lists as jobs of the job engine (docs/contracts.md, "Push
 * notifications"): `watch_channels` brings one credential's channels in line (services/calendar/
 * channels.ts), `list_calendars` fetches one credential's calendarList (queued by its channel's
 * notification, or when a watched calendar left the account). Each has a job key and a queue of its
 * own per credential, so it is never queued twice nor run twice at once, on whichever replica.
 */
import type { CredentialRef } from '../credentials/context.js';
import type { Db } from '../db/handle.js';
import { channelCounts, credentialsToWatch } from '../db/watch-repository.js';
import type { Metrics } from '../metrics.js';
import type { Services } from '../services/services.js';
import type { JobQueue } from './engine.js';

export const CHANNELS_TASK = 'watch_channels';
export const LIST_TASK = 'list_calendars';
const ATTEMPTS = 3;

export interface CredentialPayload {
  readonly credential_id: number;
}

export async function queueChannels(queue: JobQueue, credentialId: number): Promise<void> {
  await queue.add(CHANNELS_TASK, { credential_id: credentialId } satisfies CredentialPayload, {
    jobKey: `${CHANNELS_TASK}:${credentialId}`,
    queueName: `channels:${credentialId}`,
    maxAttempts: ATTEMPTS,
  });
}

export async function queueCalendarList(queue: JobQueue, credentialId: number): Promise<void> {
  await queue.add(LIST_TASK, { credential_id: credentialId } satisfies CredentialPayload, {
    jobKey: `${LIST_TASK}:${credentialId}`,
    queueName: `list:${credentialId}`,
    maxAttempts: ATTEMPTS,
  });
}

/**
 * The pass's part: every credential that watches or should watch gets its channels reconciled (when
 * notifications are off, those with channels, which are then stopped); the channels' health goes to
 * /metrics.
 */
export async function queueChannelReconciles(
  database: string,
  db: Db,
  queue: JobQueue,
  enabled: boolean,
  metrics: Metrics,
): Promise<number> {
  const credentials = await credentialsToWatch(db, enabled);
  for (const id of credentials) await queueChannels(queue, id);
  const counts = await channelCounts(db);
  for (const [status, count] of Object.entries(counts))
    if (status !== 'none') metrics.channels.set({ database, status }, count);
  return credentials.length;
}

export async function runCalendarService(
  services: Services,
  ref: CredentialRef,
  input: { kind: 'channels' } | { kind: 'list' },
): Promise<void> {
  await services.calendar.run(ref, input);
}

export function isCredentialPayload(payload: unknown): payload is CredentialPayload {
  return Number.isInteger((payload as Partial<CredentialPayload> | null)?.credential_id);
}
