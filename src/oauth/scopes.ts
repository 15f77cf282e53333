/**
 * OAuth scopes as Google writes them (space-separated, RFC 6749 section 3.3). Google answers the
 * short names `email` and `profile` with their long URLs, so both spellings compare equal here.
 */
const ALIASES: Readonly<Record<string, string>> = {
  email: 'https://www.googleapis.com/auth/userinfo.email',
  profile: 'https://www.googleapis.com/auth/userinfo.profile',
};

/** Asked for on top of the configured scopes, so the sidecar can tell which account was connected. */
export const IDENTITY_SCOPES = ['openid', 'email'] as const;

export function splitScopes(scopes: string | null | undefined): string[] {
  return [...new Set((scopes ?? '').split(/\s+/).filter((scope) => scope !== ''))];
}

function canonical(scope: string): string {
  return ALIASES[scope] ?? scope;
}

/** The requested scopes that are not in the granted ones. */
export function missingScopes(requested: readonly string[], granted: readonly string[]): string[] {
  const have = new Set(granted.map(canonical));
  return requested.filter((scope) => !have.has(canonical(scope)));
}

/** What a consent asks for: the identity scopes, the configured ones, and those of enabled services. */
export function requestedScopes(configured: string | null, services: readonly string[] = []): string[] {
  return splitScopes([...IDENTITY_SCOPES, ...splitScopes(configured), ...services].join(' '));
}
