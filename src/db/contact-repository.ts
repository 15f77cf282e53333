/**
 * Statements of the contacts sync (docs/contracts.md, "Contacts synchronization"): its bookkeeping in
 * the sidecar's schema (token, links, group names), the module's sync tables it may write
 * (`party_contact`'s status, conflict rows) and the credential's contacts columns. Parties themselves
 * are never written here: they go through Tryton's ORM (services/contacts/tryton-route.ts).
 */
import type { Knex } from 'knex';
import type { Db } from './handle.js';
import { naiveUtc } from './naive-utc.js';

const SYNC = 'google_integration_sidecar.contact_sync';
const LINKS = 'google_integration_sidecar.contact_link';
const GROUPS = 'google_integration_sidecar.contact_group';
const PARTY_CONTACTS = 'google_integration_party_contact';
const CONFLICTS = 'google_integration_contact_conflict';
const CREDENTIALS = 'google_integration_google_credentials';
const STAMPED = "write_date = timezone('UTC', now()), write_uid = 0";

/** The tables of the module and of party the contacts sync reads and writes. */
const CONTACT_TABLES = ['party_party', PARTY_CONTACTS, CONFLICTS] as const;

/** Those missing here: party not activated, or the module not updated since Contacts came. */
export async function missingContactTables(db: Db): Promise<string[]> {
  const result = await db.raw<{ rows: Array<{ name: string }> }>(
    `SELECT name FROM unnest(?::text[]) WITH ORDINALITY AS t(name, position)
      WHERE to_regclass('public.' || name) IS NULL ORDER BY position`,
    [[...CONTACT_TABLES]],
  );
  return result.rows.map((row) => row.name);
}

export interface ContactSyncState {
  readonly sync_token: string | null;
  readonly token_at: Date | null;
}

export interface ContactLink {
  readonly resource_name: string;
  readonly party_id: number;
  readonly etag: string | null;
  readonly hash: string;
  readonly base: unknown;
  readonly created_at: Date | null;
}

export interface ContactSettings {
  readonly deletion_limit: number;
  readonly allowed_deletions: number;
  readonly status: string | null;
}

export async function contactSyncState(db: Db, credentialId: number): Promise<ContactSyncState | undefined> {
  return db(SYNC)
    .where({ credential_id: credentialId })
    .first<ContactSyncState | undefined>('sync_token', 'token_at');
}

export async function contactLinks(db: Db, credentialId: number): Promise<Map<string, ContactLink>> {
  const rows = await db(LINKS)
    .where({ credential_id: credentialId })
    .select<ContactLink[]>('resource_name', 'party_id', 'etag', 'hash', 'base', 'created_at');
  return new Map(rows.map((row) => [row.resource_name, row]));
}

export async function contactGroups(db: Db, credentialId: number): Promise<Map<string, string>> {
  const rows = await db(GROUPS)
    .where({ credential_id: credentialId })
    .select<Array<{ resource_name: string; name: string }>>('resource_name', 'name');
  return new Map(rows.map((row) => [row.resource_name, row.name]));
}

/** The account's user groups as Google listed them, replacing what was known. */
export async function storeContactGroups(
  db: Db,
  credentialId: number,
  groups: ReadonlyArray<{ resourceName: string; name: string }>,
): Promise<void> {
  await db.transaction(async (trx) => {
    await trx(GROUPS).where({ credential_id: credentialId }).delete();
    if (groups.length > 0)
      await trx(GROUPS).insert(
        groups.map((group) => ({
          credential_id: credentialId,
          resource_name: group.resourceName,
          name: group.name,
        })),
      );
  });
}

export async function contactSettings(db: Db, credentialId: number): Promise<ContactSettings | undefined> {
  return db(CREDENTIALS)
    .where({ id: credentialId })
    .first<ContactSettings | undefined>(
      db.raw('COALESCE(contacts_deletion_limit, 20) AS deletion_limit'),
      db.raw('COALESCE(contacts_allowed_deletions, 0) AS allowed_deletions'),
      'contacts_status AS status',
    );
}

/** The parties of the credential with a change Tryton has not pushed yet. */
export async function pendingParties(db: Db, credentialId: number): Promise<Set<number>> {
  const rows = await db(PARTY_CONTACTS)
    .where({ credential: credentialId, sync_status: 'pending_push' })
    .whereNotNull('party')
    .select<Array<{ party: number }>>('party');
  return new Set(rows.map((row) => row.party));
}

/**
 * Whether Tryton marked a party of the credential pending at or after `since` (naive UTC, as Tryton
 * writes `local_write`): a change saved while a round ran, whose queueing may have been lost.
 */
export async function pendingSince(db: Db, credentialId: number, since: Date): Promise<boolean> {
  const row = await db(PARTY_CONTACTS)
    .where({ credential: credentialId, sync_status: 'pending_push' })
    .where('local_write', '>=', naiveUtc(since))
    .first('id');
  return row !== undefined;
}

/** Rows of parties deleted in Tryton whose contact is still at Google. */
export async function deletedPartyContacts(
  db: Db,
  credentialId: number,
): Promise<Array<{ id: number; resource_name: string }>> {
  return db(PARTY_CONTACTS)
    .where({ credential: credentialId })
    .whereNull('party')
    .select<Array<{ id: number; resource_name: string | null }>>('id', 'resource_name')
    .then((rows) => rows.filter((row): row is { id: number; resource_name: string } => !!row.resource_name));
}

export interface LinkWrite {
  readonly resource_name: string;
  readonly party_id: number;
  readonly etag: string | null;
  readonly hash: string;
  readonly base: unknown;
  /** Set when the sidecar itself wrote the contact at Google (Google's listings lag its writes). */
  readonly written_at: Date | null;
}

export interface ContactConflictRow {
  readonly party: number | null;
  readonly kind: 'edit' | 'delete';
  readonly winner: 'tryton' | 'google';
  readonly fields: readonly string[];
  readonly kept: unknown;
  readonly lost: unknown;
}

/** What one round settles, once Google and Tryton answered, in one transaction. */
export interface RoundWrites {
  readonly links: LinkWrite[];
  readonly forget: string[];
  /** `party_contact` rows whose pushed change is settled (where `local_write` is still the one read). */
  readonly synced: Array<{ party_id: number; resource_name: string | null; local_write: string | null }>;
  /** `party_contact` rows of deleted parties, their contact gone. */
  readonly deletedRows: number[];
  readonly conflicts: ContactConflictRow[];
  readonly etags: Array<{ resource_name: string; etag: string }>;
  /** The new sync token, unless the round must list the same changes again. */
  readonly token?: { readonly value: string; readonly full: boolean; readonly startedAt: Date };
}

export async function settleRound(db: Db, credentialId: number, writes: RoundWrites): Promise<void> {
  const nothing =
    writes.links.length +
      writes.forget.length +
      writes.synced.length +
      writes.deletedRows.length +
      writes.conflicts.length +
      writes.etags.length ===
      0 && writes.token === undefined;
  if (nothing) return;
  await db.transaction(async (trx) => {
    if (writes.forget.length > 0)
      await trx(LINKS)
        .where({ credential_id: credentialId })
        .whereIn('resource_name', writes.forget)
        .delete();
    for (const link of writes.links) await upsertLink(trx, credentialId, link);
    for (const { resource_name, etag } of writes.etags)
      await trx(LINKS).where({ credential_id: credentialId, resource_name }).update({ etag });
    for (const row of writes.synced) await markSynced(trx, credentialId, row);
    if (writes.deletedRows.length > 0) await trx(PARTY_CONTACTS).whereIn('id', writes.deletedRows).delete();
    for (const conflict of writes.conflicts) await insertConflict(trx, credentialId, conflict);
    if (writes.token) await saveToken(trx, credentialId, writes.token);
  });
}

async function upsertLink(trx: Knex.Transaction, credentialId: number, link: LinkWrite): Promise<void> {
  // A party has one contact per account: a link to it under another name is the old one.
  await trx(LINKS)
    .where({ credential_id: credentialId, party_id: link.party_id })
    .whereNot({ resource_name: link.resource_name })
    .delete();
  await trx.raw(
    `INSERT INTO ${LINKS} (credential_id, resource_name, party_id, etag, hash, base, created_at)
     VALUES (?, ?, ?, ?, ?, ?::jsonb, ?)
     ON CONFLICT (credential_id, resource_name) DO UPDATE SET party_id = excluded.party_id,
       etag = excluded.etag, hash = excluded.hash, base = excluded.base,
       created_at = COALESCE(excluded.created_at, ${LINKS}.created_at)`,
    [
      credentialId,
      link.resource_name,
      link.party_id,
      link.etag,
      link.hash,
      JSON.stringify(link.base),
      link.written_at,
    ],
  );
}

async function markSynced(
  trx: Knex.Transaction,
  credentialId: number,
  row: { party_id: number; resource_name: string | null; local_write: string | null },
): Promise<void> {
  await trx.raw(
    `UPDATE ${PARTY_CONTACTS}
        SET resource_name = ?,
            sync_status = CASE WHEN local_write IS NOT DISTINCT FROM ?::timestamp THEN 'synced' ELSE sync_status END,
            last_sync = timezone('UTC', now()), ${STAMPED}
      WHERE credential = ? AND party = ?`,
    [row.resource_name, row.local_write, credentialId, row.party_id],
  );
}

async function insertConflict(
  trx: Knex.Transaction,
  credentialId: number,
  conflict: ContactConflictRow,
): Promise<void> {
  await trx.raw(
    `INSERT INTO ${CONFLICTS} (credential, party, kind, winner, fields, kept, lost,
                               create_date, create_uid, write_date, write_uid)
     VALUES (?, ?, ?, ?, ?, ?, ?, timezone('UTC', now()), 0, timezone('UTC', now()), 0)`,
    [
      credentialId,
      conflict.party,
      conflict.kind,
      conflict.winner,
      conflict.fields.join(','),
      JSON.stringify(conflict.kept),
      JSON.stringify(conflict.lost),
    ],
  );
}

async function saveToken(
  trx: Knex.Transaction,
  credentialId: number,
  token: { value: string; full: boolean; startedAt: Date },
): Promise<void> {
  await trx.raw(
    `INSERT INTO ${SYNC} (credential_id, sync_token, token_at, full_pull_at, failures)
     VALUES (?, ?, ?, ?, 0)
     ON CONFLICT (credential_id) DO UPDATE SET sync_token = excluded.sync_token,
       token_at = CASE WHEN ? THEN excluded.token_at ELSE ${SYNC}.token_at END,
       full_pull_at = CASE WHEN ? THEN excluded.full_pull_at ELSE ${SYNC}.full_pull_at END,
       failures = 0`,
    [credentialId, token.value, token.startedAt, token.startedAt, token.full, token.full],
  );
}

export interface ContactsOutcome {
  readonly status: 'ok' | 'failing' | 'held';
  readonly error: string | null;
  /** This round's counts in words; null when the round changed nothing (an idle round writes nothing). */
  readonly counts: string | null;
  readonly held: number;
  /** The admin's allowance was used up. */
  readonly allowanceUsed: boolean;
}

/** The credential says what the last round did; a quiet round that changes no status writes nothing. */
export async function recordContactsOutcome(
  db: Db,
  credentialId: number,
  outcome: ContactsOutcome,
): Promise<void> {
  await db.raw(
    `UPDATE ${CREDENTIALS}
        SET contacts_status = ?, contacts_last_error = ?, contacts_held_deletions = ?,
            contacts_last_counts = COALESCE(?, contacts_last_counts),
            contacts_last_sync = CASE WHEN ?::text IS NULL THEN contacts_last_sync ELSE timezone('UTC', now()) END,
            contacts_allowed_deletions = CASE WHEN ? THEN 0 ELSE contacts_allowed_deletions END,
            ${STAMPED}
      WHERE id = ?
        AND (contacts_status IS DISTINCT FROM ? OR contacts_last_error IS DISTINCT FROM ?
             OR contacts_held_deletions IS DISTINCT FROM ? OR ?::text IS NOT NULL OR ?)`,
    [
      outcome.status,
      outcome.error,
      outcome.held,
      outcome.counts,
      outcome.counts,
      outcome.allowanceUsed,
      credentialId,
      outcome.status,
      outcome.error,
      outcome.held,
      outcome.counts,
      outcome.allowanceUsed,
    ],
  );
}

/**
 * The credentials whose contacts the periodic pass synchronizes: those that list Contacts, hand out
 * tokens, and have synchronization on or a change of Tryton waiting (its own queueing lost, or saved
 * while no sidecar ran).
 */
export async function contactCredentials(db: Db): Promise<number[]> {
  const found = await db.raw<{ rows: Array<{ table: string | null }> }>(
    `SELECT to_regclass('public.${PARTY_CONTACTS}')::text AS table`,
  );
  if (!found.rows[0]?.table) return [];
  const result = await db.raw<{ rows: Array<{ id: number }> }>(
    `SELECT c.id FROM ${CREDENTIALS} c
      WHERE c.services LIKE '%"contacts"%'
        AND (c.state = 'authorized' OR (c.state = 'authorization_pending' AND c.refresh_token IS NOT NULL))
        AND (c.sync_enabled OR EXISTS (
          SELECT 1 FROM ${PARTY_CONTACTS} p WHERE p.credential = c.id AND p.sync_status = 'pending_push'))
      ORDER BY c.id`,
  );
  return result.rows.map((row) => row.id);
}
