/**
 * Valid access tokens on demand (`credentials.get_access_token`, `credentials.refresh`) and the one
 * refresh step the background refresher shares. A refresh happens only under the credential's row
 * lock and after re-reading the row, so any number of callers, on any number of replicas, cause one
 * call to Google: the others wait on the lock and then find the fresh token.
 */
import { type Db, type Tx, inTransaction } from '../db/handle.js';
import {
  type CredentialChanges,
  type CredentialRow,
  findCredential,
  lockCredential,
  setLockTimeout,
  updateCredential,
} from '../db/credentials-repository.js';
import type { TokenSet } from '../oauth/google-client.js';
import { GoogleError } from '../oauth/google-error.js';
import { missingScopes, splitScopes } from '../oauth/scopes.js';
import type { CredentialContext } from './context.js';
import {
  authorizationExpired,
  credentialNotFound,
  googleRejected,
  googleUnavailable,
  INVALID_GRANT_EXPLANATION,
  notAuthorized,
  scopeNotGranted,
} from './errors.js';
import { mergeTokens, oauthClientOf, openAccessToken, openRefreshToken } from './tokens.js';

export interface AccessToken {
  readonly access_token: string;
  readonly token_expiry: string;
  readonly scopes: string[];
}

export interface AccessTokenRequest {
  /** The token must stay valid this many seconds more, or it is refreshed first. */
  readonly minValidity: number;
  /** Scopes the caller is about to use; refused without calling Google when not granted. */
  readonly scopes?: readonly string[] | undefined;
}

/** Waiting longer than this for another caller's refresh means something is stuck. */
const LOCK_TIMEOUT_MS = 30_000;

export async function getAccessToken(
  context: CredentialContext,
  db: Db,
  credentialId: number,
  request: AccessTokenRequest,
): Promise<AccessToken> {
  const row = usable(await findCredential(db, credentialId), credentialId);
  requireScopes(row, request.scopes);
  if (isValid(context, row, request.minValidity)) return present(context, row);
  const outcome = await inTransaction(db, async (trx) => {
    await setLockTimeout(trx, LOCK_TIMEOUT_MS);
    const locked = usable(await lockCredential(trx, credentialId), credentialId);
    if (isValid(context, locked, request.minValidity)) return { row: locked };
    return refreshLocked(context, trx, locked);
  });
  return present(context, settle(outcome, credentialId));
}

/** `credentials.refresh`: refresh now, whatever the token's remaining validity. */
export async function forceRefresh(context: CredentialContext, db: Db, credentialId: number) {
  const outcome = await inTransaction(db, async (trx) => {
    await setLockTimeout(trx, LOCK_TIMEOUT_MS);
    return refreshLocked(context, trx, usable(await lockCredential(trx, credentialId), credentialId));
  });
  const row = settle(outcome, credentialId);
  return { state: row.state, token_expiry: row.token_expiry?.toISOString() ?? null };
}

export type RefreshOutcome =
  | { readonly row: CredentialRow }
  | { readonly expired: string }
  | { readonly failure: GoogleError };

/**
 * Refreshes a credential whose row `trx` holds locked. invalid_grant is written (the credential
 * becomes authorization_expired) and reported as an outcome, not thrown, so the write commits.
 */
export async function refreshLocked(
  context: CredentialContext,
  trx: Tx,
  row: CredentialRow,
): Promise<RefreshOutcome> {
  const refreshToken = openRefreshToken(context.cipher, row);
  if (!refreshToken) return { expired: 'no refresh token is stored' };
  const client = oauthClientOf(row);
  let tokens: TokenSet;
  try {
    tokens = await context.google.refreshTokenGrant(client, refreshToken);
  } catch (error) {
    // Only Google's answer is judged here: a database failure below is not "Google unavailable".
    const failure = GoogleError.from(error, 'token refresh');
    if (failure.code !== 'invalid_grant') {
      context.metrics.refresh(failure.transient ? 'transient' : 'rejected');
      context.logger.warn(
        { credential_id: row.id, status: failure.status, code: failure.code },
        'token refresh failed',
      );
      return { failure };
    }
    await updateCredential(trx, row.id, {
      state: 'authorization_expired',
      access_token: null,
      refresh_token: null,
      token_expiry: null,
      last_error: INVALID_GRANT_EXPLANATION,
    });
    context.logger.warn(
      { credential_id: row.id },
      'refresh token refused (invalid_grant): authorization expired',
    );
    context.metrics.refresh('invalid_grant');
    return { expired: INVALID_GRANT_EXPLANATION };
  }
  const changes: CredentialChanges = {
    ...mergeTokens(context.cipher, row, tokens),
    ...(tokens.scopes ? { granted_scopes: tokens.scopes.join(' ') } : {}),
  };
  await updateCredential(trx, row.id, changes);
  context.logger.info({ credential_id: row.id, token_expiry: tokens.expiresAt }, 'token refreshed');
  context.metrics.refresh('refreshed');
  return { row: { ...row, ...changes } as CredentialRow };
}

function settle(outcome: RefreshOutcome, credentialId: number): CredentialRow {
  if ('row' in outcome) return outcome.row;
  if ('expired' in outcome) throw authorizationExpired(credentialId, outcome.expired);
  if (outcome.failure.transient) throw googleUnavailable(credentialId, outcome.failure.message);
  throw googleRejected(credentialId, outcome.failure.message);
}

/**
 * A credential can hand out tokens when authorized, and while a re-authorization is pending if it
 * still holds the earlier grant (syncing goes on while an admin re-consents).
 */
function usable(row: CredentialRow | undefined, credentialId: number): CredentialRow {
  if (!row) throw credentialNotFound(credentialId);
  if (row.state === 'authorization_expired') throw authorizationExpired(credentialId, null);
  const reauthorizing = row.state === 'authorization_pending' && row.refresh_token !== null;
  if (row.state !== 'authorized' && !reauthorizing) throw notAuthorized(credentialId, row.state);
  return row;
}

function requireScopes(row: CredentialRow, scopes: readonly string[] | undefined): void {
  if (!scopes || scopes.length === 0) return;
  const missing = missingScopes(scopes, splitScopes(row.granted_scopes));
  if (missing.length > 0) throw scopeNotGranted(row.id, missing);
}

function isValid(context: CredentialContext, row: CredentialRow, minValidity: number): boolean {
  if (!row.access_token || !row.token_expiry) return false;
  return row.token_expiry.getTime() - context.now().getTime() > minValidity * 1000;
}

function present(context: CredentialContext, row: CredentialRow): AccessToken {
  return {
    access_token: openAccessToken(context.cipher, row) as string,
    token_expiry: (row.token_expiry as Date).toISOString(),
    scopes: splitScopes(row.granted_scopes),
  };
}
