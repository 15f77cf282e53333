/**
 * Real PostgreSQL for tests: every test file gets its own database, cloned from a template
 * (CREATE DATABASE ... TEMPLATE) instead of being rebuilt, and dropped afterwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../src/db/migrate.js';
import { createKnex } from '../../src/db/pools.js';

export const POSTGRES_URI = process.env.TEST_POSTGRES_URI ?? 'postgresql://postgres@127.0.0.1:5432/';
export const STANDALONE_TEMPLATE = 'gi_test_template_standalone';

/** A pool on `database` that reads timestamps as the sidecar does (naive UTC). */
export function connect(database: string): Knex {
  return createKnex(POSTGRES_URI, database, { max: 2 });
}

/** Runs `work` on the maintenance database, where CREATE/DROP DATABASE are issued. */
export async function withAdmin<T>(work: (admin: Knex) => Promise<T>): Promise<T> {
  const admin = connect('postgres');
  try {
    return await work(admin);
  } finally {
    await admin.destroy();
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

export async function databaseExists(name: string): Promise<boolean> {
  return withAdmin(async (admin) => {
    const result = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [name]);
    return result.rows.length > 0;
  });
}

export async function createDatabase(name: string, template?: string): Promise<void> {
  await withAdmin((admin) =>
    admin.raw(template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`),
  );
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin(async (admin) => {
    // Templates (see markTemplate) must be ordinary again to be dropped.
    await admin.raw('UPDATE pg_database SET datistemplate = false WHERE datname = ?', [name]);
    await admin.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/**
 * Marks a test template as a template: sidecars looking for databases to serve skip templates,
 * and a connection to a template would make CREATE DATABASE ... TEMPLATE fail.
 */
export async function markTemplate(name: string): Promise<void> {
  await withAdmin((admin) => admin.raw(`ALTER DATABASE "${name}" IS_TEMPLATE true`));
}

/** Builds the template holding only the sidecar's migrations (the standalone credentials table). */
export async function buildStandaloneTemplate(): Promise<void> {
  const hash = migrationsHash();
  await withAdmin((admin) =>
    // Several test runs may share the server: one builds, the others wait, and a template that is
    // up to date is kept (dropping it would break the clones another run is making).
    admin.transaction(async (lock) => {
      await lock.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [STANDALONE_TEMPLATE]);
      const found = await lock.raw(
        `SELECT shobj_description(oid, 'pg_database') AS hash FROM pg_database WHERE datname = ?`,
        [STANDALONE_TEMPLATE],
      );
      if (found.rows[0]?.hash === hash) return;
      const building = `${STANDALONE_TEMPLATE}_building`;
      await dropDatabase(building);
      await createDatabase(building);
      const knex = connect(building);
      try {
        await migrateLatest(knex);
      } finally {
        await knex.destroy();
      }
      await dropDatabase(STANDALONE_TEMPLATE);
      await withAdmin(async (other) => {
        await other.raw(`ALTER DATABASE "${building}" RENAME TO "${STANDALONE_TEMPLATE}"`);
        await other.raw(`COMMENT ON DATABASE "${STANDALONE_TEMPLATE}" IS '${hash}'`);
      });
      await markTemplate(STANDALONE_TEMPLATE);
    }),
  );
}

/** The sidecar's migrations as they are now: the template is rebuilt when they change. */
function migrationsHash(): string {
  const folder = join(import.meta.dirname, '..', '..', 'migrations');
  const digest = createHash('sha256');
  for (const file of readdirSync(folder).sort()) digest.update(readFileSync(join(folder, file)));
  return digest.digest('hex').slice(0, 16);
}

/** A fresh database cloned from `template`, dropped by the returned function. */
export async function cloneDatabase(template: string, prefix = 'gi_test'): Promise<string> {
  const name = uniqueName(prefix);
  await createDatabase(name, template);
  return name;
}
