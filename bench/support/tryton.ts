/**
 * A Tryton database for the calendar figures: a clone of the tests' template on which trytond-admin
 * activated google_integration (test/support/tryton.ts `trytonTemplate()`, rebuilt only when the
 * module changed), migrated with the built `migrate` command like the bench's other databases.
 * Dropped with stack.ts `dropDatabase`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { trytonTemplate } from '../../test/support/tryton.js';
import type { Build } from './build.js';
import { POSTGRES_URI, sql } from './stack.js';

export async function createTrytonDatabase(build: Build, prefix = 'gi_bench_cal'): Promise<string> {
  const template = await trytonTemplate();
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  await sql('postgres', `CREATE DATABASE "${database}" TEMPLATE "${template}"`);
  await promisify(execFile)(process.execPath, [build.cli, 'migrate', '--database', database], {
    env: { ...process.env, DATABASE_URI: POSTGRES_URI, LOG_LEVEL: 'warn' },
  });
  return database;
}
