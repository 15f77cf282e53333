/** HTTP load with autocannon: 32 connections on 127.0.0.1, the same JSON-RPC POST for every request. */
import autocannon from 'autocannon';
import { cpuMs } from './children.js';

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Seconds each measured load lasts; the echo ceiling and the sidecar use the same. */
export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  /** Connection errors, timeouts, non-2xx answers and bodies unlike the expected one. */
  readonly failures: number;
  /**
   * The server's CPU time per answered request, µs (user + system, from /proc, during the measured
   * load): what one request costs the server, whatever the load generator beside it takes of the
   * machine's two cores. NaN when no pid was given.
   */
  readonly cpuUsPerRequest: number;
  /** process.hrtime.bigint() when the measured load began and ended. */
  readonly startedAt: bigint;
  readonly endedAt: bigint;
}

export interface LoadOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Every answer must equal this body (a JSON-RPC error would still be a 200). */
  readonly expectBody: string;
  readonly warmup?: boolean;
  /** The server's process, whose CPU time is read around the measured load. */
  readonly pid?: number | undefined;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const request = {
    url: `${options.url}/rpc`,
    connections: CONNECTIONS,
    method: 'POST',
    headers: options.headers,
    body: options.body,
    expectBody: options.expectBody,
  };
  if (options.warmup !== false && WARMUP > 0) await autocannon({ ...request, duration: WARMUP });
  const cpuBefore = options.pid === undefined ? Number.NaN : cpuMs(options.pid);
  const startedAt = process.hrtime.bigint();
  const result = await autocannon({ ...request, duration: DURATION });
  const endedAt = process.hrtime.bigint();
  const cpuUsed = options.pid === undefined ? Number.NaN : cpuMs(options.pid) - cpuBefore;
  return {
    requestsPerSecond: result.requests.total / result.duration,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failures: result.errors + result.timeouts + result.non2xx + result.mismatches,
    cpuUsPerRequest: (cpuUsed * 1000) / result.requests.total,
    startedAt,
    endedAt,
  };
}

export function describeLoad(result: LoadResult): string {
  return (
    `${fmt(result.requestsPerSecond)} req/s, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms` +
    (Number.isNaN(result.cpuUsPerRequest) ? '' : `, server CPU ${fmt(result.cpuUsPerRequest)} µs/request`) +
    (result.failures > 0 ? `, ${result.failures} FAILED` : '')
  );
}

export function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
