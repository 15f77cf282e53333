/**
 * Decides which databases this sidecar serves and hands out their pools. With SIDECAR_DATABASES set,
 * exactly those; otherwise any database that holds the credentials table and, where it is a Tryton
 * database, has google_integration activated. A positive answer is kept for a short while so each
 * request does not re-inspect the catalog; a negative one is not kept, and its pool is dropped.
 */
import type { Knex } from 'knex';
import { ErrorType, SidecarError } from '../errors.js';
import { inspectDatabase, listDatabases, ping } from './catalog-repository.js';
import { SharedCalls } from '../shared-calls.js';
import { isValidDatabaseName } from './database-name.js';
import type { DatabasePools } from './pools.js';

const SERVED_TTL_MS = 60_000;
// PostgreSQL's "database does not exist" and "cannot connect now" SQLSTATEs.
const UNKNOWN_DATABASE = '3D000';

export class ServedDatabases {
  private readonly servedUntil = new Map<string, number>();
  private readonly prepared = new Map<string, Promise<void>>();
  private readonly inspections = new SharedCalls<string, string | undefined>();

  /**
   * `prepare` runs once per database and process before its first use (the sidecar's migrations:
   * idempotent and locked by Knex, so replicas may race).
   */
  constructor(
    private readonly pools: DatabasePools,
    private readonly allowList: readonly string[] | undefined,
    private readonly now: () => number = Date.now,
    private readonly prepare: (knex: Knex, database: string) => Promise<void> = async () => {},
  ) {}

  /** The pool of `database`, or a `database_not_served` error that names no internal detail. */
  async open(database: string): Promise<Knex> {
    if (!isValidDatabaseName(database)) throw notServed(database);
    if (this.allowList && !this.allowList.includes(database)) throw notServed(database);
    const knex = this.pools.get(database);
    if (this.allowList || (this.servedUntil.get(database) ?? 0) > this.now())
      return this.ready(database, knex);
    // Concurrent first requests share one inspection, so none of them sees the pool of a database
    // that turns out not to be served being dropped under it.
    const reason = await this.inspections.run(database, () => this.inspect(database, knex));
    if (reason) throw notServed(database, reason);
    this.servedUntil.set(database, this.now() + SERVED_TTL_MS);
    return this.ready(database, knex);
  }

  /** Why `database` is not served (its pool then dropped), or undefined when it is. */
  private async inspect(database: string, knex: Knex): Promise<string | undefined> {
    let reason: string | undefined;
    try {
      const shape = await inspectDatabase(knex);
      if (!shape.hasCredentialsTable) reason = 'it has no google_integration_google_credentials table';
      else if (shape.moduleState !== null && shape.moduleState !== 'activated') {
        reason = 'google_integration is not activated there';
      }
    } catch (error) {
      // Anything but "no such database" is database trouble, reported as such by the caller.
      if (sqlState(error) !== UNKNOWN_DATABASE) throw error;
      reason = 'it does not exist';
    }
    if (reason) await this.pools.discard(database);
    return reason;
  }

  private async ready(database: string, knex: Knex): Promise<Knex> {
    let preparing = this.prepared.get(database);
    if (!preparing) {
      preparing = this.prepare(knex, database);
      this.prepared.set(database, preparing);
      preparing.catch(() => this.prepared.delete(database));
    }
    try {
      await preparing;
    } catch (error) {
      throw new SidecarError(ErrorType.DatabaseUnavailable, `database "${database}" could not be prepared`, {
        database,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    return knex;
  }

  /**
   * The databases background work looks at: the allow-list, or every database of the server that
   * is served (found anew on each call, so a restart or a newly activated module is seen).
   */
  async list(maintenanceDatabase: string): Promise<string[]> {
    const candidates = this.allowList ?? (await listDatabases(this.pools.get(maintenanceDatabase)));
    const served: string[] = [];
    for (const name of candidates) {
      try {
        await this.open(name);
        served.push(name);
      } catch {
        // Not served, or unavailable now: its first caller will try again.
      }
    }
    return served;
  }

  /** Readiness: every allow-listed database (or the server itself) answers a query. */
  async check(fallbackDatabase: string): Promise<Record<string, 'ok' | 'unreachable'>> {
    const names = this.allowList && this.allowList.length > 0 ? this.allowList : [fallbackDatabase];
    const entries = await Promise.all(
      names.map(async (name) => {
        try {
          await ping(this.pools.get(name));
          return [name, 'ok'] as const;
        } catch {
          return [name, 'unreachable'] as const;
        }
      }),
    );
    return Object.fromEntries(entries);
  }
}

function notServed(database: string, reason?: string): SidecarError {
  const shown = isValidDatabaseName(database) ? `"${database}"` : 'with that name';
  return new SidecarError(
    ErrorType.DatabaseNotServed,
    `database ${shown} is not served by this sidecar${reason ? `: ${reason}` : ''}`,
    isValidDatabaseName(database) ? { database } : {},
  );
}

function sqlState(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}
