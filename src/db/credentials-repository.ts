/**
 * Every statement on `google_integration_google_credentials`, the table the Tryton module declares
 * (model google_integration.google_credentials). Each UPDATE also sets write_date (naive UTC, as
 * Tryton stores it) and write_uid so that an open Tryton form notices the change. Token columns
 * hold ciphertexts (crypto/token-cipher.ts); this module never sees plaintext secrets.
 */
import type { Knex } from 'knex';
import { withNaiveUtc } from './naive-utc.js';

/** The values of the `state` column (docs/contracts.md, "State machine"; credentials/state-machine.ts). */
export const CREDENTIAL_STATES = [
  'without_authorization',
  'authorization_pending',
  'authorized',
  'authorization_expired',
] as const;
export type CredentialState = (typeof CREDENTIAL_STATES)[number];

export const CREDENTIALS_TABLE = 'google_integration_google_credentials';

/** Tryton's root user: the sidecar acts outside any Tryton user's session. */
const SIDECAR_UID = 0;

export interface CredentialRow {
  readonly id: number;
  readonly name: string;
  readonly state: CredentialState;
  readonly client_id: string | null;
  readonly client_secret: string | null;
  readonly redirect_uri: string | null;
  readonly scopes: string | null;
  readonly oauth_state: string | null;
  readonly code_verifier: string | null;
  readonly authorization_requested_at: Date | null;
  readonly access_token: string | null;
  readonly refresh_token: string | null;
  readonly token_expiry: Date | null;
  readonly granted_scopes: string | null;
  readonly account_email: string | null;
  readonly last_error: string | null;
  readonly last_sync: Date | null;
  readonly sync_enabled: boolean | null;
  /** The services the credential serves, a JSON list as Tryton's MultiSelection stores it. */
  readonly services: string | null;
}

/** The columns the sidecar may write. */
export type CredentialChanges = Partial<
  Omit<CredentialRow, 'id' | 'name' | 'client_id' | 'client_secret' | 'services'>
> & {
  readonly authorization_url?: string | null;
};

const COLUMNS = [
  'id',
  'name',
  'state',
  'client_id',
  'client_secret',
  'redirect_uri',
  'scopes',
  'oauth_state',
  'code_verifier',
  'authorization_requested_at',
  'access_token',
  'refresh_token',
  'token_expiry',
  'granted_scopes',
  'account_email',
  'last_error',
  'last_sync',
  'sync_enabled',
  'services',
] as const;

export async function findCredential(knex: Knex, id: number): Promise<CredentialRow | undefined> {
  return knex(CREDENTIALS_TABLE).where({ id }).first<CredentialRow | undefined>(COLUMNS);
}

/**
 * Locks the credential's row for the rest of `trx` and reads it again: whoever waited on the lock
 * sees what the previous holder wrote (one refresh however many callers ask at once).
 */
export async function lockCredential(trx: Knex.Transaction, id: number): Promise<CredentialRow | undefined> {
  return trx(CREDENTIALS_TABLE).where({ id }).forUpdate().first<CredentialRow | undefined>(COLUMNS);
}

/** The credential whose pending authorization carries this state digest. */
export async function findByOAuthState(knex: Knex, digest: string): Promise<CredentialRow | undefined> {
  return knex(CREDENTIALS_TABLE).where({ oauth_state: digest }).first<CredentialRow | undefined>(COLUMNS);
}

/** Columns a conditional update compares (NULL equals NULL) with what the caller read before. */
export type CredentialExpectation = Partial<Pick<CredentialRow, 'state' | 'oauth_state' | 'refresh_token'>>;

export async function updateCredential(knex: Knex, id: number, changes: CredentialChanges): Promise<void> {
  await updateCredentialIf(knex, id, {}, changes);
}

/**
 * Writes `changes` only if the row still holds what `expected` says (compare-and-set): a write
 * computed from a row read before a call to Google must not undo what happened meanwhile (a
 * revoke, a new authorization). Returns whether the row was written.
 */
export async function updateCredentialIf(
  knex: Knex,
  id: number,
  expected: CredentialExpectation,
  changes: CredentialChanges,
): Promise<boolean> {
  const values = withNaiveUtc(changes);
  let query = knex(CREDENTIALS_TABLE).where({ id });
  for (const [column, value] of Object.entries(expected)) {
    query = value === null ? query.whereNull(column) : query.where(column, value as string);
  }
  const count = await query.update({
    ...values,
    write_date: knex.raw("timezone('UTC', now())"),
    write_uid: SIDECAR_UID,
  });
  return count === 1;
}

/**
 * Authorized credentials whose access token expires within `aheadSeconds`, soonest first, except
 * those in a failure cool-down (google_integration_sidecar.refresh_backoff). Nothing is locked:
 * the refresh itself takes the credential's lease.
 */
export async function listDueForRefresh(knex: Knex, aheadSeconds: number, limit: number): Promise<number[]> {
  const rows = await knex(`${CREDENTIALS_TABLE} as c`)
    .leftJoin('google_integration_sidecar.refresh_backoff as b', 'b.credential_id', 'c.id')
    .where('c.state', 'authorized')
    .whereNotNull('c.refresh_token')
    .where((query) =>
      query
        .whereNull('c.token_expiry')
        .orWhere(
          'c.token_expiry',
          '<',
          knex.raw(`timezone('UTC', now()) + make_interval(secs => ?)`, [aheadSeconds]),
        ),
    )
    .where((query) =>
      query.whereNull('b.next_attempt_at').orWhere('b.next_attempt_at', '<=', knex.raw('now()')),
    )
    .orderBy('c.token_expiry', 'asc')
    .limit(limit)
    .select<Array<{ id: number }>>('c.id');
  return rows.map((row) => row.id);
}

/** Rows with at least one sealed value, for rotate-keys. */
export async function listSealed(knex: Knex): Promise<CredentialRow[]> {
  return knex(CREDENTIALS_TABLE)
    .whereNotNull('access_token')
    .orWhereNotNull('refresh_token')
    .orWhereNotNull('code_verifier')
    .orderBy('id')
    .select<CredentialRow[]>(COLUMNS);
}
