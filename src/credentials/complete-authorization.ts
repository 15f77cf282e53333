/**
 * The OAuth callback (DESIGN.md, authorization step 6). The state is looked up in its own database
 * only, under a row lock, so a callback landing on any replica is handled once. A refused state
 * (unknown, used, expired, forged, from another database) changes nothing; a code Google refuses
 * changes nothing either, so the user's genuine flow is not burnt by a forged callback. A denial
 * ends the pending request and returns the credential to a state the user can retry from.
 */
import { type Db, type Tx, inTransaction } from '../db/handle.js';
import { type CredentialRow, lockByOAuthState, updateCredential } from '../db/credentials-repository.js';
import { GoogleError } from '../oauth/google-error.js';
import { missingScopes, requestedScopes, splitScopes } from '../oauth/scopes.js';
import { stateDigest } from '../oauth/state-token.js';
import type { CredentialContext } from './context.js';
import { mergeTokens, oauthClientOf } from './tokens.js';

export type CallbackQuery =
  | {
      readonly kind: 'code';
      readonly code: string;
      readonly state: string;
      readonly scope?: string | undefined;
    }
  | { readonly kind: 'error'; readonly error: string; readonly state: string };

export type CallbackOutcome =
  | {
      readonly kind: 'authorized';
      readonly credentialName: string;
      readonly account: string | null;
      readonly missing: string[];
    }
  | { readonly kind: 'denied'; readonly credentialName: string; readonly error: string }
  | { readonly kind: 'refused'; readonly reason: 'unknown_state' | 'expired_state' }
  | { readonly kind: 'code_rejected'; readonly detail: string }
  | { readonly kind: 'google_unavailable'; readonly detail: string };

export async function completeAuthorization(
  context: CredentialContext,
  db: Db,
  database: string,
  query: CallbackQuery,
): Promise<CallbackOutcome> {
  return inTransaction(db, async (trx) => {
    const row = await lockByOAuthState(trx, stateDigest(query.state));
    if (row?.state !== 'authorization_pending' || !row.code_verifier) {
      return { kind: 'refused', reason: 'unknown_state' } as const;
    }
    const requestedAt = row.authorization_requested_at?.getTime() ?? 0;
    if (context.now().getTime() - requestedAt > context.authorizationTtlSeconds * 1000) {
      return { kind: 'refused', reason: 'expired_state' } as const;
    }
    if (query.kind === 'error') return deny(context, trx, database, row, query.error);
    return exchange(context, trx, database, row, query);
  });
}

async function deny(
  context: CredentialContext,
  trx: Tx,
  database: string,
  row: CredentialRow,
  error: string,
): Promise<CallbackOutcome> {
  // An earlier grant whose refresh token is still stored stays usable; otherwise start over.
  await updateCredential(trx, row.id, {
    state: row.refresh_token ? 'authorized' : 'without_authorization',
    oauth_state: null,
    code_verifier: null,
    authorization_url: null,
    last_error:
      error === 'access_denied'
        ? 'Google consent was denied (access_denied): press Authorize to try again.'
        : `Google refused the authorization (${error}): check the OAuth client, then press Authorize again.`,
  });
  context.logger.info({ database, credential_id: row.id, error }, 'authorization denied');
  return { kind: 'denied', credentialName: row.name, error };
}

async function exchange(
  context: CredentialContext,
  trx: Tx,
  database: string,
  row: CredentialRow,
  query: Extract<CallbackQuery, { kind: 'code' }>,
): Promise<CallbackOutcome> {
  const client = oauthClientOf(row);
  const verifier = context.cipher.open(row.code_verifier as string, { column: 'code_verifier', id: row.id });
  let tokens: Awaited<ReturnType<CredentialContext['google']['authorizationCodeGrant']>>;
  try {
    tokens = await context.google.authorizationCodeGrant(client, query.code, verifier);
  } catch (error) {
    const failure = GoogleError.from(error, 'authorization code exchange');
    context.logger.warn(
      { database, credential_id: row.id, status: failure.status, code: failure.code },
      'code exchange failed',
    );
    return failure.transient
      ? { kind: 'google_unavailable', detail: failure.message }
      : { kind: 'code_rejected', detail: failure.message };
  }
  const granted = tokens.scopes ?? splitScopes(query.scope);
  const missing = missingScopes(requestedScopes(row.scopes), granted);
  let account: string | null = row.account_email;
  try {
    account = (await context.google.userinfoEmail(tokens.accessToken)) ?? account;
  } catch (error) {
    // The email is informative only; the authorization stands without it.
    context.logger.warn(
      { database, credential_id: row.id, err: (error as Error).message },
      'userinfo failed',
    );
  }
  await updateCredential(trx, row.id, {
    ...mergeTokens(context.cipher, row, tokens),
    state: 'authorized',
    oauth_state: null,
    code_verifier: null,
    authorization_url: null,
    granted_scopes: granted.join(' '),
    account_email: account,
    last_error:
      missing.length > 0 ? `Google granted fewer scopes than requested; missing: ${missing.join(' ')}` : null,
  });
  context.logger.info({ database, credential_id: row.id, missing }, 'authorization completed');
  return { kind: 'authorized', credentialName: row.name, account, missing };
}
