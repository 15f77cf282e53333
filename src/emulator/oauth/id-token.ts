/**
 * OpenID Connect ID tokens. Google signs with RS256 keys published at its JWKS endpoint; the emulator
 * signs with HS256 and the client secret (OIDC Core §10.1), which is enough for a client that reads the
 * email from userinfo and does not verify the token, as the sidecar does.
 */
import { createHash, createHmac } from 'node:crypto';
import { subjectFor } from '../secrets.js';
import { includesEmailScope } from './scopes.js';

export interface IdTokenInput {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly email: string;
  readonly scopes: readonly string[];
  readonly accessToken: string;
  readonly nowMs: number;
}

export function signIdToken(input: IdTokenInput): string {
  const iat = Math.floor(input.nowMs / 1000);
  const claims: Record<string, unknown> = {
    iss: 'https://accounts.google.com',
    azp: input.clientId,
    aud: input.clientId,
    sub: subjectFor(input.email),
    at_hash: atHash(input.accessToken),
    iat,
    exp: iat + 3600,
  };
  if (includesEmailScope(input.scopes)) Object.assign(claims, { email: input.email, email_verified: true });
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  const signature = createHmac('sha256', input.clientSecret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** OIDC Core §3.1.3.6: left half of the SHA-256 of the access token. */
function atHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}
