/**
 * Database trouble answers the documented -32006 database_unavailable, within the configured
 * database timeout, and is logged once per window rather than once (with a stack) per request:
 * a server that accepts connections and never answers, a row lock held elsewhere, and the
 * sidecar's connections killed under load.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DatabasePools } from '../../src/db/pools.js';
import { JobEngine } from '../../src/jobs/engine.js';
import { createLogger } from '../../src/log.js';
import { type RunningSidecar, startSidecar } from '../../src/main.js';
import { sidecarEnv } from '../support/env.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from '../support/postgres.js';
import { call } from '../support/rpc.js';
import { type Stack, startStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const TABLE = 'google_integration_google_credentials';
/** The first four retries of a runner that could not start (docs/contracts.md, "Scale-out rules"). */
const RETRIES_MS = (5 + 10 + 20 + 40) * 1000;

/** A sidecar in this process whose log lines are kept. */
async function sidecarWithLogs(env: Record<string, string>) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig(sidecarEnv({ SIDECAR_REFRESH_INTERVAL: '3600', ...env }));
  const sidecar = await startSidecar(config, createLogger('info', destination));
  return { sidecar, lines };
}

describe('a PostgreSQL server that accepts connections and never answers', () => {
  let blackhole: Server;
  const sockets = new Set<Socket>();
  let sidecar: RunningSidecar;
  let lines: string[];

  beforeAll(async () => {
    blackhole = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const port = (blackhole.address() as { port: number }).port;
    ({ sidecar, lines } = await sidecarWithLogs({
      DATABASE_URI: `postgresql://postgres@127.0.0.1:${port}/`,
      SIDECAR_DATABASES: 'gi_blackhole',
      SIDECAR_DATABASE_TIMEOUT: '0.5',
    }));
  });

  afterAll(async () => {
    await sidecar?.close();
    for (const socket of sockets) socket.destroy();
    blackhole?.close();
  });

  it('answers -32006 within the database timeout, every time, with few log lines', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(sidecar.url, 'credentials.status', { database: 'gi_blackhole', credential_id: 1 }),
      ),
    );
    expect(performance.now() - started).toBeLessThan(3_000);
    for (const answer of answers) {
      expect(answer.error?.code).toBe(-32006);
      expect(answer.error?.data?.type).toBe('database_unavailable');
    }
    const errors = lines.filter((line) => /"level":(50|60)/.test(line));
    expect(errors).toEqual([]);
    expect(lines.join('\n')).not.toContain('"stack"');
  });

  it("gives up starting the job runner within the database timeout: graphile-worker's pool has the bounds too", async () => {
    const port = (blackhole.address() as { port: number }).port;
    const pools = new DatabasePools(`postgresql://postgres@127.0.0.1:${port}/`, { timeoutMs: 500 });
    const engine = new JobEngine(pools, () => ({}), createLogger('silent'), {
      concurrency: 1,
      pollIntervalMs: 1000,
      heartbeatMs: 1000,
      holder: 'test',
    });
    const started = performance.now();
    const error = await engine.start('gi_blackhole').catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/timeout/i);
    expect(performance.now() - started).toBeLessThan(3_000);
    await engine.stop();
    await pools.closeAll();
  });
});

describe('a row lock held by another transaction', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { SIDECAR_DATABASE_TIMEOUT: '0.5', SIDECAR_REFRESH_INTERVAL: '3600' } });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('ends the wait after the database timeout with -32006 and leaves the row as it was', async () => {
    const id = await stack.authorizedCredential('locked@example.com');
    const before = await stack.row(id);
    const trx = await stack.db.transaction();
    try {
      await trx.raw(`SELECT id FROM ${TABLE} WHERE id = ? FOR UPDATE`, [id]);
      const started = performance.now();
      const answer = await stack.rpc('credentials.refresh', { credential_id: id });
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(answer.error?.code).toBe(-32006);
      expect(answer.error?.message).toMatch(/SQLSTATE 55P03/);
    } finally {
      await trx.rollback();
    }
    expect(await stack.row(id)).toEqual(before);
    // Once the lock is gone the same call succeeds.
    expect((await stack.rpc('credentials.refresh', { credential_id: id })).result?.state).toBe('authorized');
    expect(stack.logs()).toMatch(/"reason":"SQLSTATE 55P03"/);
  });
});

describe("the sidecar's connections killed under load", () => {
  let database: string;
  let db: Knex;
  let sidecar: RunningSidecar;
  let lines: string[];
  let id: number;

  beforeAll(async () => {
    database = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_kill');
    db = connect(database);
    const [row] = await db(TABLE)
      .insert({ name: 'Killed', state: 'without_authorization', sync_enabled: false })
      .returning('id');
    id = row.id;
    ({ sidecar, lines } = await sidecarWithLogs({
      SIDECAR_DATABASES: database,
      SIDECAR_DATABASE_TIMEOUT: '2',
    }));
  });

  afterAll(async () => {
    await sidecar?.close();
    await db?.destroy();
    await dropDatabase(database);
  });

  it('answers each call with its result or -32006, never -32603, and keeps serving', async () => {
    const kill = () =>
      db.raw(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = ? AND application_name = 'tryton-google-sidecar' AND pid <> pg_backend_pid()`,
        [database],
      );
    const codes: Record<string, number> = {};
    const load = (async () => {
      for (let wave = 0; wave < 15; wave++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () =>
            call(sidecar.url, 'credentials.status', { database, credential_id: id }),
          ),
        );
        for (const answer of answers) {
          const key = answer.error ? String(answer.error.code) : 'result';
          codes[key] = (codes[key] ?? 0) + 1;
        }
      }
    })();
    for (let round = 0; round < 5; round++) {
      await sleep(40);
      await kill();
    }
    await load;
    expect(Object.keys(codes).filter((code) => code !== 'result' && code !== '-32006')).toEqual([]);
    expect(codes.result).toBeGreaterThan(0);
    const after = await call(sidecar.url, 'credentials.status', { database, credential_id: id });
    expect(after.result?.state).toBe('without_authorization');
    expect(lines.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
    expect(lines.filter((line) => line.includes('"msg":"database unavailable"')).length).toBeLessThanOrEqual(
      1,
    );
    expect(lines.join('\n')).not.toContain('"stack"');
  });
});

describe('a job runner that cannot start at first', () => {
  let database: string;
  let db: Knex;

  beforeAll(async () => {
    database = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_runner');
    db = connect(database);
    // graphile-worker's own first table, as it creates it, so that a lock on it stops the runner's start.
    await db.raw(`CREATE SCHEMA google_integration_jobs;
      CREATE TABLE google_integration_jobs.migrations (
        id int PRIMARY KEY, ts timestamptz DEFAULT now() NOT NULL, breaking boolean NOT NULL DEFAULT false)`);
  });

  afterAll(async () => {
    await db?.destroy();
    await dropDatabase(database);
  });

  it(
    'is started again a few seconds later, once what stopped it is gone',
    async () => {
      const locker = await db.client.acquireConnection();
      let sidecar: RunningSidecar | undefined;
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE google_integration_jobs.migrations IN ACCESS EXCLUSIVE MODE');
        let lines: string[];
        // A database timeout that a loaded machine does not hit by itself: only the lock stops the start.
        ({ sidecar, lines } = await sidecarWithLogs({
          SIDECAR_DATABASES: database,
          SIDECAR_DATABASE_TIMEOUT: '2',
        }));
        const said = (message: string) => async () =>
          lines.filter((line) => line.includes(`"msg":"${message}"`));
        const [notStarted] = await until(said('background work not started'), (found) => found.length > 0, {
          what: 'the start given up for the lock',
        });
        expect(notStarted).toContain('"retry_in_s":5');
        expect(await said('job runner started')()).toEqual([]);
        await locker.query('ROLLBACK');
        // Tried again 5 s after, then 10, 20 and 40 s: whichever attempt comes first after the lock.
        await until(said('job runner started'), (found) => found.length > 0, {
          what: 'the job runner started again',
          timeoutMs: RETRIES_MS,
        });
        // The runner says it started before its first passes are queued: wait for the pass, not the line.
        const refreshPasses = async () =>
          (
            await db.raw(
              "SELECT count(*)::int AS n FROM google_integration_jobs.jobs WHERE key = 'refresh_due_tokens'",
            )
          ).rows[0].n as number;
        await until(refreshPasses, (n) => n >= 1, { what: 'the refresh pass queued', timeoutMs: RETRIES_MS });
      } finally {
        await locker.query('ROLLBACK').catch(() => {});
        await db.client.releaseConnection(locker);
        await sidecar?.close();
      }
    },
    3 * RETRIES_MS,
  );
});
