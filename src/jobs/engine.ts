/**
 * The one engine for background work: graphile-worker, on PostgreSQL. Each served Tryton database
 * gets its own job queue in its own schema (`google_integration_jobs`), so a database carries its
 * jobs with it in a backup, and any number of sidecar replicas share the queue: a job runs on one
 * replica, jobs with a key are never queued twice, failed jobs are retried with backoff, and a
 * replica that dies releases its jobs. Runners start when a database is first served (and, after a
 * restart, for every served database found), and stop with the sidecar. graphile-worker is loaded
 * with the first runner, so commands that run none do not pay for it.
 */
import type { Logger as WorkerLogger, Runner, TaskList } from 'graphile-worker';
import pg from 'pg';
import type { DatabasePools } from '../db/pools.js';
import { databaseFailureReason } from '../db/unavailable.js';
import type { Logger } from '../log.js';

export const JOBS_SCHEMA = 'google_integration_jobs';

export interface JobEngineOptions {
  /** Jobs run at once per database and replica. */
  readonly concurrency: number;
  /** How often a runner looks for jobs scheduled in the future (others arrive by NOTIFY at once). */
  readonly pollIntervalMs: number;
}

export type TaskListFactory = (database: string) => TaskList;

/** What a task asks of the engine: more work, in the same database. */
export interface JobQueue {
  add(
    task: string,
    payload: unknown,
    spec: { jobKey?: string; runAt?: Date; maxAttempts?: number; queueName?: string },
  ): Promise<void>;
}

export class JobEngine {
  private readonly runners = new Map<string, Promise<Runner>>();
  private readonly workerPools = new Map<string, pg.Pool>();
  private stopped = false;

  constructor(
    private readonly pools: DatabasePools,
    private readonly tasks: TaskListFactory,
    private readonly logger: Logger,
    private readonly options: JobEngineOptions,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Starts the database's runner unless it runs; resolves once it takes jobs. */
  start(database: string): Promise<Runner> {
    let runner = this.runners.get(database);
    if (!runner) {
      if (this.stopped) return Promise.reject(new Error('the job engine is stopped'));
      // The runner's own pool, with the bounds of every other connection (SIDECAR_DATABASE_TIMEOUT):
      // given a connection string, graphile-worker would connect without any.
      const pgPool = new pg.Pool(this.pools.workerPoolConfig(database, this.options.concurrency + 1));
      pgPool.on('error', (error) =>
        this.logger.warn({ database, err: error.message }, 'job runner connection lost'),
      );
      this.workerPools.set(database, pgPool);
      runner = import('graphile-worker').then(({ run, Logger }) =>
        run({
          pgPool,
          schema: JOBS_SCHEMA,
          taskList: this.tasks(database),
          concurrency: this.options.concurrency,
          pollInterval: this.options.pollIntervalMs,
          noHandleSignals: true,
          logger: workerLogger(Logger, this.logger.child({ database })),
        }),
      );
      this.runners.set(database, runner);
      runner.then(
        () => this.logger.info({ database }, 'job runner started'),
        (error: Error) => {
          this.runners.delete(database);
          this.workerPools.delete(database);
          void pgPool.end().catch(() => {});
          this.logger.warn({ database, err: error.message }, 'job runner could not start');
        },
      );
    }
    return runner;
  }

  /** The queue of a database whose runner runs (started if needed). */
  async queue(database: string): Promise<JobQueue> {
    const runner = await this.start(database);
    return {
      add: async (task, payload, spec) => {
        await runner.addJob(task, payload as never, {
          ...spec,
          ...(spec.jobKey ? { jobKeyMode: 'preserve_run_at' as const } : {}),
        });
      },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.allSettled(runners.map(async (runner) => (await runner).stop()));
    const pools = [...this.workerPools.values()];
    this.workerPools.clear();
    await Promise.allSettled(pools.map((pool) => pool.end()));
  }
}

/** graphile-worker's log lines, through the sidecar's logger (its debug chatter stays at debug). */
function workerLogger(LoggerClass: typeof WorkerLogger, logger: Logger): WorkerLogger {
  return new LoggerClass((scope) => (level, message, meta) => {
    const { error, ...rest } = (meta ?? {}) as { error?: unknown };
    // An Error serializes to {}: keep its message, and the SQLSTATE or network code when it has one.
    const reason = error === undefined ? undefined : databaseFailureReason(error);
    const fields = {
      ...scope,
      ...rest,
      ...(error instanceof Error ? { err: error.message } : {}),
      ...(reason ? { reason } : {}),
    };
    // A lost or refused connection is database trouble the runner recovers from (it reconnects),
    // a warning like the sidecar's other database trouble, not an error per lost connection.
    if (level === 'error' && reason) logger.warn(fields, message);
    else if (level === 'error') logger.error(fields, message);
    else if (level === 'warning') logger.warn(fields, message);
    else if (level === 'info') logger.debug(fields, message);
    else logger.debug(fields, message);
  });
}
