/**
 * Background refresh ahead of expiry, so Tryton's callers rarely wait on Google. Each tick claims
 * due credentials one at a time with FOR UPDATE SKIP LOCKED, so replicas share the work without
 * refreshing a credential twice; a failed refresh puts the credential in a cool-down that doubles
 * with each failure (refresh_backoff), shared by all replicas.
 */
import { type Db, inTransaction } from '../db/handle.js';
import { refreshLocked } from '../credentials/access-token.js';
import type { CredentialContext } from '../credentials/context.js';
import { claimDueForRefresh } from '../db/credentials-repository.js';
import { clearRefreshFailures, recordRefreshFailure } from '../db/refresh-backoff-repository.js';

export interface RefresherOptions {
  readonly intervalSeconds: number;
  /** Refresh tokens that expire within this many seconds. */
  readonly aheadSeconds: number;
  /** The databases to look at on each tick (allow-list, or those served so far). */
  readonly databases: () => readonly string[];
  readonly open: (database: string) => Promise<Db>;
}

const BATCH = 50;
const FIRST_BACKOFF_SECONDS = 30;

export class TokenRefresher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly context: CredentialContext,
    private readonly options: RefresherOptions,
  ) {}

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every database; returns how many credentials were refreshed. */
  async tick(): Promise<number> {
    let refreshed = 0;
    for (const database of this.options.databases()) {
      try {
        refreshed += await this.refreshDue(database, await this.options.open(database));
      } catch (error) {
        this.context.logger.warn(
          { database, err: (error as Error).message },
          'background refresh skipped a database',
        );
      }
    }
    return refreshed;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  private async refreshDue(database: string, db: Db): Promise<number> {
    let refreshed = 0;
    for (let index = 0; index < BATCH && !this.stopped; index++) {
      const claimed = await inTransaction(db, async (trx) => {
        const row = await claimDueForRefresh(trx, this.options.aheadSeconds);
        if (!row) return false;
        const outcome = await refreshLocked(this.context, trx, row);
        if ('failure' in outcome) await recordRefreshFailure(trx, row.id, FIRST_BACKOFF_SECONDS);
        else await clearRefreshFailures(trx, row.id);
        if ('row' in outcome) refreshed++;
        return true;
      });
      if (!claimed) break;
    }
    if (refreshed > 0) this.context.logger.info({ database, refreshed }, 'background refresh');
    return refreshed;
  }
}
