/**
 * The composition root: wires configuration, database pools, the JSON-RPC server and HTTP, and owns
 * graceful shutdown. The only module that turns a Config into running parts.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { DatabasePools } from './db/pools.js';
import { ServedDatabases } from './db/served-databases.js';
import { createApp } from './http/app.js';
import type { Logger } from './log.js';
import { createRpcServer } from './rpc/server.js';

export interface RunningSidecar {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 10_000;

export async function startSidecar(config: Config, logger: Logger): Promise<RunningSidecar> {
  const pools = new DatabasePools(config.databaseUri, { logger });
  const databases = new ServedDatabases(pools, config.databases);
  const context = { databases, logger };
  const app = createApp({
    apiKey: config.apiKey,
    rpcServer: createRpcServer(logger),
    context,
    readinessDatabase: readinessDatabase(config.databaseUri),
  });
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, databases: config.databases ?? 'any with google_integration' }, 'sidecar listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: finishing requests in flight');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
      await pools.closeAll();
      logger.info('shut down');
    })();
    return closing;
  };
  return { url, server, close };
}

/** /readyz probes the database named in DATABASE_URI's path, or the server's `postgres` database. */
function readinessDatabase(databaseUri: string): string {
  const name = decodeURIComponent(new URL(databaseUri).pathname.replace(/^\//, ''));
  return name || 'postgres';
}
