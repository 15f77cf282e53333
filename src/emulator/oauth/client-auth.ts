/**
 * Client authentication at the token endpoint (RFC 6749 §2.3.1): `client_secret_post` (what
 * google-auth-library sends) or HTTP Basic with form-encoded id and secret. Both at once is accepted only
 * when they agree, since some libraries send both.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Client, EmulatorState } from '../state.js';
import { OAuthError, param } from './oauth-error.js';

export function authenticateClient(request: Request, state: EmulatorState): Client {
  const basic = basicCredentials(request.get('authorization'));
  const bodyId = param(request.body, 'client_id');
  const bodySecret = param(request.body, 'client_secret');
  if (
    basic &&
    ((bodyId !== undefined && bodyId !== basic.id) || (bodySecret ?? basic.secret) !== basic.secret)
  ) {
    throw new OAuthError(
      400,
      'invalid_request',
      'Client authentication with more than one method disagrees.',
    );
  }
  const clientId = basic?.id ?? bodyId;
  const secret = basic?.secret ?? bodySecret;
  if (!clientId) throw new OAuthError(400, 'invalid_request', 'Could not determine client ID from request.');
  const client = state.client(clientId);
  if (!client) throw new OAuthError(401, 'invalid_client', 'The OAuth client was not found.');
  if (secret === undefined) throw new OAuthError(400, 'invalid_request', 'client_secret is missing.');
  if (!sameSecret(secret, client.clientSecret)) throw new OAuthError(401, 'invalid_client', 'Unauthorized');
  return client;
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new OAuthError(401, 'invalid_client', 'Unauthorized');
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError(401, 'invalid_client', 'Unauthorized');
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replaceAll('+', ' '));
}

/** Digests first: equal lengths for timingSafeEqual, so neither content nor length leaks. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
