/**
 * Random tokens and stable user ids. Tokens carry Google's prefixes (`ya29.` access, `1//` refresh,
 * `4/` codes) so that tests grepping logs for leaked secrets find them the way they would find real ones.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = {
  accessToken: 'ya29.',
  refreshToken: '1//',
  code: '4/',
  pendingRequest: 'req_',
} as const;

export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/** Google's `sub` is a 21-digit decimal string, stable per account; derive one from the email. */
export function subjectFor(email: string): string {
  const digest = createHash('sha256').update(email).digest();
  return `1${(digest.readBigUInt64BE(0) % 10n ** 20n).toString().padStart(20, '0')}`;
}

export function sha256Base64Url(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
