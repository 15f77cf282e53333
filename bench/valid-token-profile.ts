/**
 * 5. Where a valid-token `get_access_token` spends its CPU beyond the one SELECT: the sidecar under the
 * same autocannon load with `node --cpu-prof` (LOG_LEVEL=info, the default), and the echo+SELECT server of
 * item 1 under the same load and profiler as the bound. Samples during the load are charged to the
 * package or sidecar file that asked for them and shown as microseconds of CPU per request.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EchoCeiling } from './echo-ceiling.js';
import { type Build, CACHE } from './support/build.js';
import { spawnServer } from './support/children.js';
import {
  byCategory,
  latestProfile,
  type ProfileSummary,
  summarizeProfile,
  top,
} from './support/cpu-profile.js';
import { describeLoad, fmt, type LoadResult, load } from './support/load.js';
import { compare, note, section } from './support/report.js';
import { databaseUri, sidecarEnv } from './support/stack.js';
import { validTokenRequest } from './valid-token.js';

const INTERVAL_US = Number(process.env.BENCH_PROFILE_INTERVAL ?? 250);

interface Profiled {
  readonly result: LoadResult;
  readonly profile: ProfileSummary;
  /** Microseconds of CPU per request for `ms` of CPU in the load window. */
  perRequest(ms: number): number;
}

export async function validTokenProfile(
  build: Build,
  emulatorUrl: string,
  database: string,
  credentialId: number,
  ceiling: EchoCeiling,
): Promise<void> {
  section('5. CPU profile of get_access_token with a valid token (--cpu-prof under load, LOG_LEVEL=info)');
  const request = validTokenRequest(database, credentialId);
  const sidecar = await profiledLoad(
    'serve-profiled',
    build.cli,
    ['serve'],
    sidecarEnv(emulatorUrl, database),
    request,
  );
  const echo = await profiledLoad(
    'echo-select-profiled',
    build.echoServer,
    [],
    { PATH: process.env.PATH, ECHO_SELECT: databaseUri(database) },
    request,
  );
  note(`sidecar under the profiler:     ${describeLoad(sidecar.result)}`);
  note(`echo+SELECT under the profiler: ${describeLoad(echo.result)}`);
  const sidecarUs = sidecar.perRequest(sidecar.profile.busyMs);
  const echoUs = echo.perRequest(echo.profile.busyMs);
  compare('CPU per request, sidecar', `${sidecarUs.toFixed(0)} us`, {
    label: 'echo+SELECT, same profiler',
    value: `${echoUs.toFixed(0)} us`,
    ratio: sidecarUs / echoUs,
  });
  note(
    `(item 1 without profiler: echo+SELECT ${fmt(1e6 / ceiling.echoSelect.requestsPerSecond)} us, ` +
      `echo ${fmt(1e6 / ceiling.echo.requestsPerSecond)} us of wall time per request at their ceilings)`,
  );
  note('by part of the path, us of CPU per request:    sidecar  echo+SELECT  difference');
  const sidecarParts = byCategory(sidecar.profile);
  const echoParts = byCategory(echo.profile);
  for (const [category, ms] of top(sidecarParts, 16)) {
    const mine = sidecar.perRequest(ms);
    const theirs = echo.perRequest(echoParts.get(category) ?? 0);
    note(
      `  ${category.padEnd(42)} ${mine.toFixed(0).padStart(6)} ${theirs.toFixed(0).padStart(12)} ` +
        `${(mine - theirs).toFixed(0).padStart(11)}`,
    );
  }
  note('sidecar by owner (package or sidecar file), us per request, top 16:');
  for (const [owner, ms] of top(sidecar.profile.byOwner, 16))
    note(`  ${owner.padEnd(44)} ${sidecar.perRequest(ms).toFixed(1).padStart(6)} us`);
  note('sidecar top self-time functions, us per request:');
  for (const [name, ms] of top(sidecar.profile.byFunction, 16))
    note(`  ${sidecar.perRequest(ms).toFixed(1).padStart(6)} us  ${name}`);
}

async function profiledLoad(
  name: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  request: { readonly headers: Record<string, string>; readonly body: string },
): Promise<Profiled> {
  const directory = join(CACHE, 'profiles', name);
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const server = await spawnServer(script, {
    name,
    args,
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', directory, '--cpu-prof-interval', String(INTERVAL_US)],
    env,
  });
  let result: LoadResult;
  try {
    const sample = await (await fetch(`${server.url}/rpc`, { method: 'POST', ...request })).text();
    result = await load({ url: server.url, ...request, expectBody: sample });
  } finally {
    await server.stop();
  }
  const profile = summarizeProfile(latestProfile(directory), { from: result.startedAt, to: result.endedAt });
  if (!profile.windowed) note(`${name}: no sample in the load window, the whole profile is used`);
  return { result, profile, perRequest: (ms) => (1000 * ms) / result.requests };
}
