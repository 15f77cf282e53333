/**
 * A job runner's heartbeat, and the release of what dead runners locked (docs/contracts.md,
 * "Releasing jobs"). graphile-worker keeps the jobs and queue of a runner that died locked for 4
 * hours, so one killed replica would stop a calendar's background pulls for that long. Every
 * `periodMs` the runner writes that it is alive for three periods more, then releases the locks
 * older than that held by runners whose heartbeat lapsed: a dead replica's jobs run again within
 * four periods. A beat never overlaps the previous one, and a failure is logged once per streak.
 */
import type { Db } from '../db/handle.js';
import { beat, forgetRunner, releaseDeadRunners } from '../db/job-runner-repository.js';
import { databaseFailureReason } from '../db/unavailable.js';
import type { Logger } from '../log.js';

export interface HeartbeatOptions {
  readonly periodMs: number;
  /** The replica, as it names itself in leases. */
  readonly holder: string;
  /** Told how many dead runners' locks a beat released. */
  readonly onReleased?: (runners: number) => void;
}

export class RunnerHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly db: Db,
    readonly runnerId: string,
    private readonly options: HeartbeatOptions,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.periodMs);
    this.timer.unref();
  }

  /** Stops beating and forgets this runner, once it stopped running jobs. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
    await forgetRunner(this.db, this.runnerId).catch(() => {
      // Its heartbeat lapses on its own: another replica then sees nothing of it locked.
    });
  }

  private tick(): void {
    if (this.beating) return;
    this.beating = this.beatOnce().finally(() => {
      this.beating = undefined;
    });
  }

  private async beatOnce(): Promise<void> {
    const lapseMs = 3 * this.options.periodMs;
    try {
      await beat(this.db, this.runnerId, this.options.holder, lapseMs);
      const released = await releaseDeadRunners(this.db, lapseMs);
      if (this.failing) this.logger.info({ runner: this.runnerId }, 'job runner heartbeat written again');
      this.failing = false;
      if (released.length > 0) {
        this.logger.warn(
          { runners: released },
          'released the jobs of job runners that stopped without releasing them',
        );
        this.options.onReleased?.(released.length);
      }
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          {
            runner: this.runnerId,
            err: error instanceof Error ? error.message : String(error),
            reason: databaseFailureReason(error),
          },
          'job runner heartbeat not written: other replicas may take over its jobs',
        );
      }
      this.failing = true;
    }
  }
}
