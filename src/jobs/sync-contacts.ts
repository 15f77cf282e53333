/**
 * The contacts sync in the background (docs/contracts.md, "Contacts synchronization", *Background*):
 * the periodic pass queues one round per credential that lists Contacts, has synchronization on and
 * hands out tokens; the job key keeps one queued per account and its queue runs one at a time, so
 * the account's writes to Google are never concurrent. Tryton's saves queue the same job
 * (google_integration_queue_contacts in the module).
 */
import type { CredentialRef } from '../credentials/context.js';
import { contactCredentials, pendingSince } from '../db/contact-repository.js';
import type { Db } from '../db/handle.js';
import type { Services } from '../services/services.js';
import type { JobQueue } from './engine.js';

export const SYNC_CONTACTS_TASK = 'sync_contacts';
const ATTEMPTS = 5;

export async function queueContactRounds(db: Db, queue: JobQueue): Promise<number> {
  const credentials = await contactCredentials(db);
  for (const id of credentials) await queueRound(queue, id);
  return credentials.length;
}

/**
 * A background round waits for a round of the same account that is running (Sync Now, another
 * replica) and runs after it: a change saved meanwhile would otherwise wait for the next pass. A
 * change Tryton saved while the round ran queues one more: its own queueing may have been lost, as
 * Tryton's transaction (repeatable read) cannot replace the job that was finishing meanwhile.
 */
export async function syncContacts(services: Services, ref: CredentialRef, queue: JobQueue): Promise<void> {
  const started = new Date();
  await services.contacts.run(ref, { waitIfBusy: true });
  if (await pendingSince(ref.db, ref.id, started))
    await queueRound(queue, ref.id, new Date(Date.now() + 2_000));
}

async function queueRound(queue: JobQueue, credentialId: number, runAt?: Date): Promise<void> {
  await queue.add(
    SYNC_CONTACTS_TASK,
    { credential_id: credentialId },
    {
      jobKey: `${SYNC_CONTACTS_TASK}:${credentialId}`,
      queueName: `contacts:${credentialId}`,
      maxAttempts: ATTEMPTS,
      ...(runAt ? { runAt } : {}),
    },
  );
}
