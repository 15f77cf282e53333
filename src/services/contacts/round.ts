/**
 * One round of a credential's contacts (docs/contracts.md, "Contacts synchronization", *A round*):
 * pull (incremental, or a full listing without a token, after Google's EXPIRED_SYNC_TOKEN, or when
 * the token's chain is 6 days old), match what has no link, decide each record with the shared
 * field-level merge, hold deletions past the guard, write Tryton through its ORM (the module's
 * route) and Google through the batch calls, then settle the bookkeeping in one transaction.
 * No connection or lock is held while Google or Tryton answers.
 */
import type { people_v1 } from '@googleapis/people';
import {
  type ContactConflictRow,
  type ContactLink,
  contactGroups,
  contactLinks,
  contactSettings,
  contactSyncState,
  deletedPartyContacts,
  type LinkWrite,
  pendingParties,
  type RoundWrites,
  settleRound,
} from '../../db/contact-repository.js';
import type { GoogleSession } from '../google-service.js';
import { type ContactValues, contactHash } from './contact-values.js';
import { type ContactDecision, decideContact } from './decide-contact.js';
import { type ContactsCounts, noChanges } from './counts.js';
import { GoogleWrites } from './google-writes.js';
import { GroupNames } from './group-names.js';
import type { Listing, PeopleApi } from './people-api.js';
import { changedAt, stampedParty, valuesOfPerson } from './person-mapping.js';
import {
  type Applied,
  type PartyState,
  type TrytonChange,
  type TrytonContacts,
  TrytonRefused,
} from './tryton-route.js';

/** Google's tokens expire 7 days after their chain's full listing; a round lists again after 6. */
const TOKEN_RENEWAL_MS = 6 * 24 * 3600_000;
/** Google's listings lag its writes by minutes: a contact written since is not taken as deleted. */
const PROPAGATION_GRACE_MS = 10 * 60_000;
/** The guard holds deletions past this many and past the credential's share. */
const GUARD_FLOOR = 5;
const APPLY_BATCH = 200;
const READ_BATCH = 1000;
const PENDING_LIMIT = 1000;

export interface RoundResult extends ContactsCounts {
  /** Tryton refused some changes: their messages, for the credential's notice. */
  readonly refused: string[];
  readonly allowanceUsed: boolean;
  readonly linked: number;
}

interface RemoteItem {
  readonly resourceName: string;
  readonly person: people_v1.Schema$Person;
  readonly values: ContactValues;
  readonly hash: string;
}

/** A change for Tryton with what settles once it is written. */
interface TrytonStep {
  readonly change: TrytonChange;
  readonly after: (applied: Applied) => void;
  readonly deletion: boolean;
}

export async function contactsRound(
  session: GoogleSession,
  api: PeopleApi,
  tryton: TrytonContacts,
): Promise<RoundResult> {
  const { db, id: credentialId, database } = session.ref;
  const startedAt = new Date();
  const settings = (await contactSettings(db, credentialId)) ?? {
    deletion_limit: 20,
    allowed_deletions: 0,
    status: null,
  };
  const state = await contactSyncState(db, credentialId);
  const renew = state?.token_at && startedAt.getTime() - state.token_at.getTime() > TOKEN_RENEWAL_MS;
  let token = renew ? null : (state?.sync_token ?? null);
  let listed = await api.list(token);
  if (listed.kind === 'expired') {
    session.log.info('the contacts sync token expired: listing every contact again');
    token = null;
    listed = await api.list(null);
  }
  if (listed.kind === 'expired') throw new Error('Google refused a listing without a sync token');
  const full = token === null;
  const links = await contactLinks(db, credentialId);
  const listing = full ? await completeListing(api, listed.listing, links) : listed.listing;

  const groups = new GroupNames(api, db, credentialId, await contactGroups(db, credentialId));
  if (full || groups.unknownIn(listing.people)) await groups.refresh();

  const counts = noChanges();
  const writes = {
    links: [] as LinkWrite[],
    forget: [] as string[],
    synced: [] as RoundWrites['synced'],
    deletedRows: [] as number[],
    conflicts: [] as ContactConflictRow[],
    etags: [] as RoundWrites['etags'],
  };
  const linkOfParty = new Map([...links.values()].map((link) => [link.party_id, link]));
  const steps: TrytonStep[] = [];
  const google = new GoogleWrites(api, groups, database, writes, counts);

  // 1. What Google changed.
  const changed: Array<{ item: RemoteItem; link: ContactLink | undefined }> = [];
  const remoteDeleted: ContactLink[] = [];
  const seen = new Set<string>();
  for (const person of listing.people) {
    const resourceName = person.resourceName ?? '';
    if (!resourceName) continue;
    seen.add(resourceName);
    const previous = person.metadata?.previousResourceNames ?? [];
    for (const name of previous) seen.add(name);
    const link = links.get(resourceName) ?? previous.map((name) => links.get(name)).find((found) => found);
    if (person.metadata?.deleted) {
      if (link) remoteDeleted.push(link);
      continue;
    }
    const values = valuesOfPerson(person, groups.names);
    const hash = contactHash(values);
    if (link && link.hash === hash && link.resource_name === resourceName) {
      if (person.etag && person.etag !== link.etag)
        writes.etags.push({ resource_name: resourceName, etag: person.etag });
      continue;
    }
    if (link && link.resource_name !== resourceName) writes.forget.push(link.resource_name);
    changed.push({ item: { resourceName, person, values, hash }, link });
  }
  if (full) {
    // Absent from a complete listing: deleted, unless the sidecar wrote it too recently for Google to list it.
    for (const link of links.values()) {
      if (seen.has(link.resource_name)) continue;
      const written = link.created_at?.getTime() ?? 0;
      if (startedAt.getTime() - written > PROPAGATION_GRACE_MS) remoteDeleted.push(link);
    }
  }

  // 2. Tryton's side of what changed, and its own pending changes.
  const pending = await pendingParties(db, credentialId);
  const partyStates = new Map<number, PartyState>();
  if (pending.size > 0)
    for (const party of await tryton.pending(PENDING_LIMIT)) partyStates.set(party.party_id, party);
  const stamped = new Map<RemoteItem, number>();
  for (const { item, link } of changed) {
    if (link) continue;
    const party = stampedParty(item.person, database);
    if (party !== undefined && !linkOfParty.has(party)) stamped.set(item, party);
  }
  const wanted = new Set<number>([
    ...changed.flatMap(({ link }) => (link ? [link.party_id] : [])),
    ...remoteDeleted.map((link) => link.party_id),
    ...stamped.values(),
  ]);
  await readParties(
    tryton,
    [...wanted].filter((id) => !partyStates.has(id)),
    partyStates,
  );

  // 3. Match what has no link: its stamp, then an e-mail of a party in scope without a link.
  const unmatched = changed.filter(
    ({ item, link }) => !link && !partyStateOf(stamped.get(item), partyStates),
  );
  const byEmail = await matchEmails(tryton, [
    ...new Set(unmatched.flatMap(({ item }) => item.values.emails.map((e) => e.toLowerCase()))),
  ]);
  const matchedParties = new Set<number>();
  const matched = new Map<RemoteItem, number>();
  for (const { item } of unmatched) {
    const party = item.values.emails
      .map((email) => byEmail.get(email.toLowerCase()))
      .find((id) => id !== undefined);
    if (party !== undefined && !matchedParties.has(party) && !linkOfParty.has(party)) {
      matchedParties.add(party);
      matched.set(item, party);
    }
  }
  await readParties(
    tryton,
    [...matched.values()].filter((id) => !partyStates.has(id)),
    partyStates,
  );

  // 4. Decide every record Google changed.
  const handled = new Set<number>();
  for (const { item, link } of changed) {
    const partyId = link?.party_id ?? stamped.get(item) ?? matched.get(item);
    const local = partyId === undefined ? undefined : partyStates.get(partyId);
    if (partyId !== undefined) handled.add(partyId);
    const base = link ? (link.base as ContactValues | null) : null;
    const localPresent = local?.active && local.replaced_by === null;
    const decision = decideContact({
      base,
      local: localPresent
        ? {
            kind: 'present',
            values: local.values,
            // A party matched without a link counts as changed: the merge keeps what it loses.
            pending: pending.has(local.party_id) || !link,
            changedAt: local.local_write ? new Date(local.local_write) : null,
          }
        : link || local
          ? { kind: 'deleted' }
          : { kind: 'absent' },
      remote: { kind: 'present', values: item.values, changedAt: changedAt(item.person) },
    });
    conflictOf(decision, local?.party_id ?? null, writes, counts);
    planRemote(decision, item, local, link, steps, google, writes, counts);
  }
  for (const link of remoteDeleted) {
    const local = partyStates.get(link.party_id);
    handled.add(link.party_id);
    writes.forget.push(link.resource_name);
    if (!local?.active) {
      if (local)
        writes.synced.push({ party_id: local.party_id, resource_name: null, local_write: local.local_write });
      continue;
    }
    const decision = decideContact({
      base: link.base as ContactValues | null,
      local: { kind: 'present', values: local.values, pending: pending.has(local.party_id), changedAt: null },
      remote: { kind: 'deleted' },
    });
    conflictOf(decision, local.party_id, writes, counts);
    steps.push({
      change: { op: 'archive', party_id: local.party_id },
      deletion: true,
      after: () => {
        counts.archived++;
        writes.synced.push({ party_id: local.party_id, resource_name: null, local_write: local.local_write });
      },
    });
  }

  // 5. Tryton's own changes that Google did not touch: pushed.
  const handovers = new Map<number, PartyState>();
  for (const local of partyStates.values()) {
    if (handled.has(local.party_id) || !pending.has(local.party_id)) continue;
    const link = linkOfParty.get(local.party_id);
    if (local.replaced_by !== null && link && !linkOfParty.has(local.replaced_by))
      handovers.set(local.replaced_by, local);
    else planPush(local, link, google, writes);
  }
  await readParties(
    tryton,
    [...handovers.keys()].filter((id) => !partyStates.has(id)),
    partyStates,
  );
  for (const [replacement, replaced] of handovers) {
    const link = linkOfParty.get(replaced.party_id) as ContactLink;
    const target = partyStates.get(replacement);
    writes.synced.push({
      party_id: replaced.party_id,
      resource_name: null,
      local_write: replaced.local_write,
    });
    if (!target?.active) {
      google.delete(link.resource_name, () => writes.forget.push(link.resource_name));
      continue;
    }
    // The replacement takes the replaced party's contact: updated to its values, linked to it.
    steps.push({
      change: {
        op: 'update',
        party_id: target.party_id,
        resource_name: link.resource_name,
        values: target.values,
      },
      deletion: false,
      after: () => undefined,
    });
    google.update(
      link.resource_name,
      link.etag,
      target.values,
      (link.base as ContactValues | null)?.groups ?? [],
      {
        party_id: target.party_id,
        local_write: target.local_write,
        base: target.values,
      },
    );
  }
  for (const row of await deletedPartyContacts(db, credentialId)) {
    google.delete(row.resource_name, () => {
      writes.forget.push(row.resource_name);
      writes.deletedRows.push(row.id);
    });
  }

  // 6. The guard: a round deleting too much of the account deletes nothing and asks an admin.
  const deletions = steps.filter((step) => step.deletion).length + google.deletions();
  const share = (settings.deletion_limit / 100) * links.size;
  const hold = deletions > GUARD_FLOOR && deletions > share && deletions > settings.allowed_deletions;
  if (hold) {
    counts.held = deletions;
    google.dropDeletions();
    for (let index = steps.length - 1; index >= 0; index--)
      if (steps[index]?.deletion) steps.splice(index, 1);
    // The links of what was held stay, so the same deletions come again once allowed.
    const heldLinks = new Set(remoteDeleted.map((link) => link.resource_name));
    writes.forget = writes.forget.filter((name) => !heldLinks.has(name));
  }

  // 7. Tryton first (Google's new contacts need their party), then Google.
  const refused = await applyToTryton(tryton, steps);
  await google.flush();
  await settleRound(db, credentialId, {
    ...writes,
    // Held deletions of Google come again only if the token stays where it was; an incremental
    // listing that listed nothing keeps the token it used (still valid), so an idle round writes nothing.
    ...(listing.nextSyncToken && !(hold && remoteDeleted.length > 0) && (full || listing.people.length > 0)
      ? { token: { value: listing.nextSyncToken, full, startedAt } }
      : {}),
  });
  return {
    ...counts,
    refused,
    allowanceUsed: !hold && deletions > 0 && settings.allowed_deletions > 0,
    linked: links.size,
  };
}

/**
 * A full listing as Google promised it: an item changed while the listing paged may be left out of
 * its later pages (docs/contracts.md, the calendar's *Full listings*), so when a linked contact is
 * missing, the changes since (one incremental listing on the new token) are taken with it before
 * anything counts as deleted.
 */
async function completeListing(
  api: PeopleApi,
  listing: Listing,
  links: Map<string, ContactLink>,
): Promise<Listing> {
  const seen = new Set(
    listing.people.flatMap((person) => [
      person.resourceName ?? '',
      ...(person.metadata?.previousResourceNames ?? []),
    ]),
  );
  const missing = [...links.keys()].some((name) => !seen.has(name));
  if (!missing || !listing.nextSyncToken) return listing;
  const since = await api.list(listing.nextSyncToken);
  if (since.kind !== 'ok') return listing;
  const latest = new Map<string, people_v1.Schema$Person>();
  for (const person of [...listing.people, ...since.listing.people])
    latest.set(person.resourceName ?? '', person);
  return {
    people: [...latest.values()],
    nextSyncToken: since.listing.nextSyncToken ?? listing.nextSyncToken,
  };
}

function partyStateOf(id: number | undefined, states: Map<number, PartyState>): PartyState | undefined {
  return id === undefined ? undefined : states.get(id);
}

/** The parties holding these e-mails, 1,000 e-mails to a call (the route's limit). */
async function matchEmails(tryton: TrytonContacts, emails: string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (let start = 0; start < emails.length; start += READ_BATCH)
    for (const [email, party] of await tryton.match(emails.slice(start, start + READ_BATCH)))
      found.set(email, party);
  return found;
}

async function readParties(
  tryton: TrytonContacts,
  ids: number[],
  into: Map<number, PartyState>,
): Promise<void> {
  for (let start = 0; start < ids.length; start += READ_BATCH)
    for (const party of await tryton.read(ids.slice(start, start + READ_BATCH)))
      into.set(party.party_id, party);
}

function conflictOf(
  decision: ContactDecision,
  party: number | null,
  writes: { conflicts: ContactConflictRow[] },
  counts: ContactsCounts,
): void {
  if (!('conflict' in decision) || !decision.conflict) return;
  const { kind, winner, fields, kept, lost } = decision.conflict;
  writes.conflicts.push({ party, kind, winner, fields, kept, lost });
  counts.conflicts++;
}

/** What a decision on a record Google changed becomes. */
function planRemote(
  decision: ContactDecision,
  item: RemoteItem,
  local: PartyState | undefined,
  link: ContactLink | undefined,
  steps: TrytonStep[],
  google: GoogleWrites,
  writes: { links: LinkWrite[]; forget: string[]; synced: RoundWrites['synced'] },
  counts: ContactsCounts,
): void {
  const linkTo = (partyId: number, base: ContactValues) =>
    writes.links.push({
      resource_name: item.resourceName,
      party_id: partyId,
      etag: item.person.etag ?? null,
      hash: item.hash,
      base,
      written_at: null,
    });
  switch (decision.action) {
    case 'none':
    case 'write-tryton': {
      const values = decision.action === 'none' ? (local?.values ?? item.values) : decision.values;
      const change: TrytonChange = local
        ? { op: 'update', party_id: local.party_id, resource_name: item.resourceName, values }
        : { op: 'create', resource_name: item.resourceName, values };
      if (decision.action === 'none' && local && local.contact_id !== null && link) {
        // Both sides hold the same: only the link follows Google's new version.
        linkTo(local.party_id, local.values);
        writes.synced.push({
          party_id: local.party_id,
          resource_name: item.resourceName,
          local_write: local.local_write,
        });
        return;
      }
      steps.push({
        change,
        deletion: false,
        after: (applied) => {
          if (decision.action === 'write-tryton') {
            if (local) counts.updated++;
            else counts.created++;
          }
          linkTo(applied.party_id, applied.values);
          writes.synced.push({
            party_id: applied.party_id,
            resource_name: item.resourceName,
            local_write: local?.local_write ?? null,
          });
        },
      });
      return;
    }
    case 'write-google': {
      if (!local) return;
      const update = () =>
        google.update(
          item.resourceName,
          item.person.etag ?? link?.etag ?? null,
          decision.values,
          item.values.groups,
          {
            party_id: local.party_id,
            local_write: local.local_write,
            base: decision.values,
          },
          item.person,
        );
      if (decision.trytonToo || local.contact_id === null || !link) {
        steps.push({
          change: {
            op: 'update',
            party_id: local.party_id,
            resource_name: item.resourceName,
            values: decision.values,
          },
          deletion: false,
          after: (applied) => {
            if (decision.trytonToo) counts.updated++;
            update();
            google.rebase(item.resourceName, applied.values);
          },
        });
      } else update();
      return;
    }
    case 'delete-tryton':
      if (!local) return;
      steps.push({
        change: { op: 'archive', party_id: local.party_id },
        deletion: true,
        after: () => {
          counts.archived++;
          writes.forget.push(item.resourceName);
          writes.synced.push({
            party_id: local.party_id,
            resource_name: null,
            local_write: local.local_write,
          });
        },
      });
      return;
    case 'delete-google':
      google.delete(item.resourceName, () => {
        writes.forget.push(item.resourceName);
        if (local)
          writes.synced.push({
            party_id: local.party_id,
            resource_name: null,
            local_write: local.local_write,
          });
      });
      return;
    case 'forget':
      if (link) writes.forget.push(link.resource_name);
      return;
  }
}

/** A pending party Google did not change in this listing: its change goes to Google. */
function planPush(
  local: PartyState,
  link: ContactLink | undefined,
  google: GoogleWrites,
  writes: { synced: RoundWrites['synced'] },
): void {
  const settled = () => {
    writes.synced.push({
      party_id: local.party_id,
      resource_name: link?.resource_name ?? null,
      local_write: local.local_write,
    });
  };
  const gone = !local.active || local.replaced_by !== null;
  if (!link) {
    if (gone || !local.in_scope) settled();
    else
      google.create(local.party_id, local.values, {
        party_id: local.party_id,
        local_write: local.local_write,
        base: local.values,
      });
    return;
  }
  if (gone) {
    google.delete(
      link.resource_name,
      () => {
        writes.synced.push({ party_id: local.party_id, resource_name: null, local_write: local.local_write });
      },
      true,
    );
    return;
  }
  const decision = decideContact({
    base: link.base as ContactValues | null,
    local: { kind: 'present', values: local.values, pending: true, changedAt: null },
    remote: { kind: 'unknown' },
  });
  if (decision.action !== 'write-google') {
    settled();
    return;
  }
  google.update(
    link.resource_name,
    link.etag,
    decision.values,
    (link.base as ContactValues | null)?.groups ?? [],
    {
      party_id: local.party_id,
      local_write: local.local_write,
      base: decision.values,
    },
  );
}

/** Tryton's changes, 200 to a call; a batch Tryton refuses is tried change by change. */
async function applyToTryton(tryton: TrytonContacts, steps: TrytonStep[]): Promise<string[]> {
  const refused: string[] = [];
  for (let start = 0; start < steps.length; start += APPLY_BATCH) {
    const batch = steps.slice(start, start + APPLY_BATCH);
    try {
      const results = await tryton.apply(batch.map((step) => step.change));
      batch.forEach((step, index) => {
        const applied = results[index];
        if (applied) step.after(applied);
      });
    } catch (error) {
      if (!(error instanceof TrytonRefused)) throw error;
      for (const step of batch) {
        try {
          const [applied] = await tryton.apply([step.change]);
          if (applied) step.after(applied);
        } catch (single) {
          if (!(single instanceof TrytonRefused)) throw single;
          refused.push(describe(step.change, single.message));
        }
      }
    }
  }
  return refused;
}

function describe(change: TrytonChange, message: string): string {
  const what = change.op === 'create' ? `contact ${change.resource_name}` : `party ${change.party_id}`;
  return `${what}: ${message}`;
}
