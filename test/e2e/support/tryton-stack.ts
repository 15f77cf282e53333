/**
 * The whole product as an admin meets it: trytond 8.0 serving the web client sao and a database
 * cloned from the template where google_integration is activated, the sidecar (`tryton-google
 * serve`) serving that same database, and the offline Google emulator with one OAuth client.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { emulatorEndpoints, type RunningEmulator, startEmulator } from '../../../src/emulator/server.js';
import { sidecarEnv } from '../../support/env.js';
import { cloneDatabase, connect, dropDatabase } from '../../support/postgres.js';
import { consent, followRedirect } from '../../support/consent.js';
import { registerClient } from '../../support/emulator-client.js';
import { call } from '../../support/rpc.js';
import { type SidecarProcess, startServe } from '../../support/processes.js';
import { ROOT, trytonTemplate } from '../../support/tryton.js';
import { freePort, startTrytond, writeTrytondConfig } from '../../support/trytond.js';

export const SAO_ROOT = join(ROOT, 'e2e', 'sao', 'node_modules', 'tryton-sao');
const TRYTOND = join(process.env.GOOGLE_INTEGRATION_VENV ?? join(ROOT, '.venv'), 'bin', 'trytond');
const TABLE = 'google_integration_google_credentials';

export interface TrytonStack {
  readonly database: string;
  /** Where sao is served (trytond's own port), without a trailing slash. */
  readonly trytonUrl: string;
  readonly sidecarUrl: string;
  readonly emulator: RunningEmulator;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The redirect URI registered at the emulator: the sidecar's callback for this database. */
  readonly redirectUri: string;
  readonly db: Knex;
  credential(name: string): Promise<Record<string, any> | undefined>;
  /**
   * Stops the sidecar and the emulator and starts them again on the same ports, the emulator from
   * its state file, as a restart of `npm start` does: what was authorized must stay usable.
   */
  restartGoogleSide(): Promise<void>;
  /**
   * Credentials of the admin's Google account `email` (its background synchronization off), taken
   * through the consent, and its calendars fetched: returns them and the primary calendar's id.
   */
  adminAccount(email: string): Promise<{ credentialId: number; primaryId: number }>;
  /** What trytond and the sidecar printed, for failure messages. */
  logs(): string;
  /**
   * What the database's sessions are doing and waiting on, for failure messages: a step that
   * timed out on a loaded machine says whether it waited on a lock, on I/O or on nothing.
   */
  sessions(): Promise<string>;
  stop(): Promise<void>;
}

export interface TrytonStackOptions {
  /**
   * The sidecar reaches trytond (its TRYTOND_URL is trytond's address), as the contacts sync needs for
   * the module's route; trytond's port is then chosen before the sidecar starts. Off by default.
   */
  readonly sidecarReachesTryton?: boolean;
}

export async function startTrytonStack(options: TrytonStackOptions = {}): Promise<TrytonStack> {
  const database = await cloneDatabase(await trytonTemplate(), 'gi_test_e2e');
  const cleanups: (() => Promise<unknown>)[] = [() => dropDatabase(database)];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    const db = connect(database);
    cleanups.push(() => db.destroy());
    // A new database greets its first login with the module configuration wizard (users, company);
    // it is not what this test is about.
    await db('ir_module_config_wizard_item').update({ state: 'done' });

    const folder = mkdtempSync(join(tmpdir(), 'gi-e2e-trytond-'));
    cleanups.push(async () => rmSync(folder, { recursive: true, force: true }));
    const statePath = join(folder, 'emulator-state.json');
    let emulator = await startEmulator({ statePath });
    const emulatorPort = Number(new URL(emulator.url).port);
    cleanups.push(() => emulator.close());

    const sidecarPort = await freePort();
    const publicUrl = `http://127.0.0.1:${sidecarPort}`;
    const trytonPort = options.sidecarReachesTryton ? await freePort() : undefined;
    const sidecarEnvironment = sidecarEnv({
      ...emulatorEndpoints(emulator.url),
      SIDECAR_DATABASES: database,
      SIDECAR_PORT: String(sidecarPort),
      SIDECAR_PUBLIC_URL: publicUrl,
      ...(trytonPort === undefined ? {} : { TRYTOND_URL: `http://127.0.0.1:${trytonPort}` }),
    });
    let sidecar: SidecarProcess = await startServe(sidecarEnvironment);
    const earlierSidecarLogs: string[] = [];
    cleanups.push(() => sidecar.stop());

    const redirectUri = `${sidecar.url}/${database}/google/callback`;
    const { clientId, clientSecret } = await registerClient(emulator.url, [redirectUri]);

    const trytonUrl = `http://127.0.0.1:${trytonPort ?? (await freePort())}`;
    const configFile = writeTrytondConfig(folder, {
      url: trytonUrl,
      sidecarUrl: sidecar.url,
      web: [`root = ${SAO_ROOT}`],
      // The bus carries notifications to sao (the outcome of an authorization, a refresh).
      sections: ['[bus]', 'allow_subscribe = True'],
      googleIntegration: [`sidecar_public_url = ${publicUrl}`],
    });
    // Ready once sao's page is served (trytond's [web] root).
    const trytond = await startTrytond(configFile, database, trytonUrl, async (url) => {
      const response = await fetch(`${url}/`);
      return response.ok && (await response.text()).includes('tryton-sao.js');
    });
    cleanups.push(() => trytond.stop());

    return {
      database,
      trytonUrl,
      sidecarUrl: sidecar.url,
      get emulator() {
        return emulator;
      },
      async restartGoogleSide() {
        earlierSidecarLogs.push(sidecar.output());
        await sidecar.stop();
        await emulator.close();
        emulator = await startEmulator({ statePath, port: emulatorPort });
        sidecar = await startServe(sidecarEnvironment);
      },
      clientId,
      clientSecret,
      redirectUri,
      db,
      credential: (name) => db(TABLE).where({ name }).first(),
      async adminAccount(email) {
        const admin = await db('res_user').where({ login: 'admin' }).first('id');
        const [row] = await db(TABLE)
          .insert({
            name: 'Calendar of the sales team',
            state: 'without_authorization',
            client_id: clientId,
            client_secret: clientSecret,
            redirect_uri: redirectUri,
            scopes: 'https://www.googleapis.com/auth/calendar',
            sync_enabled: false,
            owner: admin.id,
          })
          .returning('id');
        const credentialId = row.id as number;
        const rpc = async (method: string, params: Record<string, unknown>) => {
          const answer = await call(sidecar.url, method, {
            database,
            credential_id: credentialId,
            ...params,
          });
          if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
          return answer.result;
        };
        const { authorization_url } = await rpc('credentials.request_authorization', {});
        const { redirect } = await consent(authorization_url, { email });
        const page = await followRedirect(redirect);
        if (page.status !== 200) throw new Error(`callback answered ${page.status}`);
        const { calendars } = await rpc('calendar.list_calendars', {});
        const primary = calendars.find((calendar: { google_id: string }) => calendar.google_id === email);
        return { credentialId, primaryId: primary.id as number };
      },
      logs: () =>
        `--- trytond\n${quiet(trytond.output())}\n--- sidecar\n${[...earlierSidecarLogs, sidecar.output()].join('\n')}`,
      sessions: async () => {
        const rows = await db.raw(
          `SELECT pid, application_name, state, wait_event_type, wait_event,
                  round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_seconds,
                  left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
             FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid() ORDER BY xact_start`,
          [database],
        );
        return rows.rows.map((row: Record<string, unknown>) => JSON.stringify(row)).join('\n');
      },
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** trytond's log without the access lines of requests that succeeded. */
function quiet(log: string): string {
  return log
    .split('\n')
    .filter((line) => !/ INFO werkzeug .*" [23]\d\d -$/.test(line))
    .join('\n');
}

/** What is missing for the browser test, each with the reason; empty when all is there. */
export function missingForBrowser(chromium: string): string[] {
  const missing: string[] = [];
  if (!existsSync(chromium)) missing.push(`Chromium (${chromium})`);
  if (!existsSync(join(SAO_ROOT, 'index.html'))) missing.push(`sao (${SAO_ROOT})`);
  if (!existsSync(join(ROOT, 'e2e', 'sao', 'node_modules', 'playwright-core', 'package.json')))
    missing.push('playwright-core (e2e/sao/node_modules)');
  if (!existsSync(TRYTOND)) missing.push(`trytond (${TRYTOND}; scripts/python-env.sh makes it)`);
  return missing;
}
