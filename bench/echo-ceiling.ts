/**
 * 1. The echo ceiling: what express 5 + json-rpc-2.0 alone allow on this machine (the sidecar can only be
 * slower), and the same with one `SELECT 1` per call on a knex pg pool of 10 (what one indexed read allows).
 * Each server is a child process; autocannon sends the very request the sidecar gets.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Build } from './support/build.js';
import { spawnServer } from './support/children.js';
import { describeLoad, type LoadResult, load } from './support/load.js';
import { note, section } from './support/report.js';
import { databaseUri } from './support/stack.js';

export interface EchoCeiling {
  readonly echo: LoadResult;
  readonly echoSelect: LoadResult;
  readonly idleRssMiB: number;
  readonly loadedRssMiB: number;
  /** The bare echo again, in a fresh process (item 2 alternates it with the sidecar). */
  measureEcho(): Promise<LoadResult>;
}

/** Seconds a freshly started server is left alone before its idle RSS is read. */
export const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 3);

export async function echoCeiling(
  build: Build,
  database: string,
  request: { readonly headers: Record<string, string>; readonly body: string },
): Promise<EchoCeiling> {
  section('1. Echo ceiling (bare express 5 + json-rpc-2.0, express.text + receiveJSON, child process)');
  const run = async (name: string, env: NodeJS.ProcessEnv) => {
    const server = await spawnServer(build.echoServer, { name, args: [], env });
    try {
      await sleep(IDLE_SECONDS * 1000);
      const idleRssMiB = server.rssMiB();
      const sample = await fetch(`${server.url}/rpc`, { method: 'POST', ...request });
      const result = await load({
        url: server.url,
        ...request,
        expectBody: await sample.text(),
        pid: server.child.pid,
      });
      return { result, idleRssMiB, loadedRssMiB: server.rssMiB() };
    } finally {
      await server.stop();
    }
  };
  const echo = await run('echo', { PATH: process.env.PATH });
  note(`echo:            ${describeLoad(echo.result)}`);
  const select = await run('echo-select', { PATH: process.env.PATH, ECHO_SELECT: databaseUri(database) });
  note(`echo + SELECT 1: ${describeLoad(select.result)}   (pool of 10)`);
  note(
    `echo + SELECT 1 / echo: ${(select.result.requestsPerSecond / echo.result.requestsPerSecond).toFixed(2)} ` +
      '(the cost of one pooled statement per call)',
  );
  return {
    echo: echo.result,
    echoSelect: select.result,
    idleRssMiB: echo.idleRssMiB,
    loadedRssMiB: echo.loadedRssMiB,
    measureEcho: async () => (await run('echo', { PATH: process.env.PATH })).result,
  };
}
