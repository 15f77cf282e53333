/** The `credentials.*` methods: one call each into credentials/, on the database the params name. */
import { z } from 'zod';
import { forceRefresh, getAccessToken } from '../../credentials/access-token.js';
import { requestAuthorization } from '../../credentials/request-authorization.js';
import { revokeCredential } from '../../credentials/revoke.js';
import type { CredentialRef } from '../../credentials/context.js';
import { credentialStatus } from '../../credentials/status.js';
import type { RpcContext } from '../context.js';
import { defineMethod } from '../method.js';
import { credentialParams, quickCredentialParams } from '../params.js';
import {
  accessTokenResult,
  authorizationRequestResult,
  refreshResult,
  revokeResult,
  statusResult,
} from '../results.js';

const COMMON_ERRORS = ['database_not_served', 'database_unavailable', 'credential_not_found'];

/** What getting a valid token may answer: every method that calls Google for a credential shares it. */
export const ACCESS_TOKEN_ERRORS = [
  ...COMMON_ERRORS,
  'not_authorized',
  'authorization_expired',
  'scope_not_granted',
  'google_unavailable',
  'google_rejected',
  'tokens_unreadable',
];

const DEFAULT_MIN_VALIDITY = 60;
const MAX_MIN_VALIDITY = 3000;
const MAX_SCOPES = 50;
const ACCESS_TOKEN_EXTRA = ['min_validity', 'scopes'];

/** What `scopes` of get_access_token certainly accepts: at most MAX_SCOPES non-empty strings. */
function plainScopes(scopes: unknown): boolean {
  if (!Array.isArray(scopes) || scopes.length > MAX_SCOPES) return false;
  for (const scope of scopes) if (typeof scope !== 'string' || scope === '') return false;
  return true;
}

/** The credential the params name, in the database they name (refused unless served). */
async function credentialOf(
  params: { database: string; credential_id: number },
  context: RpcContext,
): Promise<CredentialRef> {
  return {
    database: params.database,
    db: await context.databases.open(params.database),
    id: params.credential_id,
  };
}

export const credentialsRequestAuthorization = defineMethod({
  name: 'credentials.request_authorization',
  summary:
    'Start the OAuth consent: a new state and PKCE verifier, the consent URL, state authorization_pending',
  params: credentialParams,
  result: authorizationRequestResult,
  errors: [...COMMON_ERRORS, 'credential_incomplete'],
  handler: async (params, context) =>
    requestAuthorization(context.credentials, await credentialOf(params, context)),
});

export const credentialsGetAccessToken = defineMethod({
  name: 'credentials.get_access_token',
  summary: 'A valid access token, refreshed first when it would expire within min_validity seconds',
  params: credentialParams.extend({
    min_validity: z
      .number()
      .int()
      .min(0)
      .max(MAX_MIN_VALIDITY, { error: 'must be at most 3000 seconds (Google tokens live one hour)' })
      .default(DEFAULT_MIN_VALIDITY)
      .describe('Seconds the returned token must remain valid'),
    scopes: z
      .array(z.string().min(1))
      .max(MAX_SCOPES)
      .optional()
      .describe('Scopes the caller will use; refused with scope_not_granted when not granted'),
  }),
  result: accessTokenResult,
  errors: ACCESS_TOKEN_ERRORS,
  // Tryton asks for a token before most calls to Google: this method is the hot one.
  quickParams: (params) => {
    const common = quickCredentialParams(params, ACCESS_TOKEN_EXTRA);
    if (!common) return undefined;
    const { min_validity: minValidity = DEFAULT_MIN_VALIDITY, scopes } = params;
    if (!Number.isSafeInteger(minValidity)) return undefined;
    if ((minValidity as number) < 0 || (minValidity as number) > MAX_MIN_VALIDITY) return undefined;
    if (scopes !== undefined && !plainScopes(scopes)) return undefined;
    return scopes === undefined
      ? { ...common, min_validity: minValidity as number }
      : { ...common, min_validity: minValidity as number, scopes: scopes as string[] };
  },
  handler: async (params, context) =>
    getAccessToken(context.credentials, await credentialOf(params, context), {
      minValidity: params.min_validity,
      scopes: params.scopes,
    }),
});

export const credentialsRefresh = defineMethod({
  name: 'credentials.refresh',
  summary: 'Refresh the access token now',
  params: credentialParams,
  result: refreshResult,
  errors: [
    ...COMMON_ERRORS,
    'not_authorized',
    'authorization_expired',
    'google_unavailable',
    'google_rejected',
    'tokens_unreadable',
  ],
  handler: async (params, context) => forceRefresh(context.credentials, await credentialOf(params, context)),
});

export const credentialsRevoke = defineMethod({
  name: 'credentials.revoke',
  summary: 'Revoke the grant at Google, clear the tokens, state without_authorization',
  params: credentialParams,
  result: revokeResult,
  errors: [...COMMON_ERRORS, 'google_unavailable', 'tokens_unreadable'],
  handler: async (params, context) => {
    const ref = await credentialOf(params, context);
    const result = await revokeCredential(context.credentials, ref);
    // Its team calendars switch to another member's account now, not at the next pass.
    await context.services.credentialChanged(ref, context.logger);
    return result;
  },
});

export const credentialsStatus = defineMethod({
  name: 'credentials.status',
  summary: 'State, token expiry, account, granted scopes, last error and last sync of a credential',
  params: credentialParams,
  result: statusResult,
  errors: COMMON_ERRORS,
  handler: async ({ database, credential_id }, { databases }) =>
    credentialStatus(await databases.open(database), credential_id),
});
