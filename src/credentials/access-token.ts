/**
 * Valid access tokens on demand: `credentials.get_access_token` and `credentials.refresh`. A valid
 * token is handed out from the token cache, or after one read shared by concurrent callers;
 * otherwise refresh.ts brings a new one, once for all concurrent callers on every replica.
 */
import { type CredentialRow, findCredential } from '../db/credentials-repository.js';
import { missingScopes, splitScopes } from '../oauth/scopes.js';
import type { CredentialContext, CredentialRef } from './context.js';
import type { AccessTokenAnswer } from './token-cache.js';
import { scopeNotGranted } from './errors.js';
import { refreshShared, usable } from './refresh.js';
import { openAccessToken } from './tokens.js';

/** What get_access_token answers; kept with the cached row (token-cache.ts). */
export type AccessToken = AccessTokenAnswer;

export interface AccessTokenRequest {
  /** The token must stay valid this many seconds more, or it is refreshed first. */
  readonly minValidity: number;
  /** Scopes the caller is about to use; refused without calling Google when not granted. */
  readonly scopes?: readonly string[] | undefined;
}

export async function getAccessToken(
  context: CredentialContext,
  ref: CredentialRef,
  request: AccessTokenRequest,
): Promise<AccessToken> {
  const cached = await context.tokens.get(ref, () => findCredential(ref.db, ref.id));
  const row = usable(cached?.row, ref.id);
  requireScopes(row, request.scopes);
  const valid = (candidate: CredentialRow) => isValid(context, candidate, request.minValidity);
  if (cached && valid(row)) {
    // Decrypted and written out once per cached row: a cache hit only checks the expiry.
    cached.answer ??= Object.freeze(present(row, openAccessToken(context.cipher, row) as string));
    return cached.answer;
  }
  const fresh = await refreshShared(context, ref, valid);
  return present(fresh, openAccessToken(context.cipher, fresh) as string);
}

/** `credentials.refresh`: a token newer than the one stored when the call arrived. */
export async function forceRefresh(context: CredentialContext, ref: CredentialRef) {
  const before = usable(await findCredential(ref.db, ref.id), ref.id);
  const row = await refreshShared(
    context,
    ref,
    (candidate) => candidate.access_token !== null && candidate.access_token !== before.access_token,
  );
  return { state: row.state, token_expiry: row.token_expiry?.toISOString() ?? null };
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

function present(row: CredentialRow, accessToken: string): AccessToken {
  return {
    access_token: accessToken,
    token_expiry: (row.token_expiry as Date).toISOString(),
    scopes: Object.freeze(splitScopes(row.granted_scopes)) as string[],
  };
}
