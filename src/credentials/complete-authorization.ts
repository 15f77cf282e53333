/**
 * The OAuth callback (docs/contracts.md, "Authorization", step 6). The state is looked up in its
 * own database only. The code is exchanged under the credential's exchange lease (lease.ts), so a callback
 * delivered twice (a reload, two replicas) makes one exchange, and no connection or row lock is
 * held while Google answers; the result is written only if the same request is still pending.
 * A refused state (unknown, used, expired) changes nothing, and so does a code Google refuses
 * (invalid_grant), so a forged callback cannot burn the user's genuine one. A refusal of the OAuth
 * client itself (wrong secret, unregistered redirect URI) ends the request with the reason in
 * last_error, where the admin who must fix it looks. A denial ends the request too.
 */
import type { Db } from '../db/handle.js';
import { type CredentialRow, findByOAuthState, updateCredentialIf } from '../db/credentials-repository.js';
import { notifyAuthorizationOutcome } from '../db/tryton-notification-repository.js';
import { GoogleError } from '../google/errors.js';
import type { Logger } from '../log.js';
import { missingScopes, requestedScopes, splitScopes } from '../oauth/scopes.js';
import { stateDigest } from '../oauth/state-token.js';
import { type CredentialContext, type CredentialRef, credentialLogger } from './context.js';
import { clientRejectedExplanation } from './errors.js';
import { BUSY, underLease } from './lease.js';
import { authorizeButton, transition } from './state-machine.js';
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
  | { readonly kind: 'refused'; readonly reason: 'unknown_state' | 'expired_state' | 'in_progress' }
  | { readonly kind: 'code_rejected'; readonly detail: string }
  | { readonly kind: 'google_unavailable'; readonly detail: string };

export async function completeAuthorization(
  context: CredentialContext,
  db: Db,
  database: string,
  query: CallbackQuery,
): Promise<CallbackOutcome> {
  const digest = stateDigest(query.state);
  const row = await findByOAuthState(db, digest);
  if (row?.state !== 'authorization_pending' || !row.code_verifier) {
    return { kind: 'refused', reason: 'unknown_state' };
  }
  const requestedAt = row.authorization_requested_at?.getTime() ?? 0;
  if (context.now().getTime() - requestedAt > context.authorizationTtlSeconds * 1000) {
    return { kind: 'refused', reason: 'expired_state' };
  }
  const ref: CredentialRef = { database, db, id: row.id };
  const log = credentialLogger(context, ref);
  const pending = { state: 'authorization_pending' as const, oauth_state: digest };
  if (query.kind === 'error') {
    const changes = transition.requestEnded(row, (next) =>
      query.error === 'access_denied'
        ? `Google consent was denied (access_denied): press ${authorizeButton(next)} to try again.`
        : `Google refused the authorization (${query.error}): check the OAuth client, then press ${authorizeButton(next)}.`,
    );
    if (!(await updateCredentialIf(db, row.id, pending, changes))) {
      return { kind: 'refused', reason: 'unknown_state' };
    }
    log.info({ google_error: query.error }, 'authorization denied');
    await notifyRequester(ref, log);
    return { kind: 'denied', credentialName: row.name, error: query.error };
  }
  const outcome = await underLease(context, ref, 'exchange', log, () =>
    exchange(context, ref, row, query, log),
  );
  return outcome === BUSY ? { kind: 'refused', reason: 'in_progress' } : outcome;
}

/** The authorization stands whether or not Tryton could be told; a failure is only logged. */
async function notifyRequester(ref: CredentialRef, log: Logger): Promise<void> {
  try {
    await notifyAuthorizationOutcome(ref.db, ref.id);
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'could not notify the Tryton user');
  }
}

async function exchange(
  context: CredentialContext,
  ref: CredentialRef,
  row: CredentialRow,
  query: Extract<CallbackQuery, { kind: 'code' }>,
  log: Logger,
): Promise<CallbackOutcome> {
  const pending = { state: 'authorization_pending' as const, oauth_state: row.oauth_state };
  const verifier = context.cipher.open(row.code_verifier as string, { column: 'code_verifier', id: row.id });
  let tokens: Awaited<ReturnType<CredentialContext['google']['authorizationCodeGrant']>>;
  try {
    tokens = await context.google.authorizationCodeGrant(oauthClientOf(row), query.code, verifier);
  } catch (error) {
    if (!(error instanceof GoogleError)) throw error;
    log.warn({ status: error.status, google_error: error.code }, 'code exchange failed');
    if (error.transient) return { kind: 'google_unavailable', detail: error.message };
    if (error.clientMisconfigured) {
      const changes = transition.requestEnded(row, (next) =>
        clientRejectedExplanation(error, authorizeButton(next)),
      );
      if (await updateCredentialIf(ref.db, row.id, pending, changes)) await notifyRequester(ref, log);
    }
    return { kind: 'code_rejected', detail: error.message };
  }
  const granted = tokens.scopes ?? splitScopes(query.scope);
  const missing = missingScopes(requestedScopes(row.scopes, context.serviceScopes(row)), granted);
  let account: string | null = row.account_email;
  try {
    account = (await context.google.userinfoEmail(tokens.accessToken)) ?? account;
  } catch (error) {
    // The email is informative only; the authorization stands without it.
    log.warn({ err: (error as Error).message }, 'userinfo failed');
  }
  const changes = transition.authorized({
    tokens: mergeTokens(context.cipher, row, tokens),
    grantedScopes: granted,
    account,
    missingScopes: missing,
  });
  const written = await updateCredentialIf(ref.db, row.id, pending, changes);
  context.tokens.forget(ref);
  if (!written) {
    // A new Authorize or a revoke replaced this request while Google answered.
    log.info('authorization request replaced during the code exchange; its tokens are discarded');
    return { kind: 'refused', reason: 'unknown_state' };
  }
  log.info({ missing }, 'authorization completed');
  await notifyRequester(ref, log);
  return { kind: 'authorized', credentialName: row.name, account, missing };
}
