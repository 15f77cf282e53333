/**
 * Background refresh ahead of expiry, so Tryton's callers rarely wait on Google. Each pass lists
 * the credentials due in each served database and refreshes them through the same path as
 * on-demand callers (credentials/refresh.ts: one refresh per credential across replicas, no
 * connection held while Google answers). A failed refresh puts the credential in a cool-down that
 * doubles with each failure (refresh_backoff), shared by all replicas.
 */
import type { CredentialContext, CredentialRef } from '../credentials/context.js';
import { refreshUnlessBusy } from '../credentials/refresh.js';
import { listDueForRefresh } from '../db/credentials-repository.js';
import type { Db } from '../db/handle.js';
import { clearRefreshFailures, recordRefreshFailure } from '../db/refresh-backoff-repository.js';
import { SidecarError } from '../errors.js';

export interface RefresherOptions {
  readonly intervalSeconds: number;
  /** Refresh tokens that expire within this many seconds. */
  readonly aheadSeconds: number;
  /** The databases to look at on each pass. */
  readonly databases: () => Promise<readonly string[]>;
  readonly open: (database: string) => Promise<Db>;
}

const BATCH = 50;
const FIRST_BACKOFF_SECONDS = 30;

export class TokenRefresher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
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
    for (const database of await this.options.databases()) {
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
      this.running = this.tick().finally(() => this.schedule());
    }, this.options.intervalSeconds * 1000);
    this.timer.unref();
  }

  private async refreshDue(database: string, db: Db): Promise<number> {
    const aheadMs = this.options.aheadSeconds * 1000;
    const fresh = (row: { token_expiry: Date | null }) =>
      row.token_expiry !== null && row.token_expiry.getTime() - this.context.now().getTime() > aheadMs;
    let refreshed = 0;
    for (const id of await listDueForRefresh(db, this.options.aheadSeconds, BATCH)) {
      if (this.stopped) break;
      const ref: CredentialRef = { database, db, id };
      try {
        // Busy: another caller or replica is refreshing it (or cooling down); theirs counts.
        if ((await refreshUnlessBusy(this.context, ref, fresh)) === undefined) continue;
        await clearRefreshFailures(db, id);
        refreshed++;
      } catch (error) {
        if (!(error instanceof SidecarError)) throw error;
        await recordRefreshFailure(db, id, FIRST_BACKOFF_SECONDS);
      }
    }
    if (refreshed > 0) this.context.logger.info({ database, refreshed }, 'background refresh');
    return refreshed;
  }
}
