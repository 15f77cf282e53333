/**
 * One Knex pool per Tryton database, created on first use and closed on shutdown. The server part
 * of the connection comes from DATABASE_URI (as in trytond's `[database] uri`); the database name
 * comes with each request and has been validated before it reaches here.
 */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../log.js';

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
