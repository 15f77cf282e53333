/**
 * A real trytond 8.0 server for tests (the project's virtualenv), and a JSON-RPC client that logs in
 * as a Tryton user: tests that change Tryton's records do it through Tryton's ORM, as the web client
 * does, never by SQL.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_KEY } from './env.js';
import { POSTGRES_URI } from './postgres.js';
import { ROOT } from './tryton.js';

const TRYTOND = join(process.env.GOOGLE_INTEGRATION_VENV ?? join(ROOT, '.venv'), 'bin', 'trytond');

export interface TrytondProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * Starts trytond on `configFile` for `database`, and waits until `ready(url)` answers (by default:
 * its JSON-RPC answers the server version).
 */
export async function startTrytond(
  configFile: string,
  database: string,
  url: string,
  ready: (url: string) => Promise<boolean> = serverAnswers,
): Promise<TrytondProcess> {
  // `-d` loads the database's pool before listening. Without it trytond 8.0.12 answers the first
  // login on a database with the error "'res.user'": Cache.sync's Pool() registers an empty pool
  // for the database, so security.login takes it as loaded.
  const child = spawn(TRYTOND, ['-c', configFile, '-d', database], {
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await once(child, 'exit');
    clearTimeout(timer);
  };
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`trytond exited with ${child.exitCode}:\n${output}`);
    if (await ready(url).catch(() => false)) break;
    if (performance.now() > deadline) {
      await stop();
      throw new Error(`trytond did not answer at ${url} within 60 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, child, output: () => output, stop };
}

async function serverAnswers(url: string): Promise<boolean> {
  const response = await fetch(`${url}/rpc/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 0, method: 'common.server.version', params: [] }),
  });
  return response.ok;
}

export interface TrytondConfig {
  /** Where trytond listens. */
  readonly url: string;
  readonly sidecarUrl: string;
  /** Default: the tests' own. */
  readonly apiKey?: string;
  readonly databaseUri?: string;
  /** More lines of the [web] section (e.g. `root = ...` to serve sao). */
  readonly web?: readonly string[];
  /** More sections, after [web]. */
  readonly sections?: readonly string[];
  /** More lines of the [google_integration] section. */
  readonly googleIntegration?: readonly string[];
}

/** trytond's configuration file for a test or a bench: the database server, and the sidecar it calls. */
export function writeTrytondConfig(folder: string, options: TrytondConfig): string {
  const configFile = join(folder, 'trytond.conf');
  writeFileSync(
    configFile,
    [
      '[database]',
      `uri = ${options.databaseUri ?? POSTGRES_URI}`,
      // The login asks for the database by name instead of listing every database on the server
      // (other tests create and drop theirs meanwhile).
      'list = False',
      '[web]',
      `listen = ${new URL(options.url).host}`,
      ...(options.web ?? []),
      ...(options.sections ?? []),
      '[google_integration]',
      `sidecar_url = ${options.sidecarUrl}`,
      `sidecar_api_key = ${options.apiKey ?? API_KEY}`,
      ...(options.googleIntegration ?? []),
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return configFile;
}

/** A Tryton user's session over JSON-RPC: `call('model.x.create', [[values], {}])`. */
export class TrytonSession {
  private constructor(
    private readonly url: string,
    private readonly database: string,
    private readonly authorization: string,
  ) {}

  static async login(
    url: string,
    database: string,
    login = 'admin',
    password = 'admin',
  ): Promise<TrytonSession> {
    const answer = await rpc(`${url}/${database}/rpc/`, undefined, 'common.db.login', [
      login,
      { password },
      'en',
    ]);
    const [userId, token] = answer as [number, string];
    return new TrytonSession(
      url,
      database,
      `Session ${Buffer.from(`${login}:${userId}:${token}`).toString('base64')}`,
    );
  }

  /** A method of a model, with the user's context; Tryton's errors are thrown with their message. */
  call(method: string, params: unknown[]): Promise<any> {
    return rpc(`${this.url}/${this.database}/rpc/`, this.authorization, method, params);
  }
}

export class TrytonError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

async function rpc(endpoint: string, authorization: string | undefined, method: string, params: unknown[]) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: unknown; error?: [string, unknown] };
  if (body.error) {
    const [type, detail] = body.error;
    throw new TrytonError(type, `${method}: ${type} ${JSON.stringify(detail)}`);
  }
  return body.result;
}

/** A folder for a trytond's files, removed by the returned function. */
export function scratchFolder(prefix: string): { folder: string; remove: () => void } {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  return { folder, remove: () => rmSync(folder, { recursive: true, force: true }) };
}

/**
 * trytond serving a stack's database, calling the stack's sidecar, and its admin logged in as a
 * member of the "Google Calendar" group (who makes appointments, as a user of the web client does).
 */
export async function trytonFor(stack: {
  readonly database: string;
  readonly sidecar: { readonly url: string };
}): Promise<{ readonly tryton: TrytonSession; stop(): Promise<void> }> {
  const scratch = scratchFolder('gi-trytond-');
  const url = `http://127.0.0.1:${await freePort()}`;
  const server = await startTrytond(
    writeTrytondConfig(scratch.folder, { url, sidecarUrl: stack.sidecar.url }),
    stack.database,
    url,
  );
  const stop = async () => {
    await server.stop();
    scratch.remove();
  };
  try {
    const admin = await TrytonSession.login(url, stack.database);
    const search = (model: string, domain: unknown[]) =>
      admin.call(`model.${model}.search`, [domain, 0, 1, null, {}]) as Promise<number[]>;
    const [group] = await search('res.group', [['name', '=', 'Google Calendar']]);
    const [user] = await search('res.user', [['login', '=', 'admin']]);
    await admin.call('model.res.user.write', [[user], { groups: [['add', [group]]] }, {}]);
    // A new session: the groups of a user are read at login.
    return { tryton: await TrytonSession.login(url, stack.database), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A UTC instant as trytond's JSON-RPC carries a naive datetime (Tryton's Timestamps are naive UTC). */
export function trytonDateTime(iso: string): Record<string, unknown> {
  const value = new Date(iso);
  return {
    __class__: 'datetime',
    year: value.getUTCFullYear(),
    month: value.getUTCMonth() + 1,
    day: value.getUTCDate(),
    hour: value.getUTCHours(),
    minute: value.getUTCMinutes(),
    second: value.getUTCSeconds(),
    microsecond: 0,
  };
}

/** A `YYYY-MM-DD` date as trytond's JSON-RPC carries it. */
export function trytonDate(iso: string): Record<string, unknown> {
  return {
    __class__: 'date',
    year: Number(iso.slice(0, 4)),
    month: Number(iso.slice(5, 7)),
    day: Number(iso.slice(8, 10)),
  };
}
