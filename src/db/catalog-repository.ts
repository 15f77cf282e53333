/**
 * Questions about a database itself: does it hold the module's table, is it a Tryton database, is
 * the module activated there. Used to decide whether a database is served.
 */
import type { Knex } from 'knex';
import { CREDENTIALS_TABLE } from './credentials-repository.js';

export interface DatabaseShape {
  readonly hasCredentialsTable: boolean;
  /** null where the database is not a Tryton database (no ir_module table). */
  readonly moduleState: string | null | undefined;
}

export async function ping(knex: Knex): Promise<void> {
  await knex.raw('SELECT 1');
}

/** The databases of the server one may connect to (templates excluded). */
export async function listDatabases(knex: Knex): Promise<string[]> {
  const result = await knex.raw<{ rows: Array<{ datname: string }> }>(
    'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname',
  );
  return result.rows.map((row) => row.datname);
}

export async function inspectDatabase(knex: Knex): Promise<DatabaseShape> {
  const result = await knex.raw<{ rows: Array<{ credentials: string | null; ir_module: string | null }> }>(
    `SELECT to_regclass('public.${CREDENTIALS_TABLE}')::text AS credentials,
            to_regclass('public.ir_module')::text AS ir_module`,
  );
  const row = result.rows[0];
  const hasCredentialsTable = row?.credentials != null;
  if (row?.ir_module == null) return { hasCredentialsTable, moduleState: null };
  const module = await knex('ir_module')
    .where({ name: 'google_integration' })
    .first<{ state: string }>('state');
  return { hasCredentialsTable, moduleState: module?.state };
}
