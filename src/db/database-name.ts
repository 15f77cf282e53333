/**
 * Database names arrive with every request, so they are checked before they reach a connection
 * string, a pool key or a log line: PostgreSQL identifiers of at most 63 bytes, in the character set
 * trytond itself accepts for database names.
 */
const DATABASE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

export function isValidDatabaseName(name: unknown): name is string {
  return typeof name === 'string' && DATABASE_NAME.test(name);
}
