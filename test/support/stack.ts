import type { Knex } from 'knex';
import { loadConfig } from '../../src/config.js';
import { TokenCipher } from '../../src/crypto/token-cipher.js';
import { emulatorEndpoints, type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { consent, followRedirect } from './consent.js';
import { emulatorControl, registerClient } from './emulator-client.js';
import { sidecarEnv } from './env.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from './postgres.js';
import { type SidecarProcess, startServe } from './processes.js';
import { call } from './rpc.js';
import { until } from './wait.js';

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
const TABLE = 'google_integration_google_credentials';

export interface Stack {
  readonly database: string;
  readonly db: Knex;
  readonly emulator: RunningEmulator;
  readonly sidecar: SidecarProcess;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly env: NodeJS.ProcessEnv;
  createCredential(values?: Record<string, unknown>): Promise<number>;
  /** A new credential taken through the whole consent, so it holds tokens the emulator issued. */
  authorizedCredential(email?: string): Promise<number>;
  /** Makes the stored access tokens of `ids` look expired to the sidecar. */
  expire(ids: readonly number[]): Promise<void>;
  row(id: number): Promise<Record<string, any>>;
  rpc(method: string, params: Record<string, unknown>): ReturnType<typeof call>;
  /** The emulator's control API (emulator-client.ts): a GET without `body`, a POST with it. */
  control(path: string, body?: unknown): Promise<any>;
  /** Another replica on the same databases; `env` changes its settings (another port, say). */
  startAnotherSidecar(env?: Record<string, string>): Promise<SidecarProcess>;
  /**
   * Stops the sidecar `rpc` talks to with `signal` (SIGKILL: as a crash would) and starts another in
   * its place; the stopped one's output stays in `logs()`.
   */
  replaceSidecar(signal?: NodeJS.Signals): Promise<SidecarProcess>;
  /** Every log line the sidecars printed so far. */
  logs(): string;
  /**
   * Resolves once the sidecar `rpc` talks to has its job runner: the sidecar says it listens
   * before its runner is up, and graphile-worker makes its schema (`google_integration_jobs`) as
   * the runner starts, one migration after another.
   */
  jobsStarted(): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(
  options: { env?: Record<string, string>; template?: string } = {},
): Promise<Stack> {
  // A Tryton database (options.template) where a test needs the module's other tables.
  const database = await cloneDatabase(options.template ?? STANDALONE_TEMPLATE, 'gi_test_oauth');
  const db = connect(database);
  const emulator = await startEmulator();
  const env = sidecarEnv({ ...emulatorEndpoints(emulator.url), SIDECAR_DATABASES: database, ...options.env });
  const sidecars: SidecarProcess[] = [await startServe(env)];
  const sidecar = sidecars[0] as SidecarProcess;
  let current = sidecar;
  const request = emulatorControl(emulator.url);
  const control = (path: string, body?: unknown) => request(path, body === undefined ? 'GET' : 'POST', body);
  const { clientId, clientSecret } = await registerClient(emulator.url, [
    `${sidecar.url}/${database}/google/callback`,
    `${sidecar.url}/google/callback`,
  ]);
  const stack: Stack = {
    database,
    db,
    emulator,
    get sidecar() {
      return current;
    },
    clientId,
    clientSecret,
    env,
    async createCredential(values = {}) {
      const [row] = await db(TABLE)
        .insert({
          name: 'Calendar of the sales team',
          state: 'without_authorization',
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uri: `${sidecar.url}/${database}/google/callback`,
          scopes: CALENDAR_SCOPE,
          sync_enabled: false,
          ...values,
        })
        .returning('id');
      return row.id as number;
    },
    async authorizedCredential(email = 'calendar.owner@example.com') {
      const id = await stack.createCredential();
      const { result } = await stack.rpc('credentials.request_authorization', { credential_id: id });
      const { redirect } = await consent(result.authorization_url, { email });
      const page = await followRedirect(redirect);
      if (page.status !== 200) throw new Error(`callback answered ${page.status}`);
      return id;
    },
    async expire(ids) {
      await db(TABLE)
        .whereIn('id', ids)
        .update({ token_expiry: db.raw("timezone('UTC', now()) - interval '1 minute'") });
    },
    async row(id) {
      return db(TABLE).where({ id }).first();
    },
    rpc: (method, params) => call(current.url, method, { database, ...params }),
    control,
    async startAnotherSidecar(overrides = {}) {
      const another = await startServe({ ...env, ...overrides });
      sidecars.push(another);
      return another;
    },
    async replaceSidecar(signal = 'SIGTERM') {
      await current.stop(signal);
      current = await startServe(env);
      sidecars.push(current);
      return current;
    },
    logs: () => sidecars.map((process) => process.output()).join('\n'),
    async jobsStarted() {
      await until(
        async () => current.output().includes('"msg":"job runner started"'),
        (started) => started,
        { what: 'the job runner started' },
      );
    },
    async stop() {
      await Promise.all(sidecars.map((process) => process.stop()));
      await emulator.close();
      await db.destroy();
      await dropDatabase(database);
    },
  };
  return stack;
}

/** Every secret the emulator handed out or holds for this client, to grep logs and pages for. */
export function secretsOf(stack: Stack, extra: readonly string[] = []): string[] {
  return [stack.clientSecret, ...stack.emulator.state.issuedSecrets(), ...extra].filter(
    (value) => value.length >= 8,
  );
}

/** The plaintext of a sealed column, opened with the stack's own key (to look for leaks). */
export function unseal(stack: Stack, row: Record<string, any>, column: string): string {
  const cipher = new TokenCipher(loadConfig(stack.env).encryptionKeys);
  return cipher.open(row[column], { column, id: row.id });
}

/**
 * Waits until `count` passes of the periodic job `task` (`refresh_due_tokens`, `sync_calendars`),
 * begun after this call, have ended: the event that proves a "nothing happens" moment passed,
 * however slow the machine. A pass queues its successor under the job's key as it ends (graphile-
 * worker takes the key off the running job and inserts a new row, with a higher id), so each change
 * of the id under the key is one pass ended; a pass already running (locked) at the call began
 * before it and does not count.
 */
export async function passesEnded(stack: Stack, task: string, count = 1): Promise<void> {
  await stack.jobsStarted();
  const keyed = () =>
    stack
      .db('google_integration_jobs.jobs')
      .where({ key: task })
      .first<{ id: string; locked_at: Date | null }>('id', 'locked_at');
  const first = await until(keyed, (row) => row !== undefined, { what: `a queued ${task} job` });
  let seen = String(first.id);
  for (let ends = first.locked_at === null ? count : count + 1; ends > 0; ends--) {
    const last = seen;
    const next = await until(keyed, (row) => row !== undefined && String(row.id) !== last, {
      what: `the ${task} pass after job ${last} to end`,
    });
    seen = String(next.id);
  }
}
