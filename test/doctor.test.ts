/**
 * `tryton-google doctor` as built (bin/tryton-google.js): one test per misconfiguration it claims to
 * find, each with the rest of the setup sound, and the all-well case. Its own databases only, always
 * named (--database or SIDECAR_DATABASES): the doctor never scans the server here. Google is the emulator.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { keysOpen } from '../src/credentials/key-check.js';
import { TokenCipher } from '../src/crypto/token-cipher.js';
import { migrateLatest } from '../src/db/migrate.js';
import { parseSection, readTrytondOptions } from '../src/doctor/trytond-config.js';
import { emulatorEndpoints, type RunningEmulator, startEmulator } from '../src/emulator/server.js';
import { API_KEY, sidecarEnv } from './support/env.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from './support/postgres.js';
import { runCommand, type SidecarProcess, startServe } from './support/processes.js';
import { trytonTemplate } from './support/tryton.js';

interface Finding {
  check: string;
  subject?: string;
  status: 'ok' | 'problem' | 'skipped';
  message: string;
  fix?: string;
}

const PUBLIC_URL = 'http://127.0.0.1:8765';
const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');
const keyId = (key: string) => loadConfig(sidecarEnv({ SIDECAR_ENCRYPTION_KEYS: key })).encryptionKeys[0]?.id;

let emulator: RunningEmulator;
/** Standalone (sidecar's migrations only), holding sealed tokens and the key_check marker under KEY_A. */
let standalone: string;
/** Tryton, module activated, migrated. */
let tryton: string;
/** Tryton, module activated, the sidecar's migrations never run. */
let unmigrated: string;
/** Tryton, migrated, google_integration deactivated. */
let inactive: string;
const created: string[] = [];

function env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return sidecarEnv({
    ...emulatorEndpoints(emulator.url),
    SIDECAR_PUBLIC_URL: PUBLIC_URL,
    SIDECAR_ENCRYPTION_KEYS: KEY_A,
    SIDECAR_DATABASES: `${standalone},${tryton}`,
    SIDECAR_GOOGLE_TIMEOUT: '2',
    SIDECAR_DATABASE_TIMEOUT: '2',
    ...overrides,
  });
}

async function doctor(args: string[], environment: NodeJS.ProcessEnv) {
  const result = await runCommand(['doctor', '--json', ...args], environment);
  const report = JSON.parse(result.stdout) as { status: string; exit_code: number; checks: Finding[] };
  const problems = report.checks.filter((finding) => finding.status === 'problem');
  return { ...result, report, problems, text: result.stdout };
}

const where = (findings: Finding[]) =>
  findings.map((finding) => `${finding.check} ${finding.subject ?? ''}`.trim());

/** A port nothing listens on (fetch refuses port 1 itself as a "bad port", so a real closed one). */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function trytondConfig(options: Record<string, string>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gi-doctor-')), 'trytond.conf');
  const lines = Object.entries(options).map(([key, value]) => `${key} = ${value}`);
  writeFileSync(
    file,
    `[database]\nuri = postgresql://postgres@127.0.0.1:5432/\n\n[google_integration]\n${lines.join('\n')}\n`,
  );
  return file;
}

beforeAll(async () => {
  emulator = await startEmulator();
  const template = await trytonTemplate();
  standalone = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_doctor');
  tryton = await cloneDatabase(template, 'gi_test_doctor');
  unmigrated = await cloneDatabase(template, 'gi_test_doctor');
  inactive = await cloneDatabase(template, 'gi_test_doctor');
  created.push(standalone, tryton, unmigrated, inactive);
  const cipher = new TokenCipher(loadConfig(env()).encryptionKeys);
  const db = connect(standalone);
  try {
    const rows = [
      { name: 'Sales', redirect_uri: `${PUBLIC_URL}/${standalone}/google/callback` },
      { name: 'Support', redirect_uri: `${PUBLIC_URL}/google/callback` },
    ];
    for (const row of rows) {
      const [{ id }] = await db('google_integration_google_credentials')
        .insert({ ...row, state: 'authorized', client_id: 'client', client_secret: 'secret' })
        .returning('id');
      await db('google_integration_google_credentials')
        .where({ id })
        .update({
          access_token: cipher.seal(`access-${id}`, { column: 'access_token', id }),
          refresh_token: cipher.seal(`refresh-${id}`, { column: 'refresh_token', id }),
        });
    }
    expect(await keysOpen(cipher, db)).toBe(true);
  } finally {
    await db.destroy();
  }
  for (const name of [tryton, inactive]) {
    const knex = connect(name);
    try {
      await migrateLatest(knex);
      if (name === inactive)
        await knex('ir_module').where({ name: 'google_integration' }).update({ state: 'not activated' });
    } finally {
      await knex.destroy();
    }
  }
});

afterAll(async () => {
  await emulator?.close();
  for (const name of created) await dropDatabase(name);
});

describe('tryton-google doctor', () => {
  it('is all well: exit 0, every check ok or skipped with a reason, trytond reaching a running sidecar', async () => {
    const sidecar: SidecarProcess = await startServe(env());
    try {
      const config = trytondConfig({
        sidecar_url: sidecar.url,
        sidecar_api_key: API_KEY,
        sidecar_public_url: `${PUBLIC_URL}/`,
      });
      const result = await runCommand(['doctor', '--trytond-config', config], env());
      expect(result.stdout).toMatch(/^all well: \d+ ok, 1 skipped$/m);
      expect(result.code).toBe(0);
      // One line per check, plus the summary.
      const lines = result.stdout.trim().split('\n');
      expect(lines.every((line) => /^(ok|skipped|problem) /.test(line) || line.startsWith('all well'))).toBe(
        true,
      );
      for (const expected of [
        `ok       database ${tryton}: answers`,
        `ok       migrations ${tryton}: up to date`,
        `ok       module ${tryton}: google_integration is activated`,
        `skipped  module ${standalone}: not a Tryton database`,
        `ok       keys ${standalone}: the key_check marker opens (key ${keyId(KEY_A)}, the current one)`,
        `ok       tokens ${standalone}: all 4 sealed values open`,
        `ok       redirect-uris ${standalone}: all 2 under SIDECAR_PUBLIC_URL`,
        'ok       google GOOGLE_TOKEN_URL',
        'ok       google GOOGLE_API_ROOT_URL',
        'ok       trytond sidecar_url',
        'ok       trytond sidecar_api_key: equals SIDECAR_API_KEY and the sidecar accepts it',
        'ok       trytond sidecar_public_url',
      ]) {
        expect(result.stdout).toContain(expected);
      }
      expect(result.stdout).not.toContain(API_KEY);

      const json = await doctor(['--trytond-config', config], env());
      expect(json.code).toBe(0);
      expect(json.report.status).toBe('ok');
      expect(json.problems).toEqual([]);
    } finally {
      await sidecar.stop();
    }
  });

  it('names every bad variable, exits 78 and echoes no secret', async () => {
    const badKey = randomBytes(16).toString('base64');
    const environment = env({
      SIDECAR_API_KEY: undefined,
      SIDECAR_PUBLIC_URL: 'nope',
      SIDECAR_ENCRYPTION_KEYS: badKey,
    });
    const text = await runCommand(['doctor'], environment);
    expect(text.code).toBe(78);
    expect(text.stdout).toContain(
      'problem  configuration SIDECAR_API_KEY: is required. Fix: set SIDECAR_API_KEY=',
    );
    expect(text.stdout).toContain('problem  configuration SIDECAR_PUBLIC_URL: must be an http(s) URL');
    expect(text.stdout).toContain(
      'problem  configuration SIDECAR_ENCRYPTION_KEYS: key #1 is not base64 of exactly 32 bytes',
    );
    expect(text.stdout).not.toContain(badKey);
    const json = await doctor([], environment);
    expect(json.code).toBe(78);
    expect(where(json.problems)).toEqual([
      'configuration SIDECAR_API_KEY',
      'configuration SIDECAR_PUBLIC_URL',
      'configuration SIDECAR_ENCRYPTION_KEYS',
    ]);
  });

  it('finds a database that does not exist, and a PostgreSQL server it cannot reach', async () => {
    const missing = `gi_test_doctor_missing_${randomBytes(4).toString('hex')}`;
    const absent = await doctor(['--database', missing], env());
    expect(absent.code).toBe(1);
    expect(where(absent.problems)).toEqual([`database ${missing}`]);
    expect(absent.problems[0]?.message).toContain('does not exist');
    expect(absent.problems[0]?.fix).toContain('remove it from SIDECAR_DATABASES');

    const down = await doctor([], env({ DATABASE_URI: 'postgresql://postgres:hunter2secret@127.0.0.1:1/' }));
    expect(down.code).toBe(1);
    expect(where(down.problems)).toEqual([`database ${standalone}`, `database ${tryton}`]);
    expect(down.problems[0]?.message).toContain('ECONNREFUSED');
    expect(down.problems[0]?.fix).toContain('127.0.0.1:1');
    expect(down.text).not.toContain('hunter2secret');
  });

  it('finds migrations not applied, and changes nothing', async () => {
    const result = await doctor(['--database', unmigrated], env());
    expect(result.code).toBe(1);
    expect(where(result.problems)).toEqual([`migrations ${unmigrated}`]);
    expect(result.problems[0]?.fix).toContain(`tryton-google migrate --database ${unmigrated}`);
    const db = connect(unmigrated);
    const schema = await db.raw(`SELECT to_regclass('google_integration_sidecar.knex_migrations') AS t`);
    await db.destroy();
    expect(schema.rows[0].t).toBeNull();
  });

  it('finds google_integration not activated in a Tryton database', async () => {
    const result = await doctor(['--database', inactive], env());
    expect(result.code).toBe(1);
    expect(where(result.problems)).toEqual([`module ${inactive}`]);
    expect(result.problems[0]?.message).toContain('"not activated"');
    expect(result.problems[0]?.fix).toContain(`-d ${inactive} -u google_integration`);
  });

  it('finds keys that do not open the marker nor the tokens, naming the key they were sealed under', async () => {
    const result = await doctor(['--database', standalone], env({ SIDECAR_ENCRYPTION_KEYS: KEY_B }));
    expect(result.code).toBe(1);
    expect(where(result.problems)).toEqual([`keys ${standalone}`, `tokens ${standalone}`]);
    const [marker, tokens] = result.problems;
    expect(marker?.message).toContain(`under key ${keyId(KEY_A)}, which is not in SIDECAR_ENCRYPTION_KEYS`);
    expect(tokens?.message).toContain(`4 of 4 sealed values do not open`);
    expect(tokens?.message).toContain(
      `4 sealed under key ${keyId(KEY_A)}, which is not in SIDECAR_ENCRYPTION_KEYS`,
    );
    expect(tokens?.fix).toContain(`put the key with id ${keyId(KEY_A)} back into SIDECAR_ENCRYPTION_KEYS`);
    expect(result.text).not.toContain(KEY_A);
    expect(result.text).not.toContain(KEY_B);

    // The old key kept after the new one: all opens, and rotate-keys is suggested.
    const rotated = await doctor(
      ['--database', standalone],
      env({ SIDECAR_ENCRYPTION_KEYS: `${KEY_B},${KEY_A}` }),
    );
    expect(rotated.code).toBe(0);
    expect(rotated.report.checks.find((finding) => finding.check === 'tokens')?.message).toContain(
      'rotate-keys',
    );
  });

  it('finds redirect URIs that do not match SIDECAR_PUBLIC_URL, naming the credential and the change', async () => {
    const result = await doctor(
      ['--database', standalone],
      env({ SIDECAR_PUBLIC_URL: 'https://sidecar.example.com/google/' }),
    );
    expect(result.code).toBe(1);
    expect(where(result.problems)).toEqual([`redirect-uris ${standalone}`, `redirect-uris ${standalone}`]);
    const [sales, support] = result.problems;
    expect(sales?.message).toContain(`"Sales" has redirect URI ${PUBLIC_URL}/${standalone}/google/callback`);
    expect(sales?.fix).toContain(
      `change it to https://sidecar.example.com/google/${standalone}/google/callback`,
    );
    expect(sales?.fix).toContain(`set SIDECAR_PUBLIC_URL=${PUBLIC_URL}`);
    expect(support?.message).toContain('"Support"');
  });

  it("finds Google's endpoints unreachable", async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const result = await doctor(
      ['--database', standalone],
      env({
        GOOGLE_AUTH_URL: `${dead}/auth`,
        GOOGLE_TOKEN_URL: `${dead}/token`,
        GOOGLE_REVOKE_URL: `${dead}/revoke`,
        GOOGLE_USERINFO_URL: `${dead}/userinfo`,
        GOOGLE_API_ROOT_URL: `${dead}/`,
      }),
    );
    expect(result.code).toBe(1);
    expect(where(result.problems).sort()).toEqual(
      [
        'GOOGLE_API_ROOT_URL',
        'GOOGLE_AUTH_URL',
        'GOOGLE_REVOKE_URL',
        'GOOGLE_TOKEN_URL',
        'GOOGLE_USERINFO_URL',
      ].map((variable) => `google ${variable}`),
    );
    expect(result.problems[0]?.message).toContain('ECONNREFUSED');
    expect(result.problems[0]?.fix).toContain('emulator');
  });

  it("finds trytond's sidecar_url unreachable and its sidecar_api_key different, printing neither key", async () => {
    const trytondKey = randomBytes(32).toString('hex');
    const deadSidecar = `http://127.0.0.1:${await closedPort()}`;
    const config = trytondConfig({
      sidecar_url: deadSidecar,
      sidecar_api_key: trytondKey,
      sidecar_public_url: PUBLIC_URL,
    });
    const result = await doctor(['--database', standalone, '--trytond-config', config], env());
    expect(result.code).toBe(1);
    expect(where(result.problems)).toEqual(['trytond sidecar_url', 'trytond sidecar_api_key']);
    expect(result.problems[0]?.message).toContain(`${deadSidecar} does not answer /healthz: ECONNREFUSED`);
    expect(result.problems[1]?.message).toContain('differs from SIDECAR_API_KEY');
    expect(result.problems[1]?.fix).toContain(config);
    expect(result.text).not.toContain(trytondKey);
    expect(result.text).not.toContain(API_KEY);

    // TRYTOND_CONFIG works as --trytond-config does.
    const fromEnv = await doctor(['--database', standalone], env({ TRYTOND_CONFIG: config }));
    expect(where(fromEnv.problems)).toEqual(['trytond sidecar_url', 'trytond sidecar_api_key']);
  });
});

describe("doctor's reading of trytond's configuration", () => {
  it('reads [google_integration] as ConfigParser does, environment variables overriding the files', () => {
    const text = [
      '# comment',
      '[database]',
      'uri = postgresql://elsewhere/',
      '[google_integration]',
      'Sidecar_URL: http://sidecar:8765',
      '; another comment',
      'sidecar_api_key = first',
      '  continued',
      '[web]',
      'sidecar_url = http://wrong/',
    ].join('\n');
    expect(Object.fromEntries(parseSection(text, 'google_integration'))).toEqual({
      sidecar_url: 'http://sidecar:8765',
      sidecar_api_key: 'first\ncontinued',
    });
    const file = join(mkdtempSync(join(tmpdir(), 'gi-doctor-')), 'trytond.conf');
    writeFileSync(file, '[google_integration]\nsidecar_url = http://a/\nsidecar_api_key = from-file\n');
    const options = readTrytondOptions(file, { TRYTOND_GOOGLE_INTEGRATION__SIDECAR_API_KEY: 'from-env' });
    expect(options).toEqual({
      files: [file],
      sidecarUrl: 'http://a/',
      sidecarApiKey: 'from-env',
      sidecarPublicUrl: undefined,
    });
  });

  it('says so when the file cannot be read', async () => {
    const result = await doctor(
      ['--database', standalone, '--trytond-config', '/nonexistent/trytond.conf'],
      env(),
    );
    expect(result.code).toBe(1);
    expect(where(result.problems)).toEqual(['trytond']);
    expect(result.problems[0]?.message).toContain('ENOENT');
  });
});

describe('tryton-google help', () => {
  it('prints help for help, --help and serve --help, without starting anything', async () => {
    for (const args of [['help'], ['--help'], ['serve', '--help'], ['doctor', '--help']]) {
      const result = await runCommand(args, {});
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('usage: tryton-google');
    }
  });

  it('migrate with nothing set says which variable to set, with an example', async () => {
    const result = await runCommand(['migrate'], {});
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('DATABASE_URI: is required');
    expect(result.stderr).toContain('DATABASE_URI=postgresql://');
    expect(result.stderr).not.toContain('nonoptional');
  });
});
