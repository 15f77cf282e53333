/**
 * The offline Google: starts the emulator on a host and port and says where the sidecar should point its
 * `GOOGLE_*_URL` variables. Binds to 127.0.0.1 unless told otherwise, since the control API can revoke,
 * fail and reconfigure everything.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../log.js';
import { createEmulatorApp } from './app.js';
import { readStateFile, restore, StateSaver } from './persistence.js';
import { RequestGuard } from './request-guard.js';
import { AUTH_PATH } from './oauth/auth-route.js';
import { type Client, EmulatorState } from './state.js';
import { Traffic } from './traffic.js';

export type { Client } from './state.js';

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port; read the chosen one from `url`. */
  readonly port?: number;
  readonly clients?: readonly Client[];
  /** Lifetime of access tokens and the `expires_in` of token answers; Google's is 3599. */
  readonly accessTokenTtlSeconds?: number;
  /** Lifetime of authorization codes; Google's is 10 minutes. Fractions allowed, for tests. */
  readonly codeTtlSeconds?: number;
  /** Lifetime of a shown consent screen before its form stops working. Default one hour. */
  readonly authorizationRequestTtlSeconds?: number;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Milliseconds since the epoch; tests inject a clock they can move. Default Date.now. */
  readonly now?: () => number;
  /** Mount the `/__emulator/` control API and the web page at `/`. Default true. */
  readonly controlApi?: boolean;
  /**
   * More host names the `Host` header may give when reaching the control API and the web page (any
   * port); loopback names and `host` (unless a wildcard) always may. See request-guard.ts.
   */
  readonly allowedHosts?: readonly string[];
  /**
   * A JSON state file: loaded at start (absent: empty state; unreadable or not a state: StateFileError),
   * then saved after changes, debounced, atomically and with mode 0600. Default none: memory only.
   * Clients given in `clients` are registered over the loaded ones.
   */
  readonly statePath?: string;
  /** Debounce of state-file writes in milliseconds. Default 100. */
  readonly stateSaveDelayMs?: number;
}

export interface RunningEmulator {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly server: Server;
  /** Direct access for in-process tests; the control API does the same over HTTP. */
  readonly state: EmulatorState;
  readonly traffic: Traffic;
  /** Saves the state file now if there is one (changes made directly on `state` are not seen otherwise). */
  save(): Promise<void>;
  close(): Promise<void>;
}

/** The sidecar's endpoint variables for an emulator at `url`. */
export interface EmulatorEndpoints {
  readonly GOOGLE_AUTH_URL: string;
  readonly GOOGLE_TOKEN_URL: string;
  readonly GOOGLE_REVOKE_URL: string;
  readonly GOOGLE_USERINFO_URL: string;
  readonly GOOGLE_API_ROOT_URL: string;
}

const SHUTDOWN_GRACE_MS = 2_000;

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const logger = options.logger ?? createLogger('silent');
  const state = new EmulatorState({
    now: options.now ?? Date.now,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3599,
    codeTtlSeconds: options.codeTtlSeconds ?? 600,
    authorizationRequestTtlSeconds: options.authorizationRequestTtlSeconds ?? 3600,
  });
  let saver: StateSaver | undefined;
  if (options.statePath !== undefined) {
    const file = await readStateFile(options.statePath);
    if (file) restore(state, file);
    saver = new StateSaver(options.statePath, state, logger, options.stateSaveDelayMs);
  }
  for (const client of options.clients ?? []) state.registerClient(client);
  await saver?.saveAtStart();
  const traffic = new Traffic();
  const app = createEmulatorApp({
    state,
    traffic,
    logger,
    controlApi: options.controlApi ?? true,
    guard: new RequestGuard({ boundHost: options.host ?? '127.0.0.1', allowedHosts: options.allowedHosts }),
    ...(saver ? { afterRequest: () => saver.changed() } : {}),
  });

  const server = app.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([error]) => Promise.reject(error)),
  ]);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
      // Deliveries under way are cut; the channels stay (in the state file, when there is one).
      state.push.close();
      await saver?.flush();
    })();
    return closing;
  };
  const save = async () => {
    await saver?.flush();
  };
  return { url, server, state, traffic, save, close };
}

export function emulatorEndpoints(url: string): EmulatorEndpoints {
  const base = url.replace(/\/+$/, '');
  return {
    GOOGLE_AUTH_URL: `${base}${AUTH_PATH}`,
    GOOGLE_TOKEN_URL: `${base}/token`,
    GOOGLE_REVOKE_URL: `${base}/revoke`,
    GOOGLE_USERINFO_URL: `${base}/v1/userinfo`,
    GOOGLE_API_ROOT_URL: `${base}/`,
  };
}
