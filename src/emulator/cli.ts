/**
 * `tryton-google emulator`: runs the offline Google in the foreground until SIGTERM or SIGINT, printing one
 * JSON log line `{"url": ..., "msg": "emulator listening"}` once it accepts connections.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { closeOnSignals } from '../shutdown.js';
import { startEmulator } from './server.js';
import type { Client } from './state.js';

export const EMULATOR_USAGE = `usage: tryton-google emulator [--port N] [--host H] [--allow-host NAME ...]
                             [--client ID:SECRET:REDIRECT_URI ...]
                             [--access-token-ttl SECONDS] [--code-ttl SECONDS] [--state PATH]

  --port N                 port to listen on (default 0: any free port, printed on start)
  --host H                 address to bind (default 127.0.0.1; the control API is unauthenticated)
  --allow-host NAME        a host name (or address) under which the control API and the web page may be
                           reached, besides loopback names and --host (repeatable; any port)
  --client ID:SECRET:URI   register an OAuth client (repeatable; the URI may contain ':')
  --access-token-ttl S     access-token lifetime in seconds (default 3599)
  --code-ttl S             authorization-code lifetime in seconds (default 600)
  --state PATH             keep the state (clients, grants, tokens, calendars, events) in this JSON file
                           across restarts: loaded at start, saved after changes (mode 0600: it holds
                           tokens); default: memory only
`;

/** A bad command line; a TypeError with a `code`, like parseArgs's own errors, so callers treat both alike. */
export class EmulatorUsageError extends TypeError {
  readonly code = 'ERR_EMULATOR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'EmulatorUsageError';
  }
}

export async function runEmulatorCommand(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'allow-host': { type: 'string', multiple: true },
      client: { type: 'string', multiple: true },
      'access-token-ttl': { type: 'string' },
      'code-ttl': { type: 'string' },
      state: { type: 'string' },
    },
  });
  const logger = createLogger(env.LOG_LEVEL ?? 'info');
  const emulator = await startEmulator({
    host: values.host ?? '127.0.0.1',
    allowedHosts: (values['allow-host'] ?? []).map(parseAllowedHost),
    port: integer('--port', values.port ?? '0', 0, 65_535),
    clients: mergeClients((values.client ?? []).map(parseClient)),
    accessTokenTtlSeconds: integer('--access-token-ttl', values['access-token-ttl'] ?? '3599', 1, 86_400),
    codeTtlSeconds: integer('--code-ttl', values['code-ttl'] ?? '600', 1, 86_400),
    ...(values.state === undefined ? {} : { statePath: values.state }),
    logger,
  });
  logger.info(
    { url: emulator.url, clients: (values.client ?? []).length, state: values.state ?? null },
    'emulator listening',
  );
  closeOnSignals(() => emulator.close(), logger);
}

/** `ID:SECRET:REDIRECT_URI`, split on the first two colons only: the URI has its own (`http://...`). */
export function parseClient(value: string): Client {
  const first = value.indexOf(':');
  const second = first < 0 ? -1 : value.indexOf(':', first + 1);
  const clientId = value.slice(0, first);
  const clientSecret = value.slice(first + 1, second);
  const redirectUri = value.slice(second + 1);
  if (first <= 0 || second <= first + 1 || !URL.canParse(redirectUri)) {
    // The value holds a secret: name only the part before the first colon.
    throw new EmulatorUsageError(
      `--client must be ID:SECRET:REDIRECT_URI with an absolute URI (client "${value.split(':')[0]}")`,
    );
  }
  return { clientId, clientSecret, redirectUris: [redirectUri] };
}

/** A name as the `Host` header gives it, without port: `name`, `1.2.3.4`, `[::1]` or `::1`. */
export function parseAllowedHost(value: string): string {
  if (!/^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]|[0-9a-f]*:[0-9a-f:.]+)$/i.test(value))
    throw new EmulatorUsageError(`--allow-host must be a host name or address without port, got "${value}"`);
  return value;
}

/** The same ID given twice with different URIs registers one client with both redirect URIs. */
export function mergeClients(clients: readonly Client[]): Client[] {
  const merged = new Map<string, Client>();
  for (const client of clients) {
    const seen = merged.get(client.clientId);
    if (seen && seen.clientSecret !== client.clientSecret) {
      throw new EmulatorUsageError(`--client "${client.clientId}" is given with two different secrets`);
    }
    merged.set(client.clientId, {
      ...client,
      redirectUris: [...new Set([...(seen?.redirectUris ?? []), ...client.redirectUris])],
    });
  }
  return [...merged.values()];
}

function integer(name: string, value: string, min: number, max: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw new EmulatorUsageError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}
