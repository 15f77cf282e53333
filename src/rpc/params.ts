/** zod schemas for the parameters every JSON-RPC method shares; validation happens here only. */
import { z } from 'zod';
import { isValidDatabaseName } from '../db/database-name.js';

/** The credentials table's id is a PostgreSQL INTEGER: a larger id would fail in SQL, not here. */
export const MAX_CREDENTIAL_ID = 2 ** 31 - 1;

export const database = z
  .string({ error: 'must be a database name' })
  .refine(isValidDatabaseName, { error: 'is not a valid database name' })
  .describe('Name of the Tryton database the credential lives in');

export const credentialId = z
  .number({ error: 'must be an integer id' })
  .int({ error: 'must be an integer id' })
  .positive({ error: 'must be a positive id' })
  .max(MAX_CREDENTIAL_ID, { error: `must be at most ${MAX_CREDENTIAL_ID}` })
  .describe('id of the google_integration.google_credentials record');

export const credentialParams = z.strictObject({ database, credential_id: credentialId });

type CredentialParams = z.infer<typeof credentialParams>;

/**
 * The quick check of credentialParams (method.ts, quickParams): `database` and `credential_id` that
 * the schema certainly accepts, and no member but those and the `extra` ones, which the caller checks.
 */
export function quickCredentialParams(
  params: Readonly<Record<string, unknown>>,
  extra: readonly string[] = [],
): CredentialParams | undefined {
  for (const key of Object.keys(params)) {
    if (key !== 'database' && key !== 'credential_id' && !extra.includes(key)) return undefined;
  }
  const { database, credential_id } = params;
  if (!isValidDatabaseName(database)) return undefined;
  if (!Number.isSafeInteger(credential_id)) return undefined;
  const id = credential_id as number;
  return id > 0 && id <= MAX_CREDENTIAL_ID ? { database, credential_id: id } : undefined;
}
