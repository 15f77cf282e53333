/**
 * The composition root: wires configuration, database pools, the credential operations, the
 * JSON-RPC server, HTTP and the job engine for background work, and owns graceful shutdown. The only module
 * that turns a Config into running parts.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import type { CredentialContext } from './credentials/context.js';
import { keysOpen } from './credentials/key-check.js';
import { TokenCache } from './credentials/token-cache.js';
import type { ServiceContext } from './services/google-service.js';
import { scopesOfServices } from './services/catalog.js';
import { Services } from './services/services.js';
import { Pacer } from './services/pacer.js';
import { CredentialChangeFeed } from './db/credential-changes.js';
import { SharedCalls } from './shared-calls.js';
import { TokenCipher } from './crypto/token-cipher.js';
import { migrateLatest } from './db/migrate.js';
import { DatabasePools } from './db/pools.js';
import { ServedDatabases } from './db/served-databases.js';
import { DatabaseOutages } from './db/unavailable.js';
import { createApp } from './http/app.js';
import { NOTIFICATION_PATH } from './http/notification-route.js';
import { ChannelTokens } from './oauth/channel-token.js';
import type { Logger } from './log.js';
import { Metrics } from './metrics.js';
import { DEFAULT_RETRY } from './google/retry.js';
import { GoogleOAuth } from './oauth/google-client.js';
import { StateTokens } from './oauth/state-token.js';
import { createRpcServer } from './rpc/server.js';
import { JobEngine } from './jobs/engine.js';
import { startBackgroundWork, type TaskDependencies, taskList } from './jobs/tasks.js';

export interface RunningSidecar {
  readonly url: string;
  readonly server: Server;
  readonly jobs: JobEngine;
  /** The Google services, and what a new one is built with (services/google-service.ts). */
  readonly services: Services;
  readonly serviceContext: ServiceContext;
  close(): Promise<void>;
}

/** How long a consent request waits for its callback (docs/contracts.md: 10 minutes). */
export const AUTHORIZATION_TTL_SECONDS = 600;
const SHUTDOWN_GRACE_MS = 10_000;
/** Background jobs run at once per database and replica. */
const JOB_CONCURRENCY = 4;

export async function startSidecar(config: Config, logger: Logger): Promise<RunningSidecar> {
  const pools = new DatabasePools(config.databaseUri, { logger, timeoutMs: config.databaseTimeoutMs });
  // Filled in below: a database's background work starts once it is first served (migrated).
  let startJobs: (database: string, attempt?: number) => void = () => {};
  const cipher = new TokenCipher(config.encryptionKeys);
  const databases = new ServedDatabases(pools, config.databases, Date.now, async (knex, database) => {
    await migrateLatest(knex);
    if (await keysOpen(cipher, knex)) startJobs(database);
    else {
      logger.warn(
        { database },
        'SIDECAR_ENCRYPTION_KEYS do not open what this database holds: no background work there',
      );
    }
  });
  const metrics = new Metrics();
  const credentials: CredentialContext = {
    cipher,
    google: new GoogleOAuth(config.google, {
      ...DEFAULT_RETRY,
      timeoutMs: config.googleTimeoutMs,
      // One attempt always gets its whole timeout, however long an operator made it.
      budgetMs: Math.max(DEFAULT_RETRY.budgetMs, config.googleTimeoutMs),
    }),
    states: new StateTokens(config.encryptionKeys),
    logger,
    metrics,
    now: () => new Date(),
    authorizationTtlSeconds: AUTHORIZATION_TTL_SECONDS,
    holder: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    refreshes: new SharedCalls(),
    // A credential asks for the scopes of the services it lists.
    serviceScopes: scopesOfServices,
    tokens: new TokenCache(
      (database, handlers) =>
        new CredentialChangeFeed(pools.clientConfig(database), handlers, logger.child({ database })),
    ),
  };
  const maintenanceDatabase = readinessDatabase(config.databaseUri);
  const channelTokens = new ChannelTokens(config.encryptionKeys);
  const serviceContext: ServiceContext = {
    credentials,
    apiRootUrl: config.google.apiRootUrl,
    trytondUrl: config.trytondUrl,
    trytondTimeoutMs: config.trytondTimeoutMs,
    pacer: new Pacer(),
    notifications: {
      enabled: config.notifications.enabled,
      address: `${config.publicUrl}${NOTIFICATION_PATH}`,
      tokens: channelTokens,
    },
  };
  const services = new Services(serviceContext);
  const context = { databases, credentials, logger, outages: new DatabaseOutages(logger), services };
  const tasks: TaskDependencies = {
    credentials,
    open: (database) => databases.open(database),
    queue: (database) => jobs.queue(database),
    refresh: config.refresh,
    services,
    syncIntervalSeconds: config.syncIntervalSeconds,
    notifications: config.notifications,
    metrics,
  };
  const jobs = new JobEngine(pools, (database) => taskList(database, tasks), logger, {
    concurrency: JOB_CONCURRENCY,
    pollIntervalMs: Math.min(2_000, config.refresh.intervalSeconds * 1000),
    heartbeatMs: heartbeatMs(config),
    holder: credentials.holder,
    onLocksReleased: (runners) => metrics.jobLocksReleased(runners),
    // A runner whose pool gave up (the database gone for minutes) comes back like one that never started.
    onRunnerEnded: (database) => startJobs(database),
  });
  const app = createApp({
    apiKey: config.apiKey,
    rpcServer: createRpcServer(logger),
    context,
    readinessDatabase: maintenanceDatabase,
    metrics,
    notifications: { tokens: channelTokens, queue: (database) => jobs.queue(database) },
  });
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  // A database that cannot take its runner now (unreachable, a lock held by another replica's
  // migration) is tried again, 5 s later then doubling up to a minute, until the sidecar stops.
  startJobs = (database, attempt = 0) => {
    startBackgroundWork(database, tasks).catch((error: Error) => {
      if (jobs.isStopped) return;
      const retryMs = Math.min(60_000, 5_000 * 2 ** attempt);
      logger.warn(
        { database, err: error.message, retry_in_s: retryMs / 1000 },
        'background work not started',
      );
      setTimeout(() => startJobs(database, attempt + 1), retryMs).unref();
    });
  };
  // After a restart, every served database's background work resumes without waiting for a caller.
  databases
    .list(maintenanceDatabase)
    .catch((error: Error) => logger.warn({ err: error.message }, 'could not list the served databases'));
  logger.info({ url, databases: config.databases ?? 'any with google_integration' }, 'sidecar listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: finishing requests in flight');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await Promise.all([closed, jobs.stop()]);
      clearTimeout(timer);
      await credentials.tokens.close();
      await pools.closeAll();
      logger.info('shut down');
    })();
    return closing;
  };
  return { url, server, jobs, services, serviceContext, close };
}

/**
 * How often job runners beat (docs/contracts.md, "Releasing jobs"): a quarter of the shorter
 * background interval, between 1 and 10 s, so a dead replica's jobs run again within four beats,
 * one interval when it is 4 s or more.
 */
function heartbeatMs(config: Config): number {
  const shorter = Math.min(config.syncIntervalSeconds, config.refresh.intervalSeconds) * 1000;
  return Math.min(10_000, Math.max(1_000, shorter / 4));
}

/** /readyz probes the database named in DATABASE_URI's path, or the server's `postgres` database. */
function readinessDatabase(databaseUri: string): string {
  const name = decodeURIComponent(new URL(databaseUri).pathname.replace(/^\//, ''));
  return name || 'postgres';
}
