/**
 * Which OAuth scopes open the People API's contact calls: `contacts` reads and writes, `contacts.readonly`
 * only reads. Anything else answers 403 PERMISSION_DENIED "Request had insufficient authentication
 * scopes." (ACCESS_TOKEN_SCOPE_INSUFFICIENT), as Google does.
 */
export const CONTACTS_SCOPE = 'https://www.googleapis.com/auth/contacts';
export const CONTACTS_READONLY_SCOPE = 'https://www.googleapis.com/auth/contacts.readonly';

export type PeopleAccess = 'read' | 'write';

export function peopleScopesAllow(scopes: readonly string[], access: PeopleAccess): boolean {
  return scopes.includes(CONTACTS_SCOPE) || (access === 'read' && scopes.includes(CONTACTS_READONLY_SCOPE));
}
