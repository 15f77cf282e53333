/**
 * The credential's state machine (docs/contracts.md, "State machine"): the states, which of them
 * can hand out tokens, and each transition as the column values it writes. Every write of the
 * `state` column in the sidecar comes from here.
 *
 *   without_authorization ─request─> authorization_pending ─callback─> authorized
 *   authorized ─invalid_grant─> authorization_expired ─request─> authorization_pending
 *   pending ─denied / client refused─> authorized (earlier grant kept) or without_authorization
 *   any ─revoke─> without_authorization
 */
import {
  CREDENTIAL_STATES,
  type CredentialChanges,
  type CredentialRow,
  type CredentialState,
} from '../db/credentials-repository.js';

export { CREDENTIAL_STATES, type CredentialState };

/** The sealed token columns a grant (new or refreshed) writes. */
export type SealedTokens = Pick<CredentialChanges, 'access_token' | 'refresh_token' | 'token_expiry'>;

const NO_PENDING_REQUEST = { oauth_state: null, code_verifier: null, authorization_url: null } as const;
const NO_TOKENS = { access_token: null, refresh_token: null, token_expiry: null } as const;

/**
 * A credential hands out tokens when authorized, and while a re-authorization is pending if it
 * still holds the earlier grant (synchronization goes on while an admin re-consents).
 */
export function handsOutTokens(row: Pick<CredentialRow, 'state' | 'refresh_token'>): boolean {
  return row.state === 'authorized' || (row.state === 'authorization_pending' && row.refresh_token !== null);
}

/** The label of the Tryton button that starts a consent in `state` (for messages to the admin). */
export function authorizeButton(state: CredentialState): string {
  return state === 'authorized' ? 'Re-authorize' : 'Authorize';
}

export const transition = {
  requested(request: {
    stateDigest: string;
    sealedVerifier: string;
    url: string;
    at: Date;
  }): CredentialChanges {
    return {
      state: 'authorization_pending',
      oauth_state: request.stateDigest,
      code_verifier: request.sealedVerifier,
      authorization_url: request.url,
      authorization_requested_at: request.at,
    };
  },

  authorized(grant: {
    tokens: SealedTokens;
    grantedScopes: readonly string[];
    account: string | null;
    missingScopes: readonly string[];
  }): CredentialChanges {
    return {
      ...grant.tokens,
      ...NO_PENDING_REQUEST,
      state: 'authorized',
      granted_scopes: grant.grantedScopes.join(' '),
      account_email: grant.account,
      last_error:
        grant.missingScopes.length > 0
          ? `Google granted fewer scopes than requested; missing: ${grant.missingScopes.join(' ')}. Press Re-authorize and allow every permission.`
          : null,
    };
  },

  /** The pending request ended without a grant (denied, or the OAuth client refused). */
  requestEnded(row: Pick<CredentialRow, 'refresh_token'>, explain: (next: CredentialState) => string) {
    const next: CredentialState = row.refresh_token ? 'authorized' : 'without_authorization';
    return { ...NO_PENDING_REQUEST, state: next, last_error: explain(next) } satisfies CredentialChanges;
  },

  refreshed(tokens: SealedTokens, grantedScopes: readonly string[] | undefined): CredentialChanges {
    return { ...tokens, ...(grantedScopes ? { granted_scopes: grantedScopes.join(' ') } : {}) };
  },

  /**
   * Google refused the refresh token. A re-authorization already pending stays pending (its
   * consent will bring a new grant); otherwise the credential waits for one.
   */
  expired(row: Pick<CredentialRow, 'state'>, reason: string): CredentialChanges {
    const state = row.state === 'authorization_pending' ? 'authorization_pending' : 'authorization_expired';
    return { ...NO_TOKENS, state, last_error: reason };
  },

  revoked(): CredentialChanges {
    return {
      ...NO_TOKENS,
      ...NO_PENDING_REQUEST,
      state: 'without_authorization',
      authorization_requested_at: null,
      granted_scopes: null,
      account_email: null,
      last_error: null,
    };
  },
} as const;
