/**
 * GoogleContactsService, the second service on the same base as the calendar (docs/contracts.md,
 * "Contacts synchronization"): Tryton's parties and the account's Google Contacts kept in step, on
 * the official client @googleapis/people. One round per account at a time whoever asks (the lease
 * `contacts`), its People calls in a pacer bucket of their own (Google's People quota is not the
 * Calendar's), and the credential saying what the last round did.
 */
import type { people_v1 } from '@googleapis/people';
import type { CredentialRef } from '../../credentials/context.js';
import { BUSY, underLease, waitForLease } from '../../credentials/lease.js';
import { missingContactTables, recordContactsOutcome } from '../../db/contact-repository.js';
import { moduleNotReady, type SidecarError } from '../../errors.js';
import { CONTACTS_SCOPE } from '../catalog.js';
import { GoogleService, type GoogleSession, type ServiceContext } from '../google-service.js';
import { PeopleApi } from './people-api.js';
import { loadPhoneNumbers } from './phone-numbers.js';
import { type ContactsCounts, noChanges } from './counts.js';
import { contactsRound, type RoundResult } from './round.js';
import { TrytonContacts } from './tryton-route.js';

/** Google's People API is not served from the Calendar's root. */
const GOOGLE_API_ROOT = 'https://www.googleapis.com/';
const PEOPLE_ROOT = 'https://people.googleapis.com/';
/** How long a call of the module's route may take when TRYTOND_TIMEOUT is not given. */
const DEFAULT_TRYTOND_TIMEOUT_MS = 60_000;
/** Sync Now waits this long for a round of the same account that is already running. */
const SYNC_WAIT_MS = 60_000;

export interface ContactsInput {
  /** Sync Now waits for a running round and runs after it; background jobs leave it to that round. */
  readonly waitIfBusy?: boolean;
}

export class GoogleContactsService extends GoogleService<ContactsInput, ContactsCounts> {
  readonly name = 'contacts';
  readonly scopes = [CONTACTS_SCOPE];
  override readonly key = 'contacts' as const;
  protected override readonly pacerBucket = { name: 'people', perMinute: 60 };

  constructor(context: ServiceContext) {
    super(context);
  }

  /** The People client and the phone number parser, both loaded by the first round, not at start. */
  private async api(session: GoogleSession): Promise<people_v1.People> {
    const [{ people }] = await Promise.all([import('@googleapis/people'), loadPhoneNumbers()]);
    const root = session.apiRootUrl === GOOGLE_API_ROOT ? PEOPLE_ROOT : session.apiRootUrl;
    return people({ version: 'v1', rootUrl: root });
  }

  protected async execute(session: GoogleSession, input: ContactsInput): Promise<ContactsCounts> {
    // Before People is asked anything: without these tables nothing it answers can be kept.
    const missing = await missingContactTables(session.ref.db);
    if (missing.length > 0) throw moduleNotReady(session.ref.database, 'contacts', missing);
    const api = new PeopleApi(session, await this.api(session));
    const tryton = new TrytonContacts(
      {
        url: this.context.trytondUrl,
        timeoutMs: this.context.trytondTimeoutMs ?? DEFAULT_TRYTOND_TIMEOUT_MS,
      },
      session.ref,
    );
    const deadline = Date.now() + SYNC_WAIT_MS;
    for (;;) {
      const result = await underLease(this.context.credentials, session.ref, 'contacts', session.log, () =>
        contactsRound(session, api, tryton),
      );
      if (result !== BUSY) return this.finish(session, result);
      if (!input.waitIfBusy || Date.now() > deadline) return noChanges();
      await waitForLease(session.ref, 'contacts', deadline);
    }
  }

  private async finish(session: GoogleSession, result: RoundResult): Promise<ContactsCounts> {
    const { ref } = session;
    const { refused, allowanceUsed, linked, ...counts } = result;
    this.context.credentials.metrics.contactsRound(counts);
    const did = Object.values(counts).some((count) => count > 0);
    // A round that changed something says what (an idle round, every few minutes, says nothing).
    if (did || refused.length > 0) session.log.info({ ...counts, refused: refused.length }, 'contacts round');
    await recordContactsOutcome(ref.db, ref.id, {
      status: counts.held > 0 ? 'held' : refused.length > 0 ? 'failing' : 'ok',
      error:
        counts.held > 0
          ? `This round would delete or archive ${counts.held} of ${linked} synchronized contacts, more than the deletion limit allows; nothing was deleted. Check what changed (at Google and in Tryton), then click Allow Deletions.`
          : refused.length > 0
            ? `Tryton refused ${refused.length} change(s): ${refused.slice(0, 5).join('; ')}`
            : null,
      counts: did ? describe(counts) : null,
      held: counts.held,
      allowanceUsed,
    });
    return counts;
  }

  protected override async recordFailure(ref: CredentialRef, _input: ContactsInput, error: SidecarError) {
    await recordContactsOutcome(ref.db, ref.id, {
      status: 'failing',
      error: error.message,
      counts: null,
      held: 0,
      allowanceUsed: false,
    });
  }
}

function describe(counts: ContactsCounts): string {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([change, count]) => `${count} ${change}`)
    .join(', ');
}
