/**
 * `credentials.revoke` (RFC 7009): the grant is revoked at Google, then the tokens are cleared and
 * the credential returns to without_authorization. A token Google already considers invalid
 * (`invalid_token`, or the credential expired) still lets the local revoke complete; Google being
 * unreachable does not, so no grant is left alive at Google while Tryton shows it gone.
 */
import { type Db, inTransaction } from '../db/handle.js';
import { lockCredential, setLockTimeout, updateCredential } from '../db/credentials-repository.js';
import { GoogleError } from '../oauth/google-error.js';
import type { CredentialContext } from './context.js';
import { credentialNotFound, googleUnavailable } from './errors.js';
import { oauthClientOf, openAccessToken, openRefreshToken } from './tokens.js';

export async function revokeCredential(context: CredentialContext, db: Db, credentialId: number) {
  const failure = await inTransaction(db, async (trx) => {
    await setLockTimeout(trx, 30_000);
    const row = await lockCredential(trx, credentialId);
    if (!row) throw credentialNotFound(credentialId);
    // Revoking the refresh token ends the whole grant, access tokens included.
    const token = openRefreshToken(context.cipher, row) ?? openAccessToken(context.cipher, row);
    if (token) {
      const client = oauthClientOf(row);
      try {
        await context.google.revoke(client, token);
      } catch (error) {
        const google = GoogleError.from(error, 'token revocation');
        if (google.transient) return google;
        context.logger.info(
          { credential_id: credentialId, code: google.code },
          'token already invalid at Google',
        );
      }
    }
    await updateCredential(trx, credentialId, {
      state: 'without_authorization',
      access_token: null,
      refresh_token: null,
      token_expiry: null,
      oauth_state: null,
      code_verifier: null,
      authorization_url: null,
      authorization_requested_at: null,
      granted_scopes: null,
      account_email: null,
      last_error: null,
    });
    context.logger.info({ credential_id: credentialId }, 'credential revoked');
    return undefined;
  });
  if (failure) throw googleUnavailable(credentialId, failure.message);
  return { state: 'without_authorization' as const };
}
