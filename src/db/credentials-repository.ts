/**
 * Every statement on `google_integration_google_credentials`, the table the Tryton module declares
 * (model google_integration.google_credentials). Each UPDATE also sets write_date/write_uid so that
 * an open Tryton form notices the change.
 */
import type { Knex } from 'knex';

export const CREDENTIALS_TABLE = 'google_integration_google_credentials';

export type CredentialState =
  | 'without_authorization'
  | 'authorization_pending'
  | 'authorized'
  | 'authorization_expired';

export interface CredentialStatusRow {
  readonly id: number;
  readonly state: CredentialState;
  readonly token_expiry: Date | null;
  readonly account_email: string | null;
  readonly granted_scopes: string | null;
  readonly last_error: string | null;
  readonly last_sync: Date | null;
}

export async function findCredentialStatus(knex: Knex, id: number): Promise<CredentialStatusRow | undefined> {
  return knex(CREDENTIALS_TABLE)
    .where({ id })
    .first<CredentialStatusRow | undefined>(
      'id',
      'state',
      'token_expiry',
      'account_email',
      'granted_scopes',
      'last_error',
      'last_sync',
    );
}
