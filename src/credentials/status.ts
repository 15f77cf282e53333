/** `credentials.status`: what Tryton shows about a credential, read straight from its row. */
import type { Db } from '../db/handle.js';
import { type CredentialState, findCredential } from '../db/credentials-repository.js';
import { splitScopes } from '../oauth/scopes.js';
import { credentialNotFound } from './errors.js';

export interface CredentialStatus {
  readonly state: CredentialState;
  readonly token_expiry: string | null;
  readonly account_email: string | null;
  readonly granted_scopes: string[];
  readonly last_error: string | null;
  readonly last_sync: string | null;
}

export async function credentialStatus(db: Db, credentialId: number): Promise<CredentialStatus> {
  const row = await findCredential(db, credentialId);
  if (!row) throw credentialNotFound(credentialId);
  return {
    state: row.state,
    token_expiry: row.token_expiry?.toISOString() ?? null,
    account_email: row.account_email,
    granted_scopes: splitScopes(row.granted_scopes),
    last_error: row.last_error,
    last_sync: row.last_sync?.toISOString() ?? null,
  };
}
