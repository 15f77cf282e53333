/**
 * An in-process sidecar (src/main.ts startSidecar) with its log lines collected, on a database of
 * its own cloned from the standalone template, optionally pointed at an in-process emulator. For
 * tests that send many requests (the fuzzer) and must read the log and the table afterwards.
 */
import type { Knex } from 'knex';
import { type Config, loadConfig } from '../../src/config.js';
import { emulatorEndpoints, type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { createLogger } from '../../src/log.js';
import { type RunningSidecar, startSidecar } from '../../src/main.js';
import { type EmulatorControl, emulatorControl } from './emulator-client.js';
import { sidecarEnv } from './env.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from './postgres.js';

export const CREDENTIALS_TABLE = 'google_integration_google_credentials';

export interface InProcessSidecar {
  readonly database: string;
  readonly db: Knex;
  readonly sidecar: RunningSidecar;
  readonly config: Config;
  readonly emulator: RunningEmulator | undefined;
  /** The emulator's control API (emulator-client.ts); it throws when started without the emulator. */
  readonly control: EmulatorControl;
  /** Every log line the sidecar wrote so far (pino JSON at level info). */
  logs(): string;
  /** Inserts a credential (a bare one unless `values` say more) and returns its id. */
  insertCredential(values?: Record<string, unknown>): Promise<number>;
  /** Every row of the credentials table, ordered by id, as PostgreSQL's text of each column. */
  snapshot(): Promise<string>;
  stop(): Promise<void>;
}

export async function startInProcess(
  options: { emulator?: boolean; env?: Record<string, string> } = {},
): Promise<InProcessSidecar> {
  const database = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_http');
  const db = connect(database);
  const emulator = options.emulator ? await startEmulator() : undefined;
  const config = loadConfig(
    sidecarEnv({
      ...(emulator ? emulatorEndpoints(emulator.url) : {}),
      // Only its own database: without an allow-list it would start background work in all of them.
      SIDECAR_DATABASES: database,
      ...options.env,
    }),
  );
  let logs = '';
  const logger = createLogger('info', {
    write(line: string) {
      logs += line;
    },
  });
  const sidecar = await startSidecar(config, logger);
  return {
    database,
    db,
    sidecar,
    config,
    emulator,
    control: emulator
      ? emulatorControl(emulator.url)
      : async () => {
          throw new Error('this in-process sidecar was started without the emulator');
        },
    logs: () => logs,
    async insertCredential(values = {}) {
      const [row] = await db(CREDENTIALS_TABLE)
        .insert({ name: 'Test credential', state: 'without_authorization', create_uid: 1, ...values })
        .returning('id');
      return row.id as number;
    },
    async snapshot() {
      // Text of the whole row: byte-for-byte comparable, timestamps and NULLs included.
      const result = await db.raw(`SELECT t::text AS row FROM ${CREDENTIALS_TABLE} t ORDER BY id`);
      return (result.rows as Array<{ row: string }>).map((one) => one.row).join('\n');
    },
    async stop() {
      await sidecar.close();
      await emulator?.close();
      await db.destroy();
      await dropDatabase(database);
    },
  };
}
