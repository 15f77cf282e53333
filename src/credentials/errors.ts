/**
 * The credential errors a caller can act on, worded for the Tryton admin who will read them
 * (docs/contracts.md, "Errors"). Buttons are named as the form shows them in the state at hand.
 */
import { ErrorType, SidecarError } from '../errors.js';
import type { GoogleError } from '../google/errors.js';

export function credentialNotFound(credentialId: number): SidecarError {
  return new SidecarError(ErrorType.CredentialNotFound, `credential ${credentialId} does not exist`, {
    credential_id: credentialId,
  });
}

export function notAuthorized(credentialId: number, state: string): SidecarError {
  return new SidecarError(
    ErrorType.NotAuthorized,
    `credential ${credentialId} is not authorized (state ${state}): press Authorize first`,
    { credential_id: credentialId, state },
  );
}

export function authorizationExpired(credentialId: number, reason: string | null): SidecarError {
  return new SidecarError(
    ErrorType.AuthorizationExpired,
    `the Google authorization of credential ${credentialId} has expired: press Authorize again${reason ? ` (${reason})` : ''}`,
    { credential_id: credentialId },
  );
}

export function googleUnavailable(credentialId: number, detail: string): SidecarError {
  return new SidecarError(ErrorType.GoogleUnavailable, `Google is unavailable, try again later: ${detail}`, {
    credential_id: credentialId,
  });
}

export function googleRejected(credentialId: number, detail: string): SidecarError {
  return new SidecarError(ErrorType.GoogleRejected, `Google refused the request: ${detail}`, {
    credential_id: credentialId,
  });
}

/** A failed call to Google as the caller sees it: worth retrying later, or refused. */
export function googleFailure(credentialId: number, error: GoogleError): SidecarError {
  return error.transient
    ? googleUnavailable(credentialId, error.message)
    : googleRejected(credentialId, error.message);
}

export function scopeNotGranted(credentialId: number, missing: readonly string[]): SidecarError {
  return new SidecarError(
    ErrorType.ScopeNotGranted,
    `credential ${credentialId} was not granted ${missing.join(' ')}: press Re-authorize and tick every permission`,
    { credential_id: credentialId, missing },
  );
}

/** Why Google answers invalid_grant to a refresh, for the admin reading last_error. */
export const INVALID_GRANT_EXPLANATION =
  'Google refused the refresh token (invalid_grant). Likely causes: access was revoked in the Google ' +
  'account; the OAuth consent screen is in Testing mode, where refresh tokens expire after 7 days; the ' +
  'token was not used for 6 months; or too many refresh tokens were issued for this client and account ' +
  '(Google keeps the newest 100). Press Authorize to connect again.';

/** Why the code exchange failed when Google refuses the OAuth client itself, for last_error. */
export function clientRejectedExplanation(error: GoogleError, button: string): string {
  return (
    `Google refused the OAuth client (${error.code}) when the authorization code was exchanged: ` +
    'check the Client ID, the Client Secret and that the Redirect URI is registered for this client ' +
    `in the Google Cloud console, then press ${button}.`
  );
}
