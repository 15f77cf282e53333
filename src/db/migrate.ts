/**
 * Runs the sidecar's Knex migrations on one database. The sidecar's own schema holds the
 * migrations table so nothing of the sidecar's lands among Tryton's tables.
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations/index.js';

export const SIDECAR_SCHEMA = 'google_integration_sidecar';

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => MIGRATIONS.map(([name]) => name),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const found = MIGRATIONS.find(([candidate]) => candidate === name);
    if (!found) throw new Error(`unknown migration ${name}`);
    return found[1];
  },
};

/** Applies pending migrations; returns the names applied by this call (empty when up to date). */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  try {
    await knex.raw(`CREATE SCHEMA IF NOT EXISTS ${SIDECAR_SCHEMA}`);
  } catch (error) {
    // Two replicas starting together: IF NOT EXISTS is not atomic, the loser sees a duplicate.
    if (!(error instanceof Error && 'code' in error && ['23505', '42P06'].includes(String(error.code))))
      throw error;
  }
  const [, applied] = (await knex.migrate.latest({
    migrationSource: source,
    schemaName: SIDECAR_SCHEMA,
    tableName: 'knex_migrations',
  })) as [number, string[]];
  return applied;
}
