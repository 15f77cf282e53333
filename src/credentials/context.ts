/**
 * What the credential operations need, built once in main.ts: the cipher for tokens at rest, the
 * OAuth steps with Google, the state tokens, the refreshes in flight in this process, and a clock
 * (tests move it).
 */
import type { CredentialRow } from '../db/credentials-repository.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { TokenCipher } from '../crypto/token-cipher.js';
import type { GoogleOAuth } from '../oauth/google-client.js';
import type { StateTokens } from '../oauth/state-token.js';
import type { SharedCalls } from '../shared-calls.js';
import type { TokenCache } from './token-cache.js';

export interface CredentialContext {
  readonly cipher: TokenCipher;
  readonly google: GoogleOAuth;
  readonly states: StateTokens;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => Date;
  /** How long a consent request may wait for its callback. */
  readonly authorizationTtlSeconds: number;
  /** This process's name in credential leases (unique per process and start). */
  readonly holder: string;
  /** Refreshes in flight in this process, so concurrent callers of one credential share one. */
  readonly refreshes: SharedCalls<string, unknown>;
  /** Credentials remembered while every change of them is heard (token-cache.ts). */
  readonly tokens: TokenCache;
  /**
   * Scopes of the services enabled on a credential (incremental consent: a credential asks for
   * what its services need on top of its configured scopes).
   */
  readonly serviceScopes: (row: CredentialRow) => readonly string[];
}

import type { CredentialRef } from './ref.js';

export type { CredentialRef };

/** A logger whose every line names the credential's database and id. */
export function credentialLogger(context: CredentialContext, ref: CredentialRef): Logger {
  return context.logger.child({ database: ref.database, credential_id: ref.id });
}
