/**
 * The PostgreSQL the project brings for machines without one (scripts/embedded-postgres.sh): it
 * starts from nothing on 127.0.0.1 with trust authentication for `postgres`, keeps its data across
 * a stop and a start, and stops. Run on a port and folder of its own, beside the machine's server.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'embedded-postgres.sh');
let dir: string | undefined;
let port = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return free;
}

const run = (command: string) =>
  promisify(execFile)('bash', [SCRIPT, command], {
    env: { ...process.env, EMBEDDED_PG_PORT: String(port), EMBEDDED_PG_DIR: dir },
    timeout: 120_000,
  });

async function query<T>(database: string, text: string): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  if (!dir) return;
  await run('stop').catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe('scripts/embedded-postgres.sh', () => {
  it('starts a server from nothing, keeps its data across a restart, and stops', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gi-embedded-pg-'));
    port = await freePort();
    await run('start');
    const [version] = await query<{ server_version: string }>('postgres', 'SHOW server_version');
    expect(version?.server_version).toMatch(/^18\./);
    await query('postgres', 'CREATE DATABASE kept');
    await run('stop');
    await expect(query('postgres', 'SELECT 1')).rejects.toThrow();
    await run('start');
    const rows = await query<{ datname: string }>(
      'postgres',
      "SELECT datname FROM pg_database WHERE datname = 'kept'",
    );
    expect(rows).toEqual([{ datname: 'kept' }]);
  }, 180_000);
});
