/**
 * The protocol steps with Google's OAuth 2.0 endpoints, on google-auth-library's OAuth2Client
 * pointed at the configured endpoints (Google's, or the emulator's): building the consent URL
 * (RFC 6749 section 4.1.1 with PKCE, RFC 7636), the authorization code grant (section 4.1.3), the
 * refresh token grant (section 6), revocation (RFC 7009) and userinfo. Every call goes through
 * google/retry.ts: bounded in time, retried when transient, failing as a GoogleError.
 */
import type { Credentials, OAuth2Client } from 'google-auth-library';
import type { Config } from '../config.js';
import { GoogleError } from '../google/errors.js';
import { callGoogle, type RetryPolicy } from '../google/retry.js';
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

type Library = typeof import('google-auth-library');

/**
 * google-auth-library is loaded on the first call to Google, not at start: it is a tenth of the
 * sidecar's start-up time and memory, and a replica that only hands out cached tokens never needs it.
 */
let library: Promise<Library> | undefined;
function loadLibrary(): Promise<Library> {
  library ??= import('google-auth-library');
  return library;
}

/** The refresh grant, which OAuth2Client keeps protected. */
function refreshTokenGrant(client: OAuth2Client, refreshToken: string) {
  const exposed = client as unknown as {
    refreshTokenNoCache(token: string): Promise<{ tokens: Credentials }>;
  };
  return exposed.refreshTokenNoCache(refreshToken);
}

export class GoogleOAuth {
  constructor(
    private readonly google: Config['google'],
    readonly retry: RetryPolicy,
  ) {}

  private async client(credentials: OAuthClientCredentials): Promise<OAuth2Client> {
    const { OAuth2Client } = await loadLibrary();
    return new OAuth2Client({
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
    const { OAuth2Client } = await loadLibrary();
    const { codeVerifier, codeChallenge } = await new OAuth2Client().generateCodeVerifierAsync();
    if (!codeChallenge) throw new Error('PKCE challenge generation failed');
    return { codeVerifier, codeChallenge };
  }

  async buildAuthorizationUrl(
    credentials: OAuthClientCredentials,
    request: { state: string; scopes: readonly string[]; codeChallenge: string },
  ): Promise<string> {
    const { CodeChallengeMethod } = await loadLibrary();
    return (await this.client(credentials)).generateAuthUrl({
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
        const { tokens } = await (await this.client(credentials)).getToken({
          code,
          codeVerifier,
          redirect_uri: credentials.redirectUri,
        });
        return toTokenSet(tokens);
      },
      this.retry,
    );
  }

  async refreshTokenGrant(credentials: OAuthClientCredentials, refreshToken: string): Promise<TokenSet> {
    return callGoogle(
      'token refresh',
      async () => toTokenSet((await refreshTokenGrant(await this.client(credentials), refreshToken)).tokens),
      this.retry,
    );
  }

  async revoke(credentials: OAuthClientCredentials, token: string): Promise<void> {
    await callGoogle(
      'token revocation',
      async () => {
        await (await this.client(credentials)).revokeToken(token);
      },
      this.retry,
    );
  }

  /**
   * The account's email, from the OpenID Connect userinfo endpoint, through google-auth-library's
   * transport (gaxios, already loaded for the token exchange) rather than node's fetch, whose HTTP
   * client (undici) would be loaded for this one call and stay in memory (about 11 MiB).
   */
  async userinfoEmail(accessToken: string): Promise<string | undefined> {
    return callGoogle(
      'userinfo',
      async (signal) => {
        const { gaxios } = await loadLibrary();
        const response = await gaxios.request<{ email?: unknown }>({
          ...transportOptions(this.retry.timeoutMs),
          url: this.google.userinfoUrl,
          headers: { authorization: `Bearer ${accessToken}` },
          responseType: 'json',
          signal,
        });
        const email = response.data?.email;
        return typeof email === 'string' ? email : undefined;
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
