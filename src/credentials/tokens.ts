/**
 * Turning Google's token answers into column values. Merging matters: Google's refresh answers,
 * and some repeated consents, carry no refresh token, and that must never erase the stored one.
 */
import type { CredentialChanges, CredentialRow } from '../db/credentials-repository.js';
import type { TokenCipher } from '../crypto/token-cipher.js';
import type { OAuthClientCredentials, TokenSet } from '../oauth/google-client.js';

export function mergeTokens(cipher: TokenCipher, row: CredentialRow, tokens: TokenSet): CredentialChanges {
  return {
    access_token: cipher.seal(tokens.accessToken, { column: 'access_token', id: row.id }),
    refresh_token: tokens.refreshToken
      ? cipher.seal(tokens.refreshToken, { column: 'refresh_token', id: row.id })
      : row.refresh_token,
    // Whole seconds, rounded down: the safe side, and what a Tryton form can show.
    token_expiry: new Date(Math.floor(tokens.expiresAt.getTime() / 1000) * 1000),
  };
}

export function openAccessToken(cipher: TokenCipher, row: CredentialRow): string | undefined {
  return row.access_token ? cipher.open(row.access_token, { column: 'access_token', id: row.id }) : undefined;
}

export function openRefreshToken(cipher: TokenCipher, row: CredentialRow): string | undefined {
  return row.refresh_token
    ? cipher.open(row.refresh_token, { column: 'refresh_token', id: row.id })
    : undefined;
}

/**
 * The OAuth client a credential is configured with. Ids and URIs are trimmed (pasted values often
 * carry a space); the secret is kept byte for byte, as the Tryton field stores it (strip=False).
 */
export function oauthClientOf(row: CredentialRow): OAuthClientCredentials {
  return {
    clientId: (row.client_id ?? '').trim(),
    clientSecret: row.client_secret ?? '',
    redirectUri: (row.redirect_uri ?? '').trim(),
  };
}
