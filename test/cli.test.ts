import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, sidecarEnv } from './support/env.js';
import {
  cloneDatabase,
  connect,
  createDatabase,
  dropDatabase,
  POSTGRES_URI,
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

describe('tryton-google serve --help', () => {
  const root = join(import.meta.dirname, '..');

  /** The variables of src/config.ts's schema: the keys of `envSchema = z.object({...})`. */
  function schemaVariables(): string[] {
    const source = readFileSync(join(root, 'src', 'config.ts'), 'utf8');
    const start = source.indexOf('const envSchema = z.object({');
    const body = source.slice(start, source.indexOf('\n});', start));
    return [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1] as string);
  }

  /** docs/contracts.md, "Sidecar environment": name, required, default of each row. */
  function documentedVariables(): { name: string; required: boolean; fallback: string }[] {
    const contracts = readFileSync(join(root, 'docs', 'contracts.md'), 'utf8');
    const start = contracts.indexOf('### Sidecar environment');
    const section = contracts.slice(start, contracts.indexOf('\n### ', start + 1));
    return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| (yes|no) \| (?:`([^`]*)`)? *\|/gm)].map(
      (match) => ({
        name: match[1] as string,
        required: match[2] === 'yes',
        fallback: match[3] ?? '',
      }),
    );
  }

  it('lists every variable of the configuration schema, each as docs/contracts.md documents it', async () => {
    const result = await runCommand(['serve', '--help'], {});
    expect(result.code).toBe(0);
    const listed = [...result.stdout.matchAll(/^ {2}([A-Z][A-Z0-9_]*)\b/gm)].map((match) => match[1]);
    const schema = schemaVariables();
    expect(schema.length).toBeGreaterThan(15);
    expect(schema).toContain('TRYTOND_URL');
    // Every variable of the schema, and none it does not read (PGUSER: read beside the schema).
    expect([...listed].sort()).toEqual([...schema, 'PGUSER'].sort());
    const documented = documentedVariables();
    expect(documented.map((row) => row.name).sort()).toEqual([...schema].sort());
    for (const { name, required, fallback } of documented) {
      const line = result.stdout
        .split('\n')
        .find((text) => text.startsWith(`  ${name} `) || text === `  ${name}`);
      expect(line, name).toBe(
        required ? `  ${name} (required)` : fallback ? `  ${name} (default ${fallback})` : `  ${name}`,
      );
    }
  });
});

describe('tryton-google <command> --environment-file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gi-env-file-'));

  it('reads the configuration from the file, whose variables replace the environment', async () => {
    const database = uniqueName('gi_test_env_file');
    await createDatabase(database);
    try {
      const file = join(dir, 'sidecar.env');
      writeFileSync(
        file,
        `# the demo writes such a file\nDATABASE_URI=${POSTGRES_URI}\nSIDECAR_DATABASES=${database}\n`,
      );
      // The environment's DATABASE_URI points nowhere: only the file's can migrate.
      const result = await runCommand(['migrate', '--environment-file', file], {
        DATABASE_URI: 'postgresql://postgres@127.0.0.1:1/',
        LOG_LEVEL: 'info',
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(database);
      expect(result.stdout).toContain('migrations applied');
    } finally {
      await dropDatabase(database);
    }
  });

  it('gives doctor its configuration, and names a missing file', async () => {
    const file = join(dir, 'short-key.env');
    writeFileSync(file, `DATABASE_URI=${POSTGRES_URI}\nSIDECAR_API_KEY=short\n`);
    const doctor = await runCommand(['doctor', `--environment-file=${file}`], {});
    expect(doctor.code).toBe(78);
    expect(doctor.stdout).toContain('SIDECAR_API_KEY: must be at least 32 characters');
    expect(doctor.stdout).not.toContain('DATABASE_URI');
    const missing = await runCommand(['doctor', '--environment-file', join(dir, 'absent.env')], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot read --environment-file: ENOENT`);
    expect(missing.stderr).toContain(join(dir, 'absent.env'));
    const without = await runCommand(['doctor', '--environment-file'], {});
    expect(without.code).toBe(64);
    expect(without.stderr).toContain('--environment-file needs a PATH');
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
