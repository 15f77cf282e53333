/**
 * One Knex pool per Tryton database, created on first use and closed on shutdown. The server part
 * of the connection comes from DATABASE_URI (as in trytond's `[database] uri`); the database name
 * comes with each request and has been validated before it reaches here.
 */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../log.js';
import { databaseFailureReason } from './unavailable.js';

// Tryton stores naive UTC timestamps; pg would read them in the process's local time zone.
const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === TIMESTAMP_WITHOUT_TIME_ZONE && format !== 'binary') {
      return (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
    }
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PoolOptions {
  readonly max?: number;
  /**
   * Bound of each step, in milliseconds: opening a connection, waiting for a pooled one, waiting
   * for a row lock; a statement gets twice that (server side, and client side should the server
   * stop answering).
   */
  readonly timeoutMs?: number;
  /** Where Knex's own messages go; connection failures are also raised to the caller, who reports them. */
  readonly logger?: Logger;
}

/** Builds the connection string for `database` on the server named by `databaseUri`. */
export function connectionStringFor(databaseUri: string, database: string): string {
  const url = new URL(databaseUri);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** SIDECAR_DATABASE_TIMEOUT as each connection's bounds: connecting, waiting on a lock, a statement. */
function connectionBounds(timeout: number | undefined) {
  return timeout === undefined
    ? {}
    : {
        connectionTimeoutMillis: timeout,
        lock_timeout: timeout,
        // A statement may wait for a lock its whole timeout, then still has to run.
        statement_timeout: 2 * timeout,
        query_timeout: 2 * timeout + 1_000,
      };
}

export function createKnex(databaseUri: string, database: string, options: PoolOptions = {}): Knex {
  const timeout = options.timeoutMs;
  const bounds = connectionBounds(timeout);
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: connectionStringFor(databaseUri, database),
      application_name: 'tryton-google-sidecar',
      keepAlive: true,
      types,
      ...bounds,
    } as Knex.PgConnectionConfig,
    pool: { min: 0, max: options.max ?? 10, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: timeout ?? 10_000,
    log: knexLog(options.logger),
  });
}

function knexLog(logger: Logger | undefined): Knex.Logger {
  const toText = (message: unknown) => (message instanceof Error ? message.message : String(message));
  return {
    warn: (message) => logger?.debug({ knex: toText(message) }, 'knex warning'),
    error: (message) => logger?.debug({ knex: toText(message) }, 'knex error'),
    deprecate: (method, alternative) => logger?.debug({ method, alternative }, 'knex deprecation'),
    debug: () => {},
  };
}

export class DatabasePools {
  private readonly pools = new Map<string, Knex>();
  private closed = false;

  constructor(
    private readonly databaseUri: string,
    private readonly options: PoolOptions = {},
  ) {}

  get(database: string): Knex {
    if (this.closed) throw new Error('database pools are closed');
    let pool = this.pools.get(database);
    if (!pool) {
      pool = createKnex(this.databaseUri, database, this.options);
      this.pools.set(database, pool);
    }
    return pool;
  }

  /** Settings for a connection of its own (outside the pool) to `database`, e.g. to LISTEN. */
  clientConfig(database: string): pg.ClientConfig {
    return {
      connectionString: connectionStringFor(this.databaseUri, database),
      application_name: 'tryton-google-sidecar',
      keepAlive: true,
      ...(this.options.timeoutMs === undefined ? {} : { connectionTimeoutMillis: this.options.timeoutMs }),
    };
  }

  /** Settings for the job engine's own pool of `database`: the same bounds as the sidecar's pools. */
  workerPoolConfig(database: string, max: number): pg.PoolConfig {
    return {
      connectionString: connectionStringFor(this.databaseUri, database),
      application_name: 'tryton-google-sidecar',
      keepAlive: true,
      max,
      ...connectionBounds(this.options.timeoutMs),
    };
  }

  /** Drops the pool of a database that turned out not to be served, so unknown names hold nothing. */
  async discard(database: string): Promise<void> {
    const pool = this.pools.get(database);
    this.pools.delete(database);
    await pool?.destroy();
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.destroy()));
  }
}

/** What the job runner's pool needs to know of the job engine (JobRunnerPool). */
export interface JobRunnerPoolOptions {
  /**
   * Statements that release a job (its completion or failure): idempotent, and what keeps the job
   * and its queue locked until written, so they are seen through database trouble.
   */
  readonly releasesAJob: (query: pg.QueryConfig) => boolean;
  readonly logger: Logger;
  /** The pool connected again after losing the database (once per outage). */
  readonly onRecovered?: () => void;
}

// A job release waiting for the database tries again after this long, doubling up to the last.
const FIRST_RETRY_MS = 250;
const LAST_RETRY_MS = 5_000;
/** What a release that gave up answers: graphile-worker reads nothing of it. */
const NOT_WRITTEN = { command: 'UPDATE', rowCount: 0, oid: 0, fields: [], rows: [] } as pg.QueryResult;

type Query = (config: pg.QueryConfig) => Promise<pg.QueryResult>;

/**
 * The job runner's pool (graphile-worker's, per database). It has the error handlers
 * graphile-worker asks for (on the pool and on each client), so a lost connection is a warning,
 * never an uncaught error. And a job's release survives the database going away: graphile-worker
 * 0.17.3 writes completions and failures in batches that it never retries (its retry loop leaves
 * at the first error) and that, on one failure, shut the runner down in an inconsistent state, or
 * leave a rejected promise nobody handles. Here such a statement that fails for want of the
 * database, or whose connection could not be opened, is run again on a fresh connection (after
 * 250 ms, doubling up to 5 s) until it is written; once the engine stops waiting (it stops),
 * after one more try, it is left unwritten with a warning: its job is then released by another
 * replica once this runner's heartbeat lapsed (docs/contracts.md, "Releasing jobs").
 */
export class JobRunnerPool extends pg.Pool {
  private readonly rawQueries = new WeakMap<pg.PoolClient, Query>();
  private readonly sleepers = new Set<() => void>();
  private watching = false;
  private troubled = false;
  private stopping = false;
  private waiting = 0;
  private writtenAfterWaiting = 0;

  constructor(
    config: pg.PoolConfig,
    private readonly runner: JobRunnerPoolOptions,
  ) {
    super(config);
    const { logger } = runner;
    // An idle connection lost (the pool drops it) and a connection lost while in use (its query
    // fails too, and graphile-worker tries again): database trouble, said once per outage.
    this.on('error', (error) => this.trouble(error));
    this.on('connect', (client) => {
      client.on('error', (error) => this.trouble(error));
      if (this.troubled) {
        this.troubled = false;
        logger.info('job runner connected again');
        // Releases waiting for the database try at once rather than at the end of their pause.
        for (const wake of this.sleepers) wake();
        this.runner.onRecovered?.();
      }
    });
  }

  /** From now on (the runner runs) database trouble is seen through, and a recovery reported. */
  watch(): void {
    this.watching = true;
  }

  /** The engine stops: releases waiting for the database try once more, then give up. */
  stopWaiting(): void {
    this.stopping = true;
    for (const wake of this.sleepers) wake();
  }

  override async end(): Promise<void>;
  override async end(callback: () => void): Promise<void>;
  override async end(callback?: () => void): Promise<void> {
    this.stopWaiting();
    await super.end();
    callback?.();
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): void;
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): Promise<pg.PoolClient> | undefined {
    // The callback form is graphile-worker's LISTEN connection, which reconnects on its own.
    if (callback) {
      super.connect(callback);
      return undefined;
    }
    return this.connectForStatements();
  }

  private async connectForStatements(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await super.connect();
    } catch (error) {
      if (!this.watching || databaseFailureReason(error) === undefined) throw error;
      this.trouble(error);
      // No connection: a release is still written once the database is back; anything else
      // fails as it would have.
      const fail = () => Promise.reject(error);
      return {
        query: (config: unknown) => (this.isRelease(config) ? this.retryRelease(config, error) : fail()),
        release: () => {},
      } as unknown as pg.PoolClient;
    }
    if (!this.rawQueries.has(client)) {
      const raw: Query = client.query.bind(client) as Query;
      this.rawQueries.set(client, raw);
      const query = (config: unknown, ...rest: unknown[]) => {
        if (!this.watching || !this.isRelease(config))
          return (raw as (...args: unknown[]) => unknown)(config, ...rest);
        return raw(config).catch((error: unknown) => {
          if (databaseFailureReason(error) === undefined) throw error;
          return this.retryRelease(config, error);
        });
      };
      client.query = query as typeof client.query;
    }
    return client;
  }

  private isRelease(config: unknown): config is pg.QueryConfig {
    return (
      typeof config === 'object' && config !== null && this.runner.releasesAJob(config as pg.QueryConfig)
    );
  }

  private async retryRelease(config: pg.QueryConfig, first: unknown): Promise<pg.QueryResult> {
    const { logger } = this.runner;
    this.trouble(first);
    if (this.waiting++ === 0)
      logger.warn(
        { statement: config.name, reason: databaseFailureReason(first) },
        'job completion or failure waiting for the database',
      );
    try {
      for (let delay = FIRST_RETRY_MS; ; delay = Math.min(LAST_RETRY_MS, delay * 2)) {
        const lastTry = this.stopping;
        if (!lastTry) await this.sleep(delay);
        try {
          const result = await this.runOnce(config);
          this.writtenAfterWaiting++;
          return result;
        } catch (error) {
          if (databaseFailureReason(error) === undefined) throw error;
          if (lastTry || this.stopping) {
            logger.warn(
              { statement: config.name, reason: databaseFailureReason(error) },
              'job completion or failure not written: the database is unavailable and the runner stops; another replica releases its job',
            );
            return NOT_WRITTEN;
          }
        }
      }
    } finally {
      if (--this.waiting === 0 && this.writtenAfterWaiting > 0) {
        logger.info(
          { statements: this.writtenAfterWaiting },
          'job completions and failures written after waiting for the database',
        );
        this.writtenAfterWaiting = 0;
      }
    }
  }

  /** One try on a connection of its own, which goes back to the pool, or away if it broke. */
  private async runOnce(config: pg.QueryConfig): Promise<pg.QueryResult> {
    const client = await super.connect();
    try {
      const result = await (this.rawQueries.get(client) ?? (client.query.bind(client) as Query))(config);
      client.release();
      return result;
    } catch (error) {
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private trouble(error: unknown): void {
    if (!this.watching || this.troubled) return;
    this.troubled = true;
    this.runner.logger.warn(
      { err: error instanceof Error ? error.message : String(error), reason: databaseFailureReason(error) },
      'job runner connection lost',
    );
  }
}
