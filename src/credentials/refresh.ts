/**
 * The one refresh path, shared by callers of `credentials.get_access_token` / `credentials.refresh`
 * and by the background refresher. No database connection or row lock is held while Google
 * answers (docs/contracts.md, scale-out rules):
 *   - in this process, concurrent callers of one credential share one refresh (SharedCalls);
 *   - across replicas, the refresh lease (db/lease-repository.ts) lets one replica ask Google while
 *     the others poll the row, briefly, until the new token is there;
 *   - the result is written only if the row still holds the refresh token that was used
 *     (compare-and-set), so a revoke or a new authorization meanwhile is never undone.
 * A refresh that fails keeps its lease for a short cool-down with the failure, so callers on other
 * replicas get that answer instead of asking Google again at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type CredentialRow, findCredential, updateCredentialIf } from '../db/credentials-repository.js';
import { currentLease } from '../db/lease-repository.js';
import { GoogleError } from '../google/errors.js';
import { worstCaseMs } from '../google/retry.js';
import type { Logger } from '../log.js';
import { type CredentialContext, type CredentialRef, credentialLogger } from './context.js';
import {
  authorizationExpired,
  credentialNotFound,
  googleFailure,
  googleUnavailable,
  INVALID_GRANT_EXPLANATION,
  notAuthorized,
} from './errors.js';
import { BUSY, type HeldLease, LEASE_TTL_MS, underLease } from './lease.js';
import { handsOutTokens, transition } from './state-machine.js';
import { mergeTokens, oauthClientOf, openRefreshToken } from './tokens.js';

/** After a refresh failed for want of Google, callers elsewhere get that answer for this long. */
const FAILURE_COOL_DOWN_MS = 2_000;
/** Polling for another replica's refresh: first and longest pause. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;

export type Freshness = (row: CredentialRow) => boolean;

/**
 * The credential's row once `isFresh` holds, refreshing with Google at most once for all the
 * callers that ask at the same time. Throws the documented errors (errors.ts).
 */
export async function refreshShared(
  context: CredentialContext,
  ref: CredentialRef,
  isFresh: Freshness,
): Promise<CredentialRow> {
  const key = flightKey(ref);
  // A shared refresh answers what its starter needed (nothing, if background work started it and
  // found another replica at it); a caller needing more goes again.
  for (let round = 0; round < 3; round++) {
    const row = (await context.refreshes.run(key, () => untilFresh(context, ref, isFresh, true))) as
      | CredentialRow
      | undefined;
    if (row && isFresh(row)) return row;
  }
  return (await untilFresh(context, ref, isFresh, true)) as CredentialRow;
}

/**
 * For background work: refreshes unless another caller, here or on another replica, is already at
 * it or cooling down after a failure; then it returns undefined at once instead of waiting.
 */
export async function refreshUnlessBusy(
  context: CredentialContext,
  ref: CredentialRef,
  isFresh: Freshness,
): Promise<CredentialRow | undefined> {
  const key = flightKey(ref);
  if (context.refreshes.has(key)) return undefined;
  return context.refreshes.run(key, () => untilFresh(context, ref, isFresh, false)) as Promise<
    CredentialRow | undefined
  >;
}

function flightKey(ref: CredentialRef): string {
  return `${ref.database}\u0000${ref.id}`;
}

/** The row a credential can hand out tokens from, or the error saying why it cannot. */
export function usable(row: CredentialRow | undefined, credentialId: number): CredentialRow {
  if (!row) throw credentialNotFound(credentialId);
  if (row.state === 'authorization_expired') throw authorizationExpired(credentialId, row.last_error);
  if (!handsOutTokens(row)) throw notAuthorized(credentialId, row.state);
  return row;
}

async function untilFresh(
  context: CredentialContext,
  ref: CredentialRef,
  isFresh: Freshness,
  wait: boolean,
): Promise<CredentialRow | undefined> {
  const log = credentialLogger(context, ref);
  // Waiting on another replica is worth as long as its own call to Google may last.
  const deadline = Date.now() + worstCaseMs(context.google.retry) + LEASE_TTL_MS;
  for (let pause = POLL_FIRST_MS; ; pause = Math.min(POLL_MAX_MS, pause * 2)) {
    const row = usable(await findCredential(ref.db, ref.id), ref.id);
    if (isFresh(row)) return row;
    const refreshed = await underLease(context, ref, 'refresh', log, (lease) =>
      refreshUnderLease(context, ref, isFresh, log, lease),
    );
    if (refreshed !== BUSY) return refreshed;
    if (!wait) return undefined;
    const lease = await currentLease(ref.db, ref.id, 'refresh');
    if (lease?.failure) throw googleUnavailable(ref.id, lease.failure);
    if (Date.now() >= deadline) {
      throw googleUnavailable(ref.id, 'a refresh by another sidecar replica did not finish in time');
    }
    await sleep(pause * (0.5 + Math.random()));
  }
}

async function refreshUnderLease(
  context: CredentialContext,
  ref: CredentialRef,
  isFresh: Freshness,
  log: Logger,
  lease: HeldLease,
): Promise<CredentialRow> {
  // Read again under the lease: another replica may have refreshed just before we took it.
  const row = usable(await findCredential(ref.db, ref.id), ref.id);
  if (isFresh(row)) return row;
  const refreshToken = openRefreshToken(context.cipher, row);
  if (!refreshToken) throw authorizationExpired(ref.id, 'no refresh token is stored');
  let tokens: Awaited<ReturnType<CredentialContext['google']['refreshTokenGrant']>>;
  try {
    tokens = await context.google.refreshTokenGrant(oauthClientOf(row), refreshToken);
  } catch (error) {
    if (!(error instanceof GoogleError)) throw error;
    if (error.code === 'invalid_grant') return await expire(context, ref, row, log);
    if (error.transient) lease.failWith(error.message, FAILURE_COOL_DOWN_MS);
    context.metrics.refresh(error.transient ? 'transient' : 'rejected');
    log.warn({ status: error.status, google_error: error.code }, 'token refresh failed');
    throw googleFailure(ref.id, error);
  }
  const changes = transition.refreshed(mergeTokens(context.cipher, row, tokens), tokens.scopes);
  const written = await updateCredentialIf(ref.db, ref.id, { refresh_token: row.refresh_token }, changes);
  context.tokens.forget(ref);
  if (!written) {
    // Revoked or re-authorized while Google answered: what is stored now wins.
    log.info('credential changed during the refresh; its result is discarded');
    return usable(await findCredential(ref.db, ref.id), ref.id);
  }
  log.info({ token_expiry: tokens.expiresAt }, 'token refreshed');
  context.metrics.refresh('refreshed');
  return { ...row, ...changes } as CredentialRow;
}

/** invalid_grant: the grant is gone; the credential says so until an admin authorizes again. */
async function expire(
  context: CredentialContext,
  ref: CredentialRef,
  row: CredentialRow,
  log: Logger,
): Promise<never> {
  await updateCredentialIf(
    ref.db,
    ref.id,
    { refresh_token: row.refresh_token },
    transition.expired(row, INVALID_GRANT_EXPLANATION),
  );
  context.tokens.forget(ref);
  log.warn({ google_error: 'invalid_grant' }, 'refresh token refused: authorization expired');
  context.metrics.refresh('invalid_grant');
  throw authorizationExpired(ref.id, INVALID_GRANT_EXPLANATION);
}
