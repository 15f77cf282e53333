/**
 * 2. `credentials.get_access_token` on a token that is still valid: the sidecar (`serve`, child process)
 * under autocannon, at LOG_LEVEL=info (the default) and warn, against the echo ceilings of the same run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type EchoCeiling, IDLE_SECONDS } from './echo-ceiling.js';
import type { Build } from './support/build.js';
import { spawnServer } from './support/children.js';
import { describeLoad, fmt, type LoadResult, load } from './support/load.js';
import { compare, note, section } from './support/report.js';
import { authorizedCredentials, type Emulator, RPC_HEADERS, rpcBody, sidecarEnv } from './support/stack.js';

export interface ValidTokenRun {
  readonly level: string;
  readonly result: LoadResult;
  readonly idleRssMiB: number;
  readonly loadedRssMiB: number;
}

export interface ValidToken {
  readonly runs: readonly ValidTokenRun[];
  /** Every credential authorized along the way: the first is the one loaded here. */
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
  section('2. get_access_token, valid token (sidecar `serve` child process, one authorized credential)');
  let credentials: number[] = [];
  const runs: ValidTokenRun[] = [];
  for (const level of ['info', 'warn']) {
    const sidecar = await spawnServer(build.cli, {
      name: `serve-${level}`,
      args: ['serve'],
      env: sidecarEnv(emulator.url, database, level),
    });
    try {
      await sleep(IDLE_SECONDS * 1000);
      const idleRssMiB = sidecar.rssMiB();
      if (credentials.length === 0)
        credentials = await authorizedCredentials(sidecar.url, emulator, database, credentialCount);
      const request = validTokenRequest(database, credentials[0] as number);
      const sample = await (await fetch(`${sidecar.url}/rpc`, { method: 'POST', ...request })).text();
      if (!sample.includes('"result"')) throw new Error(`get_access_token answered ${sample}`);
      const result = await load({ url: sidecar.url, ...request, expectBody: sample });
      runs.push({ level, result, idleRssMiB, loadedRssMiB: sidecar.rssMiB() });
      note(`LOG_LEVEL=${level}: ${describeLoad(result)}`);
    } finally {
      await sidecar.stop();
    }
  }
  for (const { level, result } of runs) {
    const figure = `${fmt(result.requestsPerSecond)} req/s`;
    compare(`req/s, LOG_LEVEL=${level}`, figure, ratio(result, ceiling.echo, 'echo'), 'ratio >= 0.90');
    compare('', '', ratio(result, ceiling.echoSelect, 'echo+SELECT'));
    compare(`p50 latency, LOG_LEVEL=${level}`, `${result.p50.toFixed(1)} ms`, {
      label: 'echo+SELECT p50',
      value: `${ceiling.echoSelect.p50.toFixed(1)} ms`,
      ratio: result.p50 / ceiling.echoSelect.p50,
    });
    compare(`p99 latency, LOG_LEVEL=${level}`, `${result.p99.toFixed(1)} ms`, {
      label: 'echo+SELECT p99',
      value: `${ceiling.echoSelect.p99.toFixed(1)} ms`,
      ratio: result.p99 / ceiling.echoSelect.p99,
    });
  }
  return { runs, credentials };
}

function ratio(result: LoadResult, bound: LoadResult, label: string) {
  return {
    label: `${label}`,
    value: `${fmt(bound.requestsPerSecond)} req/s`,
    ratio: result.requestsPerSecond / bound.requestsPerSecond,
  };
}
