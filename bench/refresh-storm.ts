/**
 * 4. Refresh storm: two `serve` replicas on one database, the emulator's token endpoint slowed by 200 ms,
 * 100 authorized credentials whose access tokens have expired, and 50 callers per credential per replica
 * asking `credentials.get_access_token` at once (10,000 calls through plain fetch, a concurrency cap).
 * Every caller must get a token, and Google must see exactly one refresh per credential.
 *
 * The bound is what the token endpoint's latency and the database allow, from figures of this run:
 *
 *   bound = L * ceil(C / R)  +  S / (T * replicas)
 *
 *   L  the latency added to the token endpoint (one refresh cannot take less);
 *   C  credentials to refresh;
 *   R  refreshes that may be in flight at once. Nothing but the design limits it: with no database
 *      connection held during a Google call all C go together (R = C). Today's code holds a pooled
 *      connection for each refresh, so R = pool size * replicas; that bound is printed too;
 *   S  statements the storm needs at least: one read per call (as on the valid-token path) plus, per
 *      refresh, BEGIN, SET LOCAL lock_timeout, SELECT ... FOR UPDATE, UPDATE, COMMIT;
 *   T  calls per second a process does when each call runs one pooled statement: item 1's echo+SELECT.
 *
 * The two terms are added, not overlapped: callers' reads of the fresh token follow the refresh.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EchoCeiling } from './echo-ceiling.js';
import type { Build } from './support/build.js';
import { type Child, spawnServer } from './support/children.js';
import { fmt } from './support/load.js';
import { compare, note, percentile, section } from './support/report.js';
import { CREDENTIALS_TABLE, type Emulator, type RpcAnswer, rpc, sidecarEnv, sql } from './support/stack.js';

const REPLICAS = 2;
const CALLERS = Number(process.env.BENCH_STORM_CALLERS ?? 50);
const LATENCY_MS = Number(process.env.BENCH_STORM_LATENCY ?? 200);
/** Calls in flight at once, over both replicas. */
const CONCURRENCY = Number(process.env.BENCH_STORM_CONCURRENCY ?? 1000);
const CALL_TIMEOUT_MS = Number(process.env.BENCH_STORM_CALL_TIMEOUT ?? 30_000);
const STORM_TIMEOUT_MS = Number(process.env.BENCH_STORM_TIMEOUT ?? 90_000);
/** Pool size of each replica (src/db/pools.ts, max 10). */
const POOL = 10;
const STATEMENTS_PER_REFRESH = 5;

export async function refreshStorm(
  build: Build,
  emulator: Emulator,
  database: string,
  credentials: readonly number[],
  ceiling: EchoCeiling,
): Promise<void> {
  const calls = credentials.length * CALLERS * REPLICAS;
  section(
    `4. Refresh storm: ${REPLICAS} replicas, ${credentials.length} expired credentials, ${CALLERS} callers ` +
      `per credential per replica (${fmt(calls)} calls, ${fmt(CONCURRENCY)} in flight), token endpoint +${LATENCY_MS} ms`,
  );
  const replicas: Child[] = [];
  try {
    for (let index = 0; index < REPLICAS; index++)
      replicas.push(
        await spawnServer(build.cli, {
          name: `storm-replica-${index + 1}`,
          args: ['serve'],
          env: sidecarEnv(emulator.url, database, 'info'),
        }),
      );
    // First use of the database (migration check, pool) happens before the storm, not in it.
    for (const replica of replicas)
      await rpc(replica.url, 'credentials.status', { database, credential_id: credentials[0] });
    await sql(
      database,
      `UPDATE ${CREDENTIALS_TABLE} SET token_expiry = timezone('UTC', now()) - interval '1 minute'
       WHERE id = ANY($1)`,
      [credentials],
    );
    await emulator.control('/latency', { ms: LATENCY_MS, endpoint: 'token' });
    const refreshesBefore = await emulator.refreshes();

    // Round-robin: every credential on every replica in each round of callers.
    const order: Array<{ url: string; id: number }> = [];
    for (let round = 0; round < CALLERS; round++)
      for (const id of credentials) for (const replica of replicas) order.push({ url: replica.url, id });
    const outcomes = new Map<string, number>();
    const latencies: number[] = [];
    const storm = AbortSignal.timeout(STORM_TIMEOUT_MS);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, calls) }, async () => {
        while (next < order.length) {
          const { url, id } = order[next++] as { url: string; id: number };
          const t0 = performance.now();
          const outcome = await outcomeOf(() =>
            rpc(
              url,
              'credentials.get_access_token',
              { database, credential_id: id },
              AbortSignal.any([storm, AbortSignal.timeout(CALL_TIMEOUT_MS)]),
            ),
          );
          latencies.push(performance.now() - t0);
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        }
      }),
    );
    const wallMs = performance.now() - started;
    await sleep(100);
    const refreshes = (await emulator.refreshes()) - refreshesBefore;
    await emulator.control('/latency', { ms: 0, endpoint: 'token' });
    const valid = await sql(
      database,
      `SELECT count(*)::int AS n FROM ${CREDENTIALS_TABLE}
       WHERE id = ANY($1) AND token_expiry > timezone('UTC', now())`,
      [credentials],
    );

    const statements = calls + STATEMENTS_PER_REFRESH * credentials.length;
    const throughput = ceiling.echoSelect.requestsPerSecond;
    const databaseMs = (1000 * statements) / (throughput * REPLICAS);
    const bound = (concurrent: number) =>
      LATENCY_MS * Math.ceil(credentials.length / concurrent) + databaseMs;
    const ideal = bound(credentials.length);
    const pooled = bound(POOL * REPLICAS);
    note(`answers by outcome (${fmt(calls)} calls):`);
    for (const [outcome, count] of [...outcomes].sort((a, b) => b[1] - a[1]))
      note(`  ${outcome.padEnd(58)} ${fmt(count).padStart(6)}`);
    if (!outcomes.has('-32603 (internal error)'))
      note(`  ${'-32603 (internal error)'.padEnd(58)} ${'0'.padStart(6)}`);
    note(
      `call latency: p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms, ` +
        `max ${fmt(Math.max(...latencies))} ms; credentials valid afterwards: ${valid.rows[0].n}/${credentials.length}`,
    );
    compare(
      'refreshes that reached Google',
      fmt(refreshes),
      {
        label: 'one per credential',
        value: fmt(credentials.length),
        ratio: refreshes / credentials.length,
      },
      'ratio 1.00',
    );
    compare(
      'wall time',
      `${fmt(wallMs)} ms`,
      { label: 'bound', value: `${fmt(ideal)} ms`, ratio: wallMs / ideal },
      'ratio near 1',
    );
    note(
      `bound = L*ceil(C/R) + S/(T*replicas) = ${LATENCY_MS}*ceil(${credentials.length}/${credentials.length}) + ` +
        `${fmt(statements)}/(${fmt(throughput)}*${REPLICAS}) s = ${fmt(LATENCY_MS)} + ${fmt(databaseMs)} ms`,
    );
    note(
      `  S = ${fmt(calls)} reads + ${STATEMENTS_PER_REFRESH}*${credentials.length} refresh statements; ` +
        `T = item 1's echo+SELECT req/s; R = C (no connection held during a Google call)`,
    );
    compare('wall time', `${fmt(wallMs)} ms`, {
      label: `pool-limited bound (R = ${POOL}*${REPLICAS})`,
      value: `${fmt(pooled)} ms`,
      ratio: wallMs / pooled,
    });
    note(
      `  = ${LATENCY_MS}*ceil(${credentials.length}/${POOL * REPLICAS}) + ${fmt(databaseMs)} ms: ` +
        "the best today's design (a pooled connection held through each refresh) could do",
    );
  } finally {
    await emulator.control('/latency', { ms: 0, endpoint: 'token' }).catch(() => {});
    await Promise.all(replicas.map((replica) => replica.stop()));
  }
}

async function outcomeOf(call: () => Promise<RpcAnswer>): Promise<string> {
  try {
    const answer = await call();
    if (answer.result) return 'result';
    const error = answer.error;
    if (!error) return 'neither result nor error';
    if (error.code === -32603) return '-32603 (internal error)';
    return `${error.code} ${error.data?.type ?? error.message}`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') return 'no answer (timed out)';
    if (cause) return `no answer (${[cause.code, cause.message].filter(Boolean).join(': ').slice(0, 48)})`;
    return `no answer (${(error as Error).message})`;
  }
}
