/**
 * What every figure runs against: a database of the bench's own (created, migrated with the built
 * `migrate` command, dropped at the end), the emulator as a child process, the sidecar's environment and
 * credentials authorized through the emulator's consent page as a user would.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import pg from 'pg';
import { consent, followRedirect } from '../../test/support/consent.js';
import type { Build } from './build.js';
import { type Child, spawnServer } from './children.js';

export const POSTGRES_URI = process.env.TEST_POSTGRES_URI ?? 'postgresql://postgres@127.0.0.1:5432/';
export const API_KEY = randomBytes(32).toString('hex');
const ENCRYPTION_KEY = randomBytes(32).toString('base64');
export const CREDENTIALS_TABLE = 'google_integration_google_credentials';
const CLIENT = { id: 'bench.apps.googleusercontent.com', secret: `bench-${randomBytes(12).toString('hex')}` };

export function databaseUri(database: string): string {
  const url = new URL(POSTGRES_URI);
  url.pathname = `/${database}`;
  return url.toString();
}

/** One statement on `database` over a short-lived connection. */
export async function sql(database: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: databaseUri(database) });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

export async function createDatabase(build: Build): Promise<string> {
  const database = `gi_bench_${randomBytes(4).toString('hex')}`;
  await sql('postgres', `CREATE DATABASE "${database}"`);
  await promisify(execFile)(process.execPath, [build.cli, 'migrate', '--database', database], {
    env: { ...process.env, DATABASE_URI: POSTGRES_URI, LOG_LEVEL: 'warn' },
  });
  return database;
}

export async function dropDatabase(database: string): Promise<void> {
  await sql('postgres', `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
}

export interface Emulator extends Child {
  control(path: string, body?: unknown): Promise<unknown>;
  /** Refresh-token grants that reached the token endpoint so far. */
  refreshes(): Promise<number>;
}

export async function startEmulator(build: Build): Promise<Emulator> {
  const child = await spawnServer(build.cli, {
    name: 'emulator',
    args: ['emulator', '--port', '$PORT'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
    readyPath: '/__emulator/stats',
  });
  const control = async (path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${child.url}/__emulator${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`emulator ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return {
    ...child,
    control,
    refreshes: async () => {
      const stats = (await control('/stats')) as { token?: { refresh_token?: number } };
      return Number(stats.token?.refresh_token ?? 0);
    },
  };
}

export function sidecarEnv(emulatorUrl: string, database: string, logLevel = 'info'): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    DATABASE_URI: POSTGRES_URI,
    SIDECAR_API_KEY: API_KEY,
    SIDECAR_PUBLIC_URL: 'http://127.0.0.1:8765',
    SIDECAR_ENCRYPTION_KEYS: ENCRYPTION_KEY,
    SIDECAR_DATABASES: database,
    // No background pass during the run: every refresh counted is one a caller caused.
    SIDECAR_REFRESH_INTERVAL: '3600',
    LOG_LEVEL: logLevel,
    GOOGLE_AUTH_URL: `${emulatorUrl}/o/oauth2/v2/auth`,
    GOOGLE_TOKEN_URL: `${emulatorUrl}/token`,
    GOOGLE_REVOKE_URL: `${emulatorUrl}/revoke`,
    GOOGLE_USERINFO_URL: `${emulatorUrl}/v1/userinfo`,
    GOOGLE_API_ROOT_URL: `${emulatorUrl}/`,
  };
}

export interface RpcAnswer {
  readonly result?: { readonly authorization_url?: string } & Record<string, unknown>;
  readonly error?: { code: number; message: string; data?: { type?: string } };
}

export function rpcBody(method: string, params: unknown): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
}

export const RPC_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };

export async function rpc(url: string, method: string, params: unknown, signal?: AbortSignal) {
  const response = await fetch(`${url}/rpc`, {
    method: 'POST',
    headers: RPC_HEADERS,
    body: rpcBody(method, params),
    ...(signal ? { signal } : {}),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  return JSON.parse(text) as RpcAnswer;
}

/**
 * Creates `count` credentials and authorizes each through `sidecar` and the emulator's consent page
 * (request_authorization, consent, callback), a few at a time. Returns their ids.
 */
export async function authorizedCredentials(
  sidecarUrl: string,
  emulator: Emulator,
  database: string,
  count: number,
): Promise<number[]> {
  const redirect = `${sidecarUrl}/${database}/google/callback`;
  await emulator.control('/clients', {
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
    redirect_uris: [redirect],
  });
  const values = Array.from({ length: count }, (_, index) => [`bench ${index + 1}`]);
  const inserted = await sql(
    database,
    `INSERT INTO ${CREDENTIALS_TABLE} (name, state, client_id, client_secret, redirect_uri, scopes)
     SELECT name, 'without_authorization', $2, $3, $4, 'https://www.googleapis.com/auth/calendar'
     FROM unnest($1::text[]) AS name RETURNING id`,
    [values.flat(), CLIENT.id, CLIENT.secret, redirect],
  );
  const ids = inserted.rows.map((row) => Number(row.id));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ids.length) {
        const id = ids[next++] as number;
        const request = await rpc(sidecarUrl, 'credentials.request_authorization', {
          database,
          credential_id: id,
        });
        if (!request.result) throw new Error(`request_authorization: ${JSON.stringify(request.error)}`);
        const callback = await followRedirect(
          (await consent(request.result.authorization_url as string)).redirect,
        );
        if (callback.status !== 200) throw new Error(`callback answered ${callback.status}`);
      }
    }),
  );
  const authorized = await sql(
    database,
    `SELECT count(*)::int AS n FROM ${CREDENTIALS_TABLE} WHERE id = ANY($1) AND state = 'authorized'`,
    [ids],
  );
  if (authorized.rows[0].n !== count) throw new Error(`only ${authorized.rows[0].n}/${count} authorized`);
  return ids;
}
