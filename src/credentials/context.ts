/**
 * What the credential operations need, built once in main.ts: the cipher for tokens at rest, the
 * OAuth steps with Google, the state tokens, and a clock (tests move it).
 */
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { TokenCipher } from '../crypto/token-cipher.js';
import type { GoogleOAuth } from '../oauth/google-client.js';
import type { StateTokens } from '../oauth/state-token.js';

export interface CredentialContext {
  readonly cipher: TokenCipher;
  readonly google: GoogleOAuth;
  readonly states: StateTokens;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => Date;
  /** How long a consent request may wait for its callback. */
  readonly authorizationTtlSeconds: number;
}
