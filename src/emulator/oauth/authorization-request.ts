/**
 * Validation of `/o/oauth2/v2/auth` parameters in Google's order: problems with the client or its redirect
 * URI are shown on an error page (redirecting would hand the error to a URI nobody vouched for); every
 * other problem is sent back to the redirect URI as `error=invalid_request` (RFC 6749 §4.1.2.1).
 */
import type { AccessType, AuthorizationRequest, CodeChallengeMethod, EmulatorState, Pkce } from '../state.js';
import { param } from './oauth-error.js';
import { parseScope } from './scopes.js';

export type AuthorizationCheck =
  | { readonly kind: 'page'; readonly error: string; readonly description: string }
  | { readonly kind: 'redirect'; readonly redirectUri: string; readonly params: Record<string, string> }
  | { readonly kind: 'consent'; readonly request: AuthorizationRequest };

/** RFC 7636 §4.1/§4.2: 43 to 128 unreserved characters. */
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

export function checkAuthorizationRequest(query: unknown, state: EmulatorState): AuthorizationCheck {
  const clientId = param(query, 'client_id');
  if (!clientId) return page('invalid_request', 'Missing required parameter: client_id');
  const client = state.client(clientId);
  if (!client) return page('invalid_client', 'The OAuth client was not found.');
  const redirectUri = param(query, 'redirect_uri');
  if (!redirectUri) return page('invalid_request', 'Missing required parameter: redirect_uri');
  if (!client.redirectUris.includes(redirectUri)) {
    return page(
      'redirect_uri_mismatch',
      `You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. ` +
        `redirect_uri=${redirectUri} is not registered for this client.`,
    );
  }

  const stateParam = param(query, 'state');
  const fail = (error: string, description: string): AuthorizationCheck => ({
    kind: 'redirect',
    redirectUri,
    params: {
      error,
      error_description: description,
      ...(stateParam === undefined ? {} : { state: stateParam }),
    },
  });
  const responseType = param(query, 'response_type');
  if (!responseType) return fail('invalid_request', 'Required parameter is missing: response_type');
  if (responseType !== 'code') return fail('invalid_request', `Invalid response_type: ${responseType}`);
  const scopes = parseScope(param(query, 'scope') ?? '');
  if (scopes.length === 0) return fail('invalid_request', 'Missing required parameter: scope');
  const accessType = param(query, 'access_type') ?? 'online';
  if (accessType !== 'online' && accessType !== 'offline') {
    return fail('invalid_request', `Invalid access_type: ${accessType}`);
  }
  const pkce = checkPkce(param(query, 'code_challenge'), param(query, 'code_challenge_method'));
  if (typeof pkce === 'string') return fail('invalid_request', pkce);
  // No session exists in the emulator, so a request that forbids any screen cannot be satisfied.
  if ((param(query, 'prompt') ?? '').split(' ').includes('none')) {
    return fail('interaction_required', 'User interaction is required.');
  }

  const request = state.addAuthorizationRequest({
    clientId,
    redirectUri,
    scopes,
    state: stateParam,
    pkce,
    accessType: accessType satisfies AccessType,
    includeGrantedScopes: param(query, 'include_granted_scopes') === 'true',
    loginHint: param(query, 'login_hint'),
  });
  return { kind: 'consent', request };
}

/** Returns the PKCE parameters, undefined when the client does not use PKCE, or a description of the fault. */
function checkPkce(challenge: string | undefined, method: string | undefined): Pkce | undefined | string {
  if (challenge === undefined) {
    return method === undefined ? undefined : 'code_challenge_method requires code_challenge.';
  }
  // RFC 7636 §4.3: an absent method means plain.
  const chosen = method ?? 'plain';
  if (chosen !== 'S256' && chosen !== 'plain') return `Invalid code_challenge_method: ${chosen}`;
  if (!PKCE_VALUE.test(challenge)) return 'Invalid code_challenge.';
  return { challenge, method: chosen satisfies CodeChallengeMethod };
}

function page(error: string, description: string): AuthorizationCheck {
  return { kind: 'page', error, description };
}

/** Appends parameters to a redirect URI, keeping its own query; `%20` for spaces, as Google writes them. */
export function redirectTo(redirectUri: string, params: Record<string, string>): string {
  const url = new URL(redirectUri);
  const added = Object.entries(params)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
  url.search = url.search.length > 1 ? `${url.search.slice(1)}&${added}` : added;
  return url.toString();
}
