/**
 * The protocol steps with Google's OAuth 2.0 endpoints, on google-auth-library's OAuth2Client
 * pointed at the configured endpoints (Google's, or the emulator's):
 * building the consent URL (RFC 6749 section 4.1.1 with PKCE, RFC 7636), the authorization code
 * grant (section 4.1.3), the refresh token grant (section 6), revocation (RFC 7009) and userinfo.
 * Every failure leaves here as a GoogleError; retries are the caller's (retry.ts).
 */
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import type { Config } from '../config.js';
import { GoogleError } from './google-error.js';
import { withRetry } from './retry.js';

export interface OAuthClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

export interface TokenSet {
  readonly accessToken: string;
  /** Absent when Google keeps the earlier refresh token valid (refresh grant, repeated consent). */
  readonly refreshToken: string | undefined;
  readonly expiresAt: Date;
  readonly scopes: string[] | undefined;
}

const REQUEST_TIMEOUT_MS = 15_000;

/** OAuth2Client exposing the refresh grant, which the library keeps protected. */
class SidecarOAuth2Client extends OAuth2Client {
  refreshTokenGrant(refreshToken: string) {
    return this.refreshTokenNoCache(refreshToken);
  }
}

export class GoogleOAuth {
  constructor(private readonly google: Config['google']) {}

  private client(credentials: OAuthClientCredentials): SidecarOAuth2Client {
    const client = new SidecarOAuth2Client({
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      redirectUri: credentials.redirectUri,
      endpoints: {
        oauth2AuthBaseUrl: this.google.authUrl,
        oauth2TokenUrl: this.google.tokenUrl,
        oauth2RevokeUrl: this.google.revokeUrl,
      },
    });
    // One retry policy (retry.ts): the library would otherwise retry token POSTs on its own.
    client.transporter.interceptors.request.add({
      resolved: async (options) => ({
        ...options,
        retry: false,
        retryConfig: { ...options.retryConfig, retry: 0 },
        timeout: REQUEST_TIMEOUT_MS,
      }),
    });
    return client;
  }

  async createCodeVerifier(): Promise<{ codeVerifier: string; codeChallenge: string }> {
    const { codeVerifier, codeChallenge } = await new OAuth2Client().generateCodeVerifierAsync();
    if (!codeChallenge) throw new Error('PKCE challenge generation failed');
    return { codeVerifier, codeChallenge };
  }

  buildAuthorizationUrl(
    credentials: OAuthClientCredentials,
    request: { state: string; scopes: readonly string[]; codeChallenge: string },
  ): string {
    return this.client(credentials).generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      include_granted_scopes: true,
      response_type: 'code',
      scope: [...request.scopes],
      state: request.state,
      code_challenge: request.codeChallenge,
      code_challenge_method: CodeChallengeMethod.S256,
    });
  }

  async authorizationCodeGrant(credentials: OAuthClientCredentials, code: string, codeVerifier: string) {
    return withRetry(async () => {
      try {
        const { tokens } = await this.client(credentials).getToken({
          code,
          codeVerifier,
          redirect_uri: credentials.redirectUri,
        });
        return toTokenSet(tokens);
      } catch (error) {
        throw GoogleError.from(error, 'authorization code exchange');
      }
    });
  }

  async refreshTokenGrant(credentials: OAuthClientCredentials, refreshToken: string): Promise<TokenSet> {
    return withRetry(async () => {
      try {
        const { tokens } = await this.client(credentials).refreshTokenGrant(refreshToken);
        return toTokenSet(tokens);
      } catch (error) {
        throw GoogleError.from(error, 'token refresh');
      }
    });
  }

  async revoke(credentials: OAuthClientCredentials, token: string): Promise<void> {
    await withRetry(async () => {
      try {
        await this.client(credentials).revokeToken(token);
      } catch (error) {
        throw GoogleError.from(error, 'token revocation');
      }
    });
  }

  /** The account's email, from the OpenID Connect userinfo endpoint. */
  async userinfoEmail(accessToken: string): Promise<string | undefined> {
    return withRetry(async () => {
      let response: Response;
      try {
        response = await fetch(this.google.userinfoUrl, {
          headers: { authorization: `Bearer ${accessToken}` },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        throw GoogleError.from(error, 'userinfo');
      }
      const body = (await response.json().catch(() => ({}))) as { email?: unknown };
      if (!response.ok)
        throw GoogleError.from({ response: { status: response.status, data: body } }, 'userinfo');
      return typeof body.email === 'string' ? body.email : undefined;
    });
  }
}

function toTokenSet(tokens: {
  access_token?: string | null;
  refresh_token?: string | null;
  expiry_date?: number | null;
  scope?: string | null | undefined;
}): TokenSet {
  if (!tokens.access_token)
    throw new GoogleError('Google answered without an access token', 200, undefined, false);
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token ?? undefined,
    // Google always sends expires_in; an hour is its documented lifetime if it ever does not.
    expiresAt: new Date(tokens.expiry_date ?? Date.now() + 3_600_000),
    scopes: tokens.scope ? tokens.scope.split(/\s+/).filter(Boolean) : undefined,
  };
}
