/** zod schemas of the methods' results: documentation for rpc.discover, one place for each shape. */
import { z } from 'zod';
import { CREDENTIAL_STATES } from '../credentials/state-machine.js';

const timestamp = z.iso.datetime().describe('ISO 8601, UTC');
export const credentialState = z.enum(CREDENTIAL_STATES);

export const authorizationRequestResult = z.object({
  authorization_url: z.url().describe("Google's consent page; open it in the user's browser"),
  expires_at: timestamp.describe('The callback is refused after this time'),
});

export const accessTokenResult = z.object({
  access_token: z.string(),
  token_expiry: timestamp,
  scopes: z.array(z.string()),
});

export const refreshResult = z.object({ state: credentialState, token_expiry: timestamp.nullable() });
export const revokeResult = z.object({ state: z.literal('without_authorization') });

export const statusResult = z.object({
  state: credentialState,
  token_expiry: timestamp.nullable(),
  account_email: z.string().nullable(),
  granted_scopes: z.array(z.string()),
  last_error: z.string().nullable(),
  last_sync: timestamp.nullable(),
});
