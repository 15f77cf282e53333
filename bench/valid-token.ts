/**
 * 2. `credentials.get_access_token` on a token that is still valid: the sidecar (`serve`, child process)
 * under autocannon, at LOG_LEVEL=info (the default) and warn, and at info with V8's young generation
 * capped (SETUPS), against the bare echo of item 1. The machine is shared, so the comparison is made
 * BENCH_TOKEN_ROUNDS times (default 3), alternating the echo server and the sidecar, and the median ratio is the figure, in requests per second and in requests per
 * CPU-second of the server (the steadier of the two on a shared machine). Each sidecar is a fresh process that
 * authorizes one credential of its own through the emulator before its idle RSS is read ("idle after an
 * authorization"): what a replica holds once it has served the whole OAuth flow and sits idle, read
 * IDLE_SECONDS after the authorization and again SETTLE_SECONDS after it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type EchoCeiling, IDLE_SECONDS } from './echo-ceiling.js';
import type { Build } from './support/build.js';
import { spawnServer } from './support/children.js';
import { describeLoad, fmt, type LoadResult, load } from './support/load.js';
import { compare, median, note, section } from './support/report.js';
import { authorizedCredentials, type Emulator, RPC_HEADERS, rpcBody, sidecarEnv } from './support/stack.js';

export const ROUNDS = Math.max(1, Number(process.env.BENCH_TOKEN_ROUNDS ?? 3));
/**
 * Seconds after the authorization when RSS is read once more, at LOG_LEVEL=info (0: not at all): V8
 * gives back the young generation the start and the authorization grew only when its memory reducer
 * runs, seconds to tens of seconds later.
 */
export const SETTLE_SECONDS = Number(process.env.BENCH_SETTLE_SECONDS ?? 30);
/**
 * The settings each round runs: the two log levels as shipped, and LOG_LEVEL=info with V8's young
 * generation capped (each semi-space at 2 MiB instead of Node's 16), the memory-for-CPU trade an
 * operator can make with NODE_OPTIONS (docs/deployment.md, "Memory"): printed beside the default so
 * both sides of the trade are read in the same run.
 */
export const SETUPS = [
  { name: 'info', level: 'info', nodeArgs: [] },
  { name: 'warn', level: 'warn', nodeArgs: [] },
  { name: 'info, --max-semi-space-size=2', level: 'info', nodeArgs: ['--max-semi-space-size=2'] },
] as const;

export interface ValidTokenRun {
  /** The setup's name (SETUPS). */
  readonly setup: string;
  readonly level: string;
  readonly round: number;
  readonly result: LoadResult;
  /** The bare echo measured just before this round (item 1's for the first). */
  readonly echo: LoadResult;
  /** RSS once started and left alone, before any call. */
  readonly startRssMiB: number;
  /** RSS after one authorization (request_authorization, consent, callback), left alone IDLE_SECONDS. */
  readonly idleRssMiB: number;
  /** The same SETTLE_SECONDS after the authorization, when asked for. */
  readonly settledRssMiB: number | undefined;
  readonly loadedRssMiB: number;
}

export interface ValidToken {
  readonly runs: readonly ValidTokenRun[];
  /** The credential loaded here, then the others authorized along the way for later items. */
  readonly credentials: readonly number[];
}

export function validTokenRequest(database: string, credentialId: number) {
  return {
    headers: RPC_HEADERS,
    body: rpcBody('credentials.get_access_token', { database, credential_id: credentialId }),
  };
}

export async function validToken(
  build: Build,
  emulator: Emulator,
  database: string,
  ceiling: EchoCeiling,
  credentialCount: number,
): Promise<ValidToken> {
  section(
    `2. get_access_token, valid token (sidecar \`serve\` child process, one authorized credential; ` +
      `${ROUNDS} round(s) alternating with the bare echo, medians)`,
  );
  let loaded: number | undefined;
  let others: number[] = [];
  const runs: ValidTokenRun[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const echo = round === 0 ? ceiling.echo : await ceiling.measureEcho();
    if (round > 0) note(`round ${round + 1}: echo ${describeLoad(echo)}`);
    for (const { name, level, nodeArgs } of SETUPS) {
      const sidecar = await spawnServer(build.cli, {
        name: `serve-${name.replace(/[^a-z0-9]+/g, '-')}-${round + 1}`,
        args: ['serve'],
        nodeArgs,
        env: sidecarEnv(emulator.url, database, level),
      });
      try {
        await sleep(IDLE_SECONDS * 1000);
        const startRssMiB = sidecar.rssMiB();
        const [own] = await authorizedCredentials(sidecar.url, emulator, database, 1);
        loaded ??= own;
        await sleep(IDLE_SECONDS * 1000);
        const idleRssMiB = sidecar.rssMiB();
        let settledRssMiB: number | undefined;
        // Only where the bound is read (LOG_LEVEL=info, as shipped): it takes a while.
        if (name === 'info' && SETTLE_SECONDS > IDLE_SECONDS) {
          await sleep((SETTLE_SECONDS - IDLE_SECONDS) * 1000);
          settledRssMiB = sidecar.rssMiB();
        }
        const request = validTokenRequest(database, loaded as number);
        const sample = await (await fetch(`${sidecar.url}/rpc`, { method: 'POST', ...request })).text();
        if (!sample.includes('"result"')) throw new Error(`get_access_token answered ${sample}`);
        const result = await load({
          url: sidecar.url,
          ...request,
          expectBody: sample,
          pid: sidecar.child.pid,
        });
        runs.push({
          setup: name,
          level,
          round,
          result,
          echo,
          startRssMiB,
          idleRssMiB,
          settledRssMiB,
          loadedRssMiB: sidecar.rssMiB(),
        });
        note(
          `round ${round + 1}, LOG_LEVEL=${name}: ${describeLoad(result)}; ratio to echo ` +
            `${(result.requestsPerSecond / echo.requestsPerSecond).toFixed(2)}`,
        );
        // Later items (the refresh storm) need credentials nobody has loaded yet.
        if (others.length === 0 && credentialCount > 1)
          others = await authorizedCredentials(sidecar.url, emulator, database, credentialCount - 1);
      } finally {
        await sidecar.stop();
      }
    }
  }
  for (const { name: level } of SETUPS) {
    const mine = runs.filter((run) => run.setup === level);
    const ratios = mine.map((run) => run.result.requestsPerSecond / run.echo.requestsPerSecond);
    const rps = median(mine.map((run) => run.result.requestsPerSecond));
    const echoRps = median(mine.map((run) => run.echo.requestsPerSecond));
    compare(
      `req/s, LOG_LEVEL=${level}`,
      `${fmt(rps)} req/s`,
      { label: 'echo', value: `${fmt(echoRps)} req/s`, ratio: median(ratios) },
      'ratio >= 0.90',
    );
    if (ratios.length > 1)
      note(`ratio to the echo of each round: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
    // The same bound per core: requests one CPU-second of the server answers. autocannon shares the
    // two cores with the server, so req/s moves with whatever else runs; CPU per request does not.
    const perCpu = (run: LoadResult) => 1e6 / run.cpuUsPerRequest;
    const cpuRatios = mine.map((run) => perCpu(run.result) / perCpu(run.echo));
    compare(
      `req per server CPU-s, LOG_LEVEL=${level}`,
      `${fmt(median(mine.map((run) => perCpu(run.result))))} req`,
      {
        label: 'echo',
        value: `${fmt(median(mine.map((run) => perCpu(run.echo))))} req`,
        ratio: median(cpuRatios),
      },
      'ratio >= 0.90',
    );
    if (cpuRatios.length > 1)
      note(
        `per CPU-second, ratio to the echo of each round: ${cpuRatios.map((r) => r.toFixed(2)).join(', ')}`,
      );
    compare('', '', {
      label: 'echo+SELECT',
      value: `${fmt(ceiling.echoSelect.requestsPerSecond)} req/s`,
      ratio: rps / ceiling.echoSelect.requestsPerSecond,
    });
    const p50 = median(mine.map((run) => run.result.p50));
    const p99 = median(mine.map((run) => run.result.p99));
    compare(`p50 latency, LOG_LEVEL=${level}`, `${p50.toFixed(1)} ms`, {
      label: 'echo+SELECT p50',
      value: `${ceiling.echoSelect.p50.toFixed(1)} ms`,
      ratio: p50 / ceiling.echoSelect.p50,
    });
    compare(`p99 latency, LOG_LEVEL=${level}`, `${p99.toFixed(1)} ms`, {
      label: 'echo+SELECT p99',
      value: `${ceiling.echoSelect.p99.toFixed(1)} ms`,
      ratio: p99 / ceiling.echoSelect.p99,
    });
  }
  return { runs, credentials: [loaded as number, ...others] };
}
