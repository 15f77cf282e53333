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
 *      connection held during a Google call all C go together (R = C). A design holding a pooled
 *      connection through each refresh (the code before 6e7bde0) has R = pool size * replicas; that
 *      bound is printed too (BENCH_SOURCE=<commit> measures older code);
 *   S  statements the storm needs at least: one read per call (as on the valid-token path) plus, per
 *      refresh, BEGIN, SET LOCAL lock_timeout, SELECT ... FOR UPDATE, UPDATE, COMMIT;
 *   T  calls per second a process does when each call runs one pooled statement: item 1's echo+SELECT.
 *
 * The two terms are added, not overlapped: callers' reads of the fresh token follow the refresh.
 */
import { Agent, request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EchoCeiling } from './echo-ceiling.js';
import type { Build } from './support/build.js';
import { type Child, spawnServer } from './support/children.js';
import { fmt } from './support/load.js';
import { compare, note, percentile, section } from './support/report.js';
import {
  CREDENTIALS_TABLE,
  type Emulator,
  RPC_HEADERS,
  type RpcAnswer,
  rpc,
  rpcBody,
  sidecarEnv,
  sql,
} from './support/stack.js';

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

    const storm = await callAll(replicas, database, credentials);
    const { outcomes, latencies } = storm;
    const wallMs = storm.ms;
    await sleep(100);
    const refreshes = (await emulator.refreshes()) - refreshesBefore;
    await emulator.control('/latency', { ms: 0, endpoint: 'token' });
    const valid = await sql(
      database,
      `SELECT count(*)::int AS n FROM ${CREDENTIALS_TABLE}
       WHERE id = ANY($1) AND token_expiry > timezone('UTC', now())`,
      [credentials],
    );

    // The same calls again, every token now valid: what this harness and the two replicas take for
    // 10,000 answers with no refresh at all, on this machine, now.
    const floor = await callAll(replicas, database, credentials);

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
        'the best a design holding a pooled connection through each refresh could do (before 6e7bde0)',
    );
    compare('wall time', `${fmt(wallMs)} ms`, {
      label: 'the same calls, tokens valid, + L',
      value: `${fmt(floor.ms + LATENCY_MS)} ms`,
      ratio: wallMs / (floor.ms + LATENCY_MS),
    });
    note(
      `  = ${fmt(floor.ms)} ms for the ${fmt(calls)} calls again right after (no refresh; ` +
        `p50 ${fmt(percentile(floor.latencies, 50))} ms, p99 ${fmt(percentile(floor.latencies, 99))} ms, ` +
        `${fmt(floor.outcomes.get('result') ?? 0)} results) + ${LATENCY_MS} ms for one refresh`,
    );
  } finally {
    await emulator.control('/latency', { ms: 0, endpoint: 'token' }).catch(() => {});
    await Promise.all(replicas.map((replica) => replica.stop()));
  }
}

/**
 * Every credential's callers on every replica, at most CONCURRENCY in flight. Each replica gets its
 * own callers (the cap split evenly), so no client socket sits idle long enough to meet the server's
 * keep-alive timeout; within a replica every credential appears in each round.
 */
async function callAll(
  replicas: readonly Child[],
  database: string,
  credentials: readonly number[],
): Promise<{ ms: number; outcomes: Map<string, number>; latencies: number[] }> {
  const outcomes = new Map<string, number>();
  const latencies: number[] = [];
  const storm = AbortSignal.timeout(STORM_TIMEOUT_MS);
  const started = performance.now();
  await Promise.all(
    replicas.map(async (replica) => {
      const order = Array.from({ length: CALLERS * credentials.length }, (_, index) => {
        return credentials[index % credentials.length] as number;
      });
      let next = 0;
      const workers = Math.min(Math.ceil(CONCURRENCY / REPLICAS), order.length);
      // At most one socket per caller: fetch's pool (undici) cannot be capped without the undici
      // package, and its spare sockets met the server's 5 s keep-alive timeout ("other side closed").
      const agent = new Agent({ keepAlive: true, maxSockets: workers });
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (next < order.length) {
            const id = order[next++] as number;
            const t0 = performance.now();
            const outcome = await outcomeOf(() =>
              post(
                agent,
                replica.url,
                rpcBody('credentials.get_access_token', { database, credential_id: id }),
                AbortSignal.any([storm, AbortSignal.timeout(CALL_TIMEOUT_MS)]),
              ),
            );
            latencies.push(performance.now() - t0);
            outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          }
        }),
      );
      agent.destroy();
    }),
  );
  return { ms: performance.now() - started, outcomes, latencies };
}

/** One JSON-RPC POST over `agent`'s sockets. */
function post(agent: Agent, url: string, body: string, signal: AbortSignal): Promise<RpcAnswer> {
  return new Promise((resolve, reject) => {
    const call = httpRequest(
      `${url}/rpc`,
      { method: 'POST', agent, headers: RPC_HEADERS, signal },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`HTTP ${response.statusCode}`));
          else resolve(JSON.parse(Buffer.concat(chunks).toString()) as RpcAnswer);
        });
      },
    );
    call.on('error', reject);
    call.end(body);
  });
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
    const code = (error as { code?: string }).code;
    if (code) return `no answer (${code})`;
    if (cause) return `no answer (${[cause.code, cause.message].filter(Boolean).join(': ').slice(0, 48)})`;
    return `no answer (${(error as Error).message})`;
  }
}
