/**
 * Every statement on `google_integration_google_credentials`, the table the Tryton module declares
 * (model google_integration.google_credentials). Each UPDATE also sets write_date (naive UTC, as
 * Tryton stores it) and write_uid so that an open Tryton form notices the change. Token columns
 * hold ciphertexts (crypto/token-cipher.ts); this module never sees plaintext secrets.
 */
import type { Knex } from 'knex';

export const CREDENTIALS_TABLE = 'google_integration_google_credentials';

/** Tryton's root user: the sidecar acts outside any Tryton user's session. */
const SIDECAR_UID = 0;

export type CredentialState =
  | 'without_authorization'
  | 'authorization_pending'
  | 'authorized'
  | 'authorization_expired';

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
}

/** The columns the sidecar may write. */
export type CredentialChanges = Partial<
  Omit<CredentialRow, 'id' | 'name' | 'client_id' | 'client_secret'>
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

/** Locks the credential whose pending authorization carries this state digest. */
export async function lockByOAuthState(
  trx: Knex.Transaction,
  digest: string,
): Promise<CredentialRow | undefined> {
  return trx(CREDENTIALS_TABLE)
    .where({ oauth_state: digest })
    .forUpdate()
    .first<CredentialRow | undefined>(COLUMNS);
}

export async function updateCredential(knex: Knex, id: number, changes: CredentialChanges): Promise<void> {
  const values = Object.fromEntries(
    Object.entries(changes).map(([column, value]) => [
      column,
      value instanceof Date ? naiveUtc(value) : value,
    ]),
  );
  await knex(CREDENTIALS_TABLE)
    .where({ id })
    .update({ ...values, write_date: knex.raw("timezone('UTC', now())"), write_uid: SIDECAR_UID });
}

/** Tryton's Timestamp columns hold UTC without a zone; pg would write a Date in local time. */
function naiveUtc(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

/** Bounds how long a statement waits for a row lock held elsewhere (e.g. a slow refresh). */
export async function setLockTimeout(trx: Knex.Transaction, milliseconds: number): Promise<void> {
  await trx.raw(`SET LOCAL lock_timeout = ${Math.max(1, Math.trunc(milliseconds))}`);
}

/**
 * Claims one authorized credential whose access token expires within `aheadSeconds`, skipping rows
 * another replica holds and those in a failure cool-down (google_integration_sidecar.refresh_backoff).
 */
export async function claimDueForRefresh(
  trx: Knex.Transaction,
  aheadSeconds: number,
): Promise<CredentialRow | undefined> {
  return trx(`${CREDENTIALS_TABLE} as c`)
    .leftJoin('google_integration_sidecar.refresh_backoff as b', 'b.credential_id', 'c.id')
    .where('c.state', 'authorized')
    .whereNotNull('c.refresh_token')
    .where((query) =>
      query
        .whereNull('c.token_expiry')
        .orWhere(
          'c.token_expiry',
          '<',
          trx.raw(`timezone('UTC', now()) + make_interval(secs => ?)`, [aheadSeconds]),
        ),
    )
    .where((query) =>
      query.whereNull('b.next_attempt_at').orWhere('b.next_attempt_at', '<=', trx.raw('now()')),
    )
    .orderBy('c.token_expiry', 'asc')
    .forUpdate('c')
    .skipLocked()
    .first<CredentialRow | undefined>(COLUMNS.map((column) => `c.${column}`));
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
