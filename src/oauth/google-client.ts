/**
 * The protocol steps with Google's OAuth 2.0 endpoints, on google-auth-library's OAuth2Client
 * pointed at the configured endpoints (Google's, or the emulator's): building the consent URL
 * (RFC 6749 section 4.1.1 with PKCE, RFC 7636), the authorization code grant (section 4.1.3), the
 * refresh token grant (section 6), revocation (RFC 7009) and userinfo. Every call goes through
 * google/retry.ts: bounded in time, retried when transient, failing as a GoogleError.
 */
import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import type { Config } from '../config.js';
import { GoogleError } from '../google/errors.js';
import { type CallOptions, callGoogle, type RetryPolicy } from '../google/retry.js';
import { transportOptions } from '../google/transport.js';

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

/** OAuth2Client exposing the refresh grant, which the library keeps protected. */
class SidecarOAuth2Client extends OAuth2Client {
  refreshTokenGrant(refreshToken: string) {
    return this.refreshTokenNoCache(refreshToken);
  }
}

export class GoogleOAuth {
  constructor(
    private readonly google: Config['google'],
    readonly retry: RetryPolicy,
  ) {}

  private client(credentials: OAuthClientCredentials): SidecarOAuth2Client {
    return new SidecarOAuth2Client({
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      redirectUri: credentials.redirectUri,
      endpoints: {
        oauth2AuthBaseUrl: this.google.authUrl,
        oauth2TokenUrl: this.google.tokenUrl,
        oauth2RevokeUrl: this.google.revokeUrl,
      },
      transporterOptions: transportOptions(this.retry.timeoutMs),
    });
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

  async authorizationCodeGrant(
    credentials: OAuthClientCredentials,
    code: string,
    codeVerifier: string,
  ): Promise<TokenSet> {
    return callGoogle(
      'authorization code exchange',
      async () => {
        const { tokens } = await this.client(credentials).getToken({
          code,
          codeVerifier,
          redirect_uri: credentials.redirectUri,
        });
        return toTokenSet(tokens);
      },
      this.retry,
    );
  }

  async refreshTokenGrant(
    credentials: OAuthClientCredentials,
    refreshToken: string,
    options: CallOptions = {},
  ): Promise<TokenSet> {
    return callGoogle(
      'token refresh',
      async () => toTokenSet((await this.client(credentials).refreshTokenGrant(refreshToken)).tokens),
      this.retry,
      options,
    );
  }

  async revoke(credentials: OAuthClientCredentials, token: string): Promise<void> {
    await callGoogle(
      'token revocation',
      async () => {
        await this.client(credentials).revokeToken(token);
      },
      this.retry,
    );
  }

  /** The account's email, from the OpenID Connect userinfo endpoint. */
  async userinfoEmail(accessToken: string): Promise<string | undefined> {
    return callGoogle(
      'userinfo',
      async (signal) => {
        const response = await fetch(this.google.userinfoUrl, {
          headers: { authorization: `Bearer ${accessToken}` },
          signal,
        });
        const body = (await response.json().catch(() => ({}))) as { email?: unknown };
        if (!response.ok)
          throw { response: { status: response.status, data: body, headers: response.headers } };
        return typeof body.email === 'string' ? body.email : undefined;
      },
      this.retry,
    );
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
