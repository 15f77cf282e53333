/**
 * The one engine for background work: graphile-worker, on PostgreSQL. Each served Tryton database
 * gets its own job queue in its own schema (`google_integration_jobs`), so a database carries its
 * jobs with it in a backup, and any number of sidecar replicas share the queue: a job runs on one
 * replica, jobs with a key are never queued twice, failed jobs are retried with backoff, and a
 * replica that stops or dies releases its jobs (docs/contracts.md, "Releasing jobs"): completions
 * are written before the runner's connections close, and each runner beats a heartbeat that lets
 * the others release what a dead one locked (runner-heartbeat.ts). Runners start when a database
 * is first served (and, after a restart, for every served database found), and stop with the
 * sidecar; one that ends on its own is reported, to be started again, and one that lost its
 * database is replaced once the database is back, after the completions and failures of its jobs
 * are written (db/pools.ts, JobRunnerPool). graphile-worker is loaded with the first runner, so
 * commands that run none do not pay for it.
 */
import { EventEmitter } from 'node:events';
import type { Logger as WorkerLogger, Runner, TaskList, WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import { type DatabasePools, JobRunnerPool } from '../db/pools.js';
import { databaseFailureReason } from '../db/unavailable.js';
import type { Logger } from '../log.js';
import { RunnerHeartbeat } from './runner-heartbeat.js';

export const JOBS_SCHEMA = 'google_integration_jobs';

/**
 * graphile-worker 0.17.3's statements that release a job: its completion (`complete_job`,
 * `complete_job_q`, `complete_jobs`) or failure (`fail_job`, `fail_job_q`, `fail_jobs`), by the
 * names of its prepared statements (on by default). Each is idempotent (a job deleted, or released
 * only where this runner still locks it), so writing it again is safe.
 */
const RELEASE_STATEMENT = new RegExp(`^(?:complete|fail)_jobs?(?:_q)?/${JOBS_SCHEMA}$`);
const releasesAJob = (query: pg.QueryConfig) => RELEASE_STATEMENT.test(query.name ?? '');

export interface JobEngineOptions {
  /** Jobs run at once per database and replica. */
  readonly concurrency: number;
  /** How often a runner looks for jobs scheduled in the future (others arrive by NOTIFY at once). */
  readonly pollIntervalMs: number;
  /** How often each runner says it is alive; its heartbeat lapses after three of these. */
  readonly heartbeatMs: number;
  /** The replica, as it names itself in leases. */
  readonly holder: string;
  /** Told how many dead runners' locks a heartbeat released (a metric). */
  readonly onLocksReleased?: (runners: number) => void;
  /** A runner ended without being stopped (its pool gave up on the database): start it again. */
  readonly onRunnerEnded?: (database: string) => void;
}

export type TaskListFactory = (database: string) => TaskList;

/** What a task asks of the engine: more work, in the same database. */
export interface JobQueue {
  add(
    task: string,
    payload: unknown,
    spec: {
      jobKey?: string;
      runAt?: Date;
      maxAttempts?: number;
      queueName?: string;
      /** A job already queued under the key: keep its time (default), or move it to `runAt`. */
      moveQueued?: boolean;
    },
  ): Promise<void>;
}

export class JobEngine {
  private readonly runners = new Map<string, Promise<Runner>>();
  private readonly workerPools = new Map<string, JobRunnerPool>();
  private readonly heartbeats = new Map<string, RunnerHeartbeat>();
  private readonly replaced = new WeakSet<Promise<Runner>>();
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
      // given a connection string, graphile-worker would connect without any. It writes a job's
      // completion or failure once the database is back, whatever happened meanwhile (pools.ts).
      const pgPool = new JobRunnerPool(this.pools.workerPoolConfig(database, this.options.concurrency + 1), {
        releasesAJob,
        logger: this.logger.child({ database }),
        onRecovered: () => this.replace(database, started),
      });
      this.workerPools.set(database, pgPool);
      // The pool's id is what graphile-worker writes in `locked_by`: the heartbeat speaks for it
      // from before its first job.
      const events: WorkerEvents = new EventEmitter();
      events.on('pool:create', ({ workerPool }) => this.beat(database, workerPool.id));
      runner = import('graphile-worker').then(({ run, Logger }) =>
        run({
          pgPool,
          schema: JOBS_SCHEMA,
          taskList: this.tasks(database),
          concurrency: this.options.concurrency,
          pollInterval: this.options.pollIntervalMs,
          noHandleSignals: true,
          events,
          // Batched (even with no delay), completions and failures are flushed when the runner
          // stops, before its connections close; unbatched, a job finishing during a clean stop
          // stayed locked, and its queue with it, for graphile-worker's 4 hours.
          preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
          logger: workerLogger(Logger, this.logger.child({ database })),
        }),
      );
      const started = runner;
      this.runners.set(database, started);
      started.then(
        (running) => {
          this.logger.info({ database }, 'job runner started');
          pgPool.watch();
          running.promise.then(
            () => this.ended(database, started, 'stopped'),
            (error: Error) => this.ended(database, started, error.message),
          );
        },
        (error: Error) => {
          this.runners.delete(database);
          this.workerPools.delete(database);
          void this.heartbeats.get(database)?.stop();
          this.heartbeats.delete(database);
          void pgPool.end().catch(() => {});
          this.logger.warn({ database, err: error.message }, 'job runner could not start');
        },
      );
    }
    return runner;
  }

  private beat(database: string, runnerId: string): void {
    const heartbeat = new RunnerHeartbeat(
      this.pools.get(database),
      runnerId,
      {
        periodMs: this.options.heartbeatMs,
        holder: this.options.holder,
        ...(this.options.onLocksReleased ? { onReleased: this.options.onLocksReleased } : {}),
      },
      this.logger.child({ database }),
    );
    this.heartbeats.set(database, heartbeat);
    heartbeat.start();
  }

  /**
   * A runner whose pool lost the database and has it back: stopped (its jobs finish, their
   * completions written), then `ended` starts another. A statement that locked a job and whose
   * answer was lost in the outage left that job locked by this runner, where no worker runs it;
   * once this runner is gone, the next heartbeat releases it (runner-heartbeat.ts).
   */
  private replace(database: string, runner: Promise<Runner>): void {
    if (this.stopped || this.runners.get(database) !== runner || this.replaced.has(runner)) return;
    this.replaced.add(runner);
    this.logger.warn({ database }, 'job runner lost its database: replacing it now that it is back');
    runner
      .then((running) => running.stop())
      .catch((error: Error) =>
        this.logger.warn({ database, err: error.message }, 'job runner could not be stopped'),
      );
  }

  /** A runner that ended while the engine runs: forget it, so the next start makes a new one. */
  private ended(database: string, runner: Promise<Runner>, reason: string): void {
    if (this.stopped || this.runners.get(database) !== runner) return;
    this.runners.delete(database);
    const pool = this.workerPools.get(database);
    this.workerPools.delete(database);
    const heartbeat = this.heartbeats.get(database);
    this.heartbeats.delete(database);
    this.logger.warn({ database, reason }, 'job runner ended: starting it again');
    void (async () => {
      await heartbeat?.stop();
      await pool?.end().catch(() => {});
      this.options.onRunnerEnded?.(database);
    })();
  }

  /** The queue of a database whose runner runs (started if needed). */
  async queue(database: string): Promise<JobQueue> {
    const runner = await this.start(database);
    return {
      add: async (task, payload, { moveQueued, ...spec }) => {
        await runner.addJob(task, payload as never, {
          ...spec,
          ...(spec.jobKey
            ? { jobKeyMode: moveQueued ? ('replace' as const) : ('preserve_run_at' as const) }
            : {}),
        });
      },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // A completion or failure waiting for the database tries once more, then is left to the
    // replica that releases this runner's jobs: stopping does not wait for an outage to end.
    for (const pool of this.workerPools.values()) pool.stopWaiting();
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.allSettled(runners.map(async (runner) => (await runner).stop()));
    // Only once the runners stopped: until then their jobs are theirs.
    const heartbeats = [...this.heartbeats.values()];
    this.heartbeats.clear();
    await Promise.allSettled(heartbeats.map((heartbeat) => heartbeat.stop()));
    const pools = [...this.workerPools.values()];
    this.workerPools.clear();
    await Promise.allSettled(pools.map((pool) => pool.end()));
  }
}

/** graphile-worker's log lines, through the sidecar's logger (its debug chatter stays at debug). */
function workerLogger(LoggerClass: typeof WorkerLogger, logger: Logger): WorkerLogger {
  return new LoggerClass((scope) => (level, message, meta) => {
    // A failed completion or failure comes as `fatalError`.
    const { error: plain, fatalError, ...rest } = (meta ?? {}) as { error?: unknown; fatalError?: unknown };
    const error = plain ?? fatalError;
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
