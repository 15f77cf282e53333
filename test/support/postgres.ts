/**
 * Real PostgreSQL for tests: every test file gets its own database, cloned from a template
 * (CREATE DATABASE ... TEMPLATE) instead of being rebuilt, and dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
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
  await dropDatabase(STANDALONE_TEMPLATE);
  await createDatabase(STANDALONE_TEMPLATE);
  const knex = connect(STANDALONE_TEMPLATE);
  try {
    await migrateLatest(knex);
  } finally {
    await knex.destroy();
  }
  await markTemplate(STANDALONE_TEMPLATE);
}

/** A fresh database cloned from `template`, dropped by the returned function. */
export async function cloneDatabase(template: string, prefix = 'gi_test'): Promise<string> {
  const name = uniqueName(prefix);
  await createDatabase(name, template);
  return name;
}
