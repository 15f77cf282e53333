/**
 * What section 8 (push notifications) measures with: when a change made at Google shows in Tryton's
 * table (the database polled at a short interval), the PostgreSQL connections the sidecars hold
 * (pg_stat_activity, sampled), the CPU of processes and of the sidecars' database backends over a
 * window, and the sidecars' Prometheus counters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { cpuMs } from './children.js';

/** application_name of every connection the sidecar opens (src/db/pools.ts). */
export const SIDECAR_APPLICATION = 'tryton-google-sidecar';

export interface Arrival {
  readonly googleId: string;
  readonly tag: string;
  /** performance.now() when the change was made at Google (the emulator's answer back). */
  readonly madeAt: number;
  /** performance.now() when the poll that first saw its row was sent. */
  readonly seenAt: number;
  readonly ms: number;
}

/**
 * Events made at Google, waited for in Tryton's google_integration_event (by google_id): one query every
 * `pollMs` for all those not seen yet. A row seen by a poll was committed before that poll was sent and
 * after the one before it, so each time is an upper bound, late by less than one poll period.
 */
export class Arrivals {
  readonly arrived: Arrival[] = [];
  private readonly waiting = new Map<string, { madeAt: number; tag: string }>();
  /** Queries sent so far (to tell the bench's own statements from the sidecars'). */
  polls = 0;
  private running = true;
  private readonly loop: Promise<void>;
  private failure: Error | undefined;

  constructor(
    private readonly db: pg.Client,
    readonly pollMs: number,
  ) {
    this.loop = this.run().catch((error: Error) => {
      this.failure = error;
    });
  }

  expect(googleId: string, madeAt: number, tag = ''): void {
    this.waiting.set(googleId, { madeAt, tag });
  }

  get pending(): number {
    return this.waiting.size;
  }

  /** The changes not seen yet, with their tags. */
  missing(): Array<{ googleId: string; tag: string }> {
    return [...this.waiting].map(([googleId, { tag }]) => ({ googleId, tag }));
  }

  /** Resolves true once every change expected so far was seen, false after `timeoutMs`. */
  async settle(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.waiting.size > 0 && performance.now() < deadline) {
      if (this.failure) throw this.failure;
      await sleep(this.pollMs);
    }
    return this.waiting.size === 0;
  }

  /** Resolves with the arrival of `googleId`, or undefined after `timeoutMs`. */
  async arrival(googleId: string, timeoutMs: number): Promise<Arrival | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (this.waiting.has(googleId) && performance.now() < deadline) {
      if (this.failure) throw this.failure;
      await sleep(Math.max(1, this.pollMs / 4));
    }
    return this.arrived.findLast((one) => one.googleId === googleId);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const sentAt = performance.now();
      if (this.waiting.size > 0) {
        this.polls++;
        const result = await this.db.query(
          'SELECT google_id FROM google_integration_event WHERE google_id = ANY($1)',
          [[...this.waiting.keys()]],
        );
        for (const row of result.rows as Array<{ google_id: string }>) {
          const waited = this.waiting.get(row.google_id);
          if (!waited) continue;
          this.waiting.delete(row.google_id);
          this.arrived.push({
            googleId: row.google_id,
            tag: waited.tag,
            madeAt: waited.madeAt,
            seenAt: sentAt,
            ms: Math.max(0, sentAt - waited.madeAt),
          });
        }
      }
      await sleep(Math.max(0, this.pollMs - (performance.now() - sentAt)));
    }
  }
}

export interface ConnectionCounts {
  readonly samples: number;
  /** Connections open to the database (any state). */
  readonly peakOpen: number;
  readonly meanOpen: number;
  /** Of them, those not idle (running a statement, or idle in a transaction). */
  readonly peakBusy: number;
  readonly meanBusy: number;
}

/**
 * Samples the sidecars' connections to `database` every `everyMs` until the returned function is called
 * (one query a sample).
 */
export function sampleConnections(
  db: pg.Client,
  database: string,
  everyMs: number,
): () => Promise<ConnectionCounts> {
  const open: number[] = [];
  const busy: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const sentAt = performance.now();
      const row = (
        await db.query(
          `SELECT count(*)::int AS open, count(*) FILTER (WHERE state <> 'idle')::int AS busy
             FROM pg_stat_activity
            WHERE datname = $1 AND application_name = $2 AND backend_type = 'client backend'`,
          [database, SIDECAR_APPLICATION],
        )
      ).rows[0] as { open: number; busy: number };
      open.push(row.open);
      busy.push(row.busy);
      await sleep(Math.max(0, everyMs - (performance.now() - sentAt)));
    }
  })();
  // Awaited by the returned function; a failure meanwhile (the connection closed) is its to report.
  loop.catch(() => {});
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / (values.length || 1);
  return async () => {
    running = false;
    await loop;
    return {
      samples: open.length,
      peakOpen: Math.max(0, ...open),
      meanOpen: mean(open),
      peakBusy: Math.max(0, ...busy),
      meanBusy: mean(busy),
    };
  };
}

export interface CpuUse {
  /** CPU ms of each process, by name, in the order given. */
  readonly processes: ReadonlyArray<readonly [string, number]>;
  /** CPU ms of the sidecars' backends of the database (their pools, runners, listeners). */
  readonly backends: number;
  readonly wallMs: number;
}

/**
 * Starts counting the CPU (/proc, 10 ms ticks) of `processes` (name -> pid) and of the sidecars' database
 * backends (pg_stat_activity by application_name; backends that end within the window are missed).
 */
export async function cpuWindow(
  db: pg.Client,
  database: string,
  processes: Readonly<Record<string, number>>,
): Promise<() => Promise<CpuUse>> {
  const startedAt = performance.now();
  const start = Object.entries(processes).map(([name, pid]) => [name, pid, cpuMs(pid)] as const);
  const backends = await backendCpu(db, database);
  return async () => {
    let total = 0;
    for (const [pid, ms] of await backendCpu(db, database)) total += ms - (backends.get(pid) ?? 0);
    return {
      processes: start.map(([name, pid, ms]) => [name, cpuMs(pid) - ms] as const),
      backends: total,
      wallMs: performance.now() - startedAt,
    };
  };
}

async function backendCpu(db: pg.Client, database: string): Promise<Map<number, number>> {
  const result = await db.query(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2',
    [database, SIDECAR_APPLICATION],
  );
  const cpu = new Map<number, number>();
  for (const { pid } of result.rows as Array<{ pid: number }>) {
    try {
      cpu.set(Number(pid), cpuMs(Number(pid)));
    } catch {
      // Gone in between.
    }
  }
  return cpu;
}

/** A counter of the sidecar's /metrics, by the value of its one label (no label: key ''). */
export async function counter(url: string, name: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^(\w+)(?:\{[^=]+="([^"]*)"\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    values.set(match[2] ?? '', Number(match[3]));
  }
  return values;
}

/**
 * Transactions committed and rolled back in `database` so far (pg_stat_database; one per autocommitted
 * statement). PostgreSQL 15 shows a backend's counts up to 10 s late once it is idle.
 */
export async function transactions(db: pg.Client, database: string): Promise<number> {
  const result = await db.query(
    'SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  return Number(result.rows[0]?.n ?? Number.NaN);
}

/**
 * A histogram's count and sum (seconds) over several sidecars, for the series whose labels include
 * `selector` (e.g. `route="/google/notifications"`), every status.
 */
export async function histogramTotals(
  urls: readonly string[],
  name: string,
  selector: string,
): Promise<{ count: number; sum: number }> {
  let count = 0;
  let sum = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^(\w+)\{([^}]*)\}\s+(\S+)$/.exec(line);
      if (!match || !(match[2] as string).includes(selector)) continue;
      if (match[1] === `${name}_count`) count += Number(match[3]);
      else if (match[1] === `${name}_sum`) sum += Number(match[3]);
    }
  }
  return { count, sum };
}

/** The sum of `name{label=value}` over several sidecars. */
export async function counterSum(urls: readonly string[], name: string, value: string): Promise<number> {
  let sum = 0;
  for (const url of urls) sum += (await counter(url, name)).get(value) ?? 0;
  return sum;
}
