/**
 * A Tryton database for the calendar figures: a clone of the tests' template on which trytond-admin
 * activated google_integration (test/support/tryton.ts `trytonTemplate()`, rebuilt only when the
 * module changed), migrated with the built `migrate` command like the bench's other databases.
 * Dropped with stack.ts `dropDatabase`. And trytond serving it (section 7), driven over its JSON-RPC
 * as Tryton's web client does (test/support/trytond.ts).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { trytonTemplate } from '../../test/support/tryton.js';
import {
  freePort,
  scratchFolder,
  startTrytond,
  TrytonSession,
  type TrytondProcess,
  writeTrytondConfig,
} from '../../test/support/trytond.js';
import type { Build } from './build.js';
import { API_KEY, POSTGRES_URI, sql } from './stack.js';

export async function createTrytonDatabase(build: Build, prefix = 'gi_bench_cal'): Promise<string> {
  const template = await trytonTemplate();
  const database = `${prefix}_${randomBytes(4).toString('hex')}`;
  await sql('postgres', `CREATE DATABASE "${database}" TEMPLATE "${template}"`);
  await promisify(execFile)(process.execPath, [build.cli, 'migrate', '--database', database], {
    env: { ...process.env, DATABASE_URI: POSTGRES_URI, LOG_LEVEL: 'warn' },
  });
  return database;
}

export interface BenchTrytond {
  readonly url: string;
  readonly process: TrytondProcess;
  /** Tryton's admin, over JSON-RPC. */
  readonly admin: TrytonSession;
  stop(): Promise<void>;
}

/**
 * trytond (the project's virtualenv, test/support/trytond.ts) serving `database`, configured to call the
 * bench's sidecar with the bench's API key; logged in as admin.
 */
export async function startBenchTrytond(database: string, sidecarUrl: string): Promise<BenchTrytond> {
  const scratch = scratchFolder('gi-bench-trytond-');
  try {
    const url = `http://127.0.0.1:${await freePort()}`;
    const configFile = writeTrytondConfig(scratch.folder, {
      url,
      sidecarUrl,
      apiKey: API_KEY,
      databaseUri: POSTGRES_URI,
    });
    const server = await startTrytond(configFile, database, url);
    const admin = await TrytonSession.login(url, database).catch(async (error: Error) => {
      await server.stop();
      throw error;
    });
    return {
      url,
      process: server,
      admin,
      async stop() {
        await server.stop();
        scratch.remove();
      },
    };
  } catch (error) {
    scratch.remove();
    throw error;
  }
}

/**
 * A Tryton user who is in the "Google Calendar" group and nothing else (no admin rights), made by
 * `admin` through Tryton's ORM; logged in.
 */
export async function calendarUser(
  trytond: BenchTrytond,
  database: string,
  login: string,
): Promise<TrytonSession> {
  const [group] = (await trytond.admin.call('model.res.group.search', [
    [['name', '=', 'Google Calendar']],
    0,
    1,
    null,
    {},
  ])) as number[];
  if (group === undefined) throw new Error('no "Google Calendar" group in Tryton');
  const password = randomBytes(18).toString('base64url');
  await trytond.admin.call('model.res.user.create', [
    [{ name: `Bench ${login}`, login, password, groups: [['add', [group]]] }],
    {},
  ]);
  return TrytonSession.login(trytond.url, database, login, password);
}

/** trytond's JSON for a naive UTC datetime (Tryton's Timestamp/DateTime). */
export function trytonDatetime(at: Date): Record<string, unknown> {
  return {
    __class__: 'datetime',
    year: at.getUTCFullYear(),
    month: at.getUTCMonth() + 1,
    day: at.getUTCDate(),
    hour: at.getUTCHours(),
    minute: at.getUTCMinutes(),
    second: at.getUTCSeconds(),
    microsecond: 0,
  };
}
