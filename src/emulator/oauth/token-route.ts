/**
 * `POST /token`: the authorization-code grant with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.6) and the
 * refresh-token grant (RFC 6749 §6), answering with Google's fields, codes and descriptions.
 */
import express, { type Request, type Router } from 'express';
import { sha256Base64Url } from '../secrets.js';
import type { AccessToken, AuthorizationCode, Client, EmulatorState, Pkce } from '../state.js';
import { surfaceEndpoint, type Traffic } from '../traffic.js';
import { authenticateClient } from './client-auth.js';
import { signIdToken } from './id-token.js';
import { OAuthError, param, sendOAuthError, sendTokenJson } from './oauth-error.js';
import { grantedForm, parseScope } from './scopes.js';

export function tokenRoute(state: EmulatorState, traffic: Traffic): Router {
  const router = express.Router();
  router.post(
    '/token',
    express.urlencoded({ extended: false, limit: '64kb' }),
    express.json({ limit: '64kb' }),
    surfaceEndpoint(traffic, 'token', (request) => param(request.body, 'grant_type')),
    (request, response) => {
      try {
        sendTokenJson(response, 200, grant(request, state));
      } catch (error) {
        if (!(error instanceof OAuthError)) throw error;
        sendOAuthError(response, error);
      }
    },
  );
  return router;
}

function grant(request: Request, state: EmulatorState): Record<string, unknown> {
  const grantType = param(request.body, 'grant_type');
  if (!grantType) throw new OAuthError(400, 'invalid_request', 'Required parameter is missing: grant_type');
  const client = authenticateClient(request, state);
  switch (grantType) {
    case 'authorization_code':
      return authorizationCodeGrant(request, client, state);
    case 'refresh_token':
      return refreshTokenGrant(request, client, state);
    default:
      throw new OAuthError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
  }
}

function authorizationCodeGrant(request: Request, client: Client, state: EmulatorState) {
  const value = required(request, 'code');
  const code = state.code(value);
  if (!code || code.clientId !== client.clientId) {
    const description = value.startsWith('4/') ? 'Bad Request' : 'Malformed auth code.';
    throw new OAuthError(400, 'invalid_grant', description);
  }
  if (code.redeemed) {
    // RFC 6749 §4.1.2: a replayed code may be stolen, so what it bought is withdrawn.
    state.revokeOrigin(code.code);
    throw new OAuthError(400, 'invalid_grant', 'Bad Request');
  }
  if (code.expiresAt <= state.now()) throw new OAuthError(400, 'invalid_grant', 'Bad Request');
  if (required(request, 'redirect_uri') !== code.redirectUri) {
    throw new OAuthError(400, 'redirect_uri_mismatch', 'Bad Request');
  }
  checkVerifier(code.pkce, param(request.body, 'code_verifier'));
  code.redeemed = true;
  return issue(state, client, code, code.accessType === 'offline');
}

function checkVerifier(pkce: Pkce | undefined, verifier: string | undefined): void {
  if (pkce === undefined) return;
  if (!verifier) throw new OAuthError(400, 'invalid_grant', 'Missing code verifier.');
  const derived = pkce.method === 'S256' ? sha256Base64Url(verifier) : verifier;
  if (derived !== pkce.challenge) throw new OAuthError(400, 'invalid_grant', 'Invalid code verifier.');
}

function refreshTokenGrant(request: Request, client: Client, state: EmulatorState) {
  const refreshToken = state.refreshToken(required(request, 'refresh_token'));
  if (!refreshToken) throw new OAuthError(400, 'invalid_grant', 'Token has been expired or revoked.');
  if (refreshToken.clientId !== client.clientId)
    throw new OAuthError(401, 'unauthorized_client', 'Unauthorized');
  // RFC 6749 §6: an optional `scope` narrows the new access token, never widens it.
  const narrowed = param(request.body, 'scope');
  let scopes = refreshToken.scopes;
  if (narrowed !== undefined) {
    scopes = grantedForm(parseScope(narrowed));
    if (scopes.some((scope) => !refreshToken.scopes.includes(scope))) {
      throw new OAuthError(400, 'invalid_scope', 'Some requested scopes were invalid.');
    }
  }
  return issue(state, client, { ...refreshToken, scopes, code: refreshToken.origin }, false);
}

function issue(
  state: EmulatorState,
  client: Client,
  from: Pick<AuthorizationCode, 'code' | 'email' | 'scopes'>,
  withRefreshToken: boolean,
): Record<string, unknown> {
  const owner = { clientId: client.clientId, email: from.email, scopes: from.scopes, origin: from.code };
  const access: AccessToken = state.issueAccessToken(owner);
  const answer: Record<string, unknown> = {
    access_token: access.token,
    expires_in: Math.max(0, Math.round((access.expiresAt - state.now()) / 1000)),
  };
  if (withRefreshToken) answer.refresh_token = state.issueRefreshToken(owner).token;
  answer.scope = from.scopes.join(' ');
  answer.token_type = 'Bearer';
  if (from.scopes.includes('openid')) {
    answer.id_token = signIdToken({
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      email: from.email,
      scopes: from.scopes,
      accessToken: access.token,
      nowMs: state.now(),
    });
  }
  return answer;
}

function required(request: Request, name: string): string {
  const value = param(request.body, name);
  if (!value) throw new OAuthError(400, 'invalid_request', `Missing required parameter: ${name}`);
  return value;
}
