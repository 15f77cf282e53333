/**
 * `credentials.revoke` (RFC 7009): the grant is revoked at Google, then the tokens are cleared and
 * the credential returns to without_authorization. No connection or row lock is held while Google
 * answers: the row is cleared only if it still holds the refresh token that was revoked, and read
 * again otherwise (a new grant arrived meanwhile, which is then revoked too). A token Google
 * already considers invalid still lets the local revoke complete; Google being unreachable does
 * not, so no grant is left alive at Google while Tryton shows it gone.
 */
import { findCredential, updateCredentialIf } from '../db/credentials-repository.js';
import { GoogleError } from '../google/errors.js';
import { type CredentialContext, type CredentialRef, credentialLogger } from './context.js';
import { credentialNotFound, googleUnavailable } from './errors.js';
import { transition } from './state-machine.js';
import { oauthClientOf, openAccessToken, openRefreshToken } from './tokens.js';

const ROUNDS = 3;

export async function revokeCredential(context: CredentialContext, ref: CredentialRef) {
  const log = credentialLogger(context, ref);
  for (let round = 1; ; round++) {
    const row = await findCredential(ref.db, ref.id);
    if (!row) throw credentialNotFound(ref.id);
    // Revoking the refresh token ends the whole grant, access tokens included.
    const token = openRefreshToken(context.cipher, row) ?? openAccessToken(context.cipher, row);
    if (token) {
      try {
        await context.google.revoke(oauthClientOf(row), token);
      } catch (error) {
        if (!(error instanceof GoogleError)) throw error;
        if (error.transient) throw googleUnavailable(ref.id, error.message);
        log.info({ status: error.status, google_error: error.code }, 'token already invalid at Google');
      }
    }
    const expected = { refresh_token: row.refresh_token };
    const seen = context.tokens.expectChange(ref);
    if (await updateCredentialIf(ref.db, ref.id, expected, transition.revoked())) {
      // Answer once this replica's cache has heard the change: the others' have heard it too.
      await seen();
      break;
    }
    if (round >= ROUNDS) throw googleUnavailable(ref.id, 'the credential kept changing during the revoke');
  }
  log.info('credential revoked');
  return { state: 'without_authorization' as const };
}
