/**
 * Scope rules of Google's consent screen: the sign-in scopes (`openid`, `email`, `profile`) cannot be
 * unticked, and Google reports `email`/`profile` under their long names in every answer, so a client that
 * compares granted with requested scopes must already cope with that here.
 */

export const USERINFO_EMAIL = 'https://www.googleapis.com/auth/userinfo.email';
export const USERINFO_PROFILE = 'https://www.googleapis.com/auth/userinfo.profile';

const LONG_NAMES: Readonly<Record<string, string>> = { email: USERINFO_EMAIL, profile: USERINFO_PROFILE };
const SIGN_IN_SCOPES = new Set(['openid', 'email', 'profile', USERINFO_EMAIL, USERINFO_PROFILE]);

/** Splits a `scope` parameter (space-separated, RFC 6749 §3.3) into distinct scopes, order kept. */
export function parseScope(value: string): string[] {
  return [...new Set(value.split(' ').filter((scope) => scope.length > 0))];
}

export function isSignInScope(scope: string): boolean {
  return SIGN_IN_SCOPES.has(scope);
}

/** The scopes as Google reports them once granted: long names, no duplicates, order kept. */
export function grantedForm(scopes: Iterable<string>): string[] {
  return [...new Set([...scopes].map((scope) => LONG_NAMES[scope] ?? scope))];
}

/** What the user grants: every requested sign-in scope, plus the requested scopes left ticked. */
export function grantedScopes(requested: readonly string[], ticked: ReadonlySet<string>): string[] {
  return grantedForm(requested.filter((scope) => isSignInScope(scope) || ticked.has(scope)));
}

export function includesEmailScope(scopes: readonly string[]): boolean {
  return scopes.includes(USERINFO_EMAIL);
}
