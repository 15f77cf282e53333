/**
 * `credentials.request_authorization` (docs/contracts.md, "Authorization", step 3): a fresh state and PKCE
 * verifier, the consent URL, and the credential moved to authorization_pending. A new request
 * replaces any earlier pending one, whose state then no longer matches.
 */
import { type CredentialRow, findCredential, updateCredential } from '../db/credentials-repository.js';
import { ErrorType, SidecarError } from '../errors.js';
import { IDENTITY_SCOPES, missingScopes, requestedScopes, splitScopes } from '../oauth/scopes.js';
import { stateDigest } from '../oauth/state-token.js';
import { type CredentialContext, type CredentialRef, credentialLogger } from './context.js';
import { credentialNotFound } from './errors.js';
import { transition } from './state-machine.js';
import { oauthClientOf } from './tokens.js';

export interface AuthorizationRequest {
  readonly authorization_url: string;
  readonly expires_at: string;
}

export async function requestAuthorization(
  context: CredentialContext,
  ref: CredentialRef,
): Promise<AuthorizationRequest> {
  const { database, db, id: credentialId } = ref;
  const row = await findCredential(db, credentialId);
  if (!row) throw credentialNotFound(credentialId);
  const missing = (['client_id', 'client_secret', 'redirect_uri'] as const).filter(
    (field) => !row[field]?.trim(),
  );
  if (missing.length > 0) {
    throw new SidecarError(
      ErrorType.CredentialIncomplete,
      `credential ${credentialId} needs ${missing.join(', ')} before it can be authorized`,
      { credential_id: credentialId, missing },
    );
  }
  const client = oauthClientOf(row);
  if (!isHttpUrl(client.redirectUri)) {
    throw new SidecarError(
      ErrorType.CredentialIncomplete,
      `the redirect URI of credential ${credentialId} is not an http(s) URL`,
      {
        credential_id: credentialId,
        missing: ['redirect_uri'],
      },
    );
  }
  const state = context.states.create(database);
  const { codeVerifier, codeChallenge } = await context.google.createCodeVerifier();
  const url = await context.google.buildAuthorizationUrl(client, {
    state: state.value,
    scopes: consentScopes(row, requestedScopes(row.scopes, context.serviceScopes(row))),
    codeChallenge,
  });
  const requestedAt = context.now();
  await updateCredential(
    db,
    credentialId,
    transition.requested({
      stateDigest: stateDigest(state.value),
      sealedVerifier: context.cipher.seal(codeVerifier, { column: 'code_verifier', id: credentialId }),
      url,
      at: requestedAt,
    }),
  );
  credentialLogger(context, ref).info('authorization requested');
  return {
    authorization_url: url,
    expires_at: new Date(requestedAt.getTime() + context.authorizationTtlSeconds * 1000).toISOString(),
  };
}

/**
 * Incremental consent (docs/contracts.md, "Services of a credential"): a credential whose grant is
 * alive asks Google only for what it lacks (with include_granted_scopes, Google's answer covers the
 * union); any other asks for everything.
 */
function consentScopes(row: CredentialRow, wanted: string[]): string[] {
  const granted = splitScopes(row.granted_scopes);
  const missing = missingScopes(wanted, granted);
  const alive = row.state === 'authorized' && row.refresh_token !== null && granted.length > 0;
  return alive && missing.length > 0 ? splitScopes([...IDENTITY_SCOPES, ...missing].join(' ')) : wanted;
}

function isHttpUrl(value: string): boolean {
  return URL.canParse(value) && ['http:', 'https:'].includes(new URL(value).protocol);
}
