import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, sidecarEnv } from './support/env.js';
import {
  cloneDatabase,
  connect,
  createDatabase,
  dropDatabase,
  STANDALONE_TEMPLATE,
  uniqueName,
} from './support/postgres.js';
import { runCommand, startServe } from './support/processes.js';
import { call } from './support/rpc.js';

describe('tryton-google serve', () => {
  let database: string;
  beforeAll(async () => {
    database = await cloneDatabase(STANDALONE_TEMPLATE);
  });
  afterAll(async () => {
    await dropDatabase(database);
  });

  it('exits non-zero naming each bad variable', async () => {
    const result = await runCommand(
      ['serve'],
      sidecarEnv({
        SIDECAR_API_KEY: undefined,
        SIDECAR_PUBLIC_URL: 'nope',
        SIDECAR_ENCRYPTION_KEYS: 'c2hvcnQ=',
      }),
    );
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('SIDECAR_API_KEY: is required');
    expect(result.stderr).toContain('SIDECAR_PUBLIC_URL: must be an http(s) URL');
    expect(result.stderr).toContain('SIDECAR_ENCRYPTION_KEYS: key #1 is not base64 of exactly 32 bytes');
    expect(result.stderr).not.toContain('DATABASE_URI');
  });

  it('serves /readyz and authenticated JSON-RPC, then stops cleanly on SIGTERM', async () => {
    const sidecar = await startServe(sidecarEnv({ SIDECAR_DATABASES: database }));
    try {
      const ready = await fetch(`${sidecar.url}/readyz`);
      expect(await ready.json()).toEqual({ status: 'ready', databases: { [database]: 'ok' } });
      const db = connect(database);
      const [row] = await db('google_integration_google_credentials')
        .insert({ name: 'cli', state: 'without_authorization' })
        .returning('id');
      await db.destroy();
      const { result } = await call(sidecar.url, 'credentials.status', { database, credential_id: row.id });
      expect(result?.state).toBe('without_authorization');
      const unauthenticated = await fetch(`${sidecar.url}/rpc`, { method: 'POST', body: '{}' });
      expect(unauthenticated.status).toBe(401);
    } finally {
      expect(await sidecar.stop()).toBe(0);
    }
    expect(sidecar.output()).toContain('"msg":"shut down"');
    expect(sidecar.output()).not.toContain(API_KEY);
  });

  it('answers /readyz with 503 when PostgreSQL is unreachable', async () => {
    const sidecar = await startServe(sidecarEnv({ DATABASE_URI: 'postgresql://postgres@127.0.0.1:1/' }));
    try {
      const ready = await fetch(`${sidecar.url}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      await sidecar.stop();
    }
  });
});

describe('tryton-google migrate', () => {
  const names = [uniqueName('gi_test_migrate'), uniqueName('gi_test_migrate')];
  beforeAll(async () => {
    for (const name of names) await createDatabase(name);
  });
  afterAll(async () => {
    for (const name of names) await dropDatabase(name);
  });

  it('migrates each --database, and a second run changes nothing', async () => {
    const env = sidecarEnv({ LOG_LEVEL: 'info' });
    const args = ['migrate', ...names.flatMap((name) => ['--database', name])];
    const first = await runCommand(args, env);
    expect(first.code).toBe(0);
    expect(first.stdout.match(/migrations applied/g)).toHaveLength(2);
    const second = await runCommand(args, env);
    expect(second.code).toBe(0);
    expect(second.stdout.match(/already up to date/g)).toHaveLength(2);
    for (const name of names) {
      const db = connect(name);
      const tables = await db.raw(
        `SELECT table_schema, table_name FROM information_schema.tables
         WHERE table_name IN ('google_integration_google_credentials', 'knex_migrations') ORDER BY 1`,
      );
      await db.destroy();
      expect(tables.rows).toEqual([
        { table_schema: 'google_integration_sidecar', table_name: 'knex_migrations' },
        { table_schema: 'public', table_name: 'google_integration_google_credentials' },
      ]);
    }
  });

  it('uses SIDECAR_DATABASES without --database, and refuses to guess without either', async () => {
    const withList = await runCommand(
      ['migrate'],
      sidecarEnv({ SIDECAR_DATABASES: names[0], LOG_LEVEL: 'info' }),
    );
    expect(withList.code).toBe(0);
    expect(withList.stdout).toContain(names[0]);
    const without = await runCommand(['migrate'], { DATABASE_URI: sidecarEnv().DATABASE_URI });
    expect(without.code).toBe(64);
    expect(without.stderr).toContain('--database NAME or SIDECAR_DATABASES');
    const bad = await runCommand(['migrate', '--database', 'bad name'], sidecarEnv());
    expect(bad.code).toBe(64);
  });
});
