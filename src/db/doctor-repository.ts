/**
 * Read-only questions `tryton-google doctor` asks a database. Nothing here writes: the doctor must
 * leave a database as it found it (no migration, no key_check marker stored).
 */
import type { Knex } from 'knex';
import { CREDENTIALS_TABLE } from './credentials-repository.js';
import { SIDECAR_SCHEMA } from './migrate.js';

/** The names in the sidecar's migrations table, or undefined where that table does not exist. */
export async function appliedMigrations(knex: Knex): Promise<string[] | undefined> {
  const found = await knex.raw<{ rows: Array<{ table: string | null }> }>(
    `SELECT to_regclass('${SIDECAR_SCHEMA}.knex_migrations')::text AS table`,
  );
  if (found.rows[0]?.table == null) return undefined;
  const rows = await knex
    .withSchema(SIDECAR_SCHEMA)
    .select<Array<{ name: string }>>('name')
    .from('knex_migrations');
  return rows.map((row) => row.name);
}

/** The stored key_check marker: undefined where the table does not exist, null where it holds no row. */
export async function readKeyCheckMarker(knex: Knex): Promise<string | null | undefined> {
  const found = await knex.raw<{ rows: Array<{ table: string | null }> }>(
    `SELECT to_regclass('${SIDECAR_SCHEMA}.key_check')::text AS table`,
  );
  if (found.rows[0]?.table == null) return undefined;
  const row = await knex
    .withSchema(SIDECAR_SCHEMA)
    .from('key_check')
    .where({ id: 1 })
    .first<{ sealed: string } | undefined>('sealed');
  return row?.sealed ?? null;
}

export interface SealedValues {
  readonly id: number;
  readonly access_token: string | null;
  readonly refresh_token: string | null;
  readonly code_verifier: string | null;
}

/** Up to `limit` credentials holding a sealed value, the most recent first; undefined without the table. */
export async function sampleSealedValues(knex: Knex, limit: number): Promise<SealedValues[] | undefined> {
  if (!(await hasCredentialsTable(knex))) return undefined;
  return knex(CREDENTIALS_TABLE)
    .select<SealedValues[]>('id', 'access_token', 'refresh_token', 'code_verifier')
    .whereNotNull('access_token')
    .orWhereNotNull('refresh_token')
    .orWhereNotNull('code_verifier')
    .orderBy('id', 'desc')
    .limit(limit);
}

export interface RedirectUriRow {
  readonly id: number;
  readonly name: string;
  readonly redirect_uri: string | null;
}

/** Every credential's redirect URI; undefined without the credentials table. */
export async function credentialRedirectUris(knex: Knex): Promise<RedirectUriRow[] | undefined> {
  if (!(await hasCredentialsTable(knex))) return undefined;
  return knex(CREDENTIALS_TABLE).select<RedirectUriRow[]>('id', 'name', 'redirect_uri').orderBy('id');
}

async function hasCredentialsTable(knex: Knex): Promise<boolean> {
  const found = await knex.raw<{ rows: Array<{ table: string | null }> }>(
    `SELECT to_regclass('public.${CREDENTIALS_TABLE}')::text AS table`,
  );
  return found.rows[0]?.table != null;
}
