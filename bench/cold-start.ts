/**
 * 3. Cold start and memory: spawn `serve` → first 200 from /readyz (median of several), the bare echo
 * server for scale, RSS at start, idle after an authorization and after load (read in items 1 and 2,
 * medians), what each main import costs in a fresh process, and a CPU profile of one start charged to
 * packages.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type EchoCeiling, IDLE_SECONDS } from './echo-ceiling.js';
import { type Build, CACHE } from './support/build.js';
import { spawnServer } from './support/children.js';
import { latestProfile, summarizeProfile, top } from './support/cpu-profile.js';
import { fmt } from './support/load.js';
import { compare, median, note, section } from './support/report.js';
import { sidecarEnv } from './support/stack.js';
import { SETTLE_SECONDS, SETUPS, type ValidToken } from './valid-token.js';

const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);
const IMPORT_RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 3);
const MODULES = [
  'google-auth-library',
  'knex',
  'pg',
  'pino',
  'prom-client',
  'zod',
  'express',
  'json-rpc-2.0',
] as const;

export async function coldStart(
  build: Build,
  emulatorUrl: string,
  database: string,
  ceiling: EchoCeiling,
  valid: ValidToken,
): Promise<void> {
  section(`3. Cold start (spawn -> first 200 from /readyz, median of ${RUNS}) and resident memory`);
  const sidecar: number[] = [];
  const echo: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = await spawnServer(build.cli, {
      name: 'cold-serve',
      args: ['serve'],
      env: sidecarEnv(emulatorUrl, database, 'info'),
    });
    sidecar.push(started.readyMs);
    await started.stop();
    const bare = await spawnServer(build.echoServer, { name: 'cold-echo', args: [], env: {} });
    echo.push(bare.readyMs);
    await bare.stop();
  }
  const list = (values: number[]) => values.map((value) => value.toFixed(0)).join(', ');
  compare(
    'cold start, sidecar serve',
    `${median(sidecar).toFixed(0)} ms`,
    { label: 'echo server', value: `${median(echo).toFixed(0)} ms`, ratio: median(sidecar) / median(echo) },
    '< 1000 ms',
  );
  note(`runs (ms): sidecar ${list(sidecar)}; echo ${list(echo)}`);
  const mib = (values: readonly number[]) => values.map((value) => value.toFixed(1)).join(', ');
  for (const { name: level } of SETUPS) {
    const runs = valid.runs.filter((run) => run.setup === level);
    if (runs.length === 0) continue;
    const idle = median(runs.map((run) => run.idleRssMiB));
    const start = median(runs.map((run) => run.startRssMiB));
    const loaded = median(runs.map((run) => run.loadedRssMiB));
    const settledRuns = runs.flatMap((run) => (run.settledRssMiB === undefined ? [] : [run.settledRssMiB]));
    const settled = settledRuns.length > 0 ? median(settledRuns) : undefined;
    const echoIdle = (value: number) => ({
      label: 'echo idle',
      value: `${ceiling.idleRssMiB.toFixed(1)} MiB`,
      ratio: value / ceiling.idleRssMiB,
    });
    if (level === 'info') {
      compare(
        `idle RSS ${IDLE_SECONDS} s after an authorization`,
        `${idle.toFixed(1)} MiB`,
        echoIdle(idle),
        '< 80 MiB',
      );
      if (settled !== undefined)
        compare(
          `idle RSS ${SETTLE_SECONDS} s after an authorization`,
          `${settled.toFixed(1)} MiB`,
          echoIdle(settled),
          '< 80 MiB',
        );
      compare('idle RSS at start, before any call', `${start.toFixed(1)} MiB`, echoIdle(start));
      compare('RSS after load', `${loaded.toFixed(1)} MiB`, {
        label: 'echo after load',
        value: `${ceiling.loadedRssMiB.toFixed(1)} MiB`,
        ratio: loaded / ceiling.loadedRssMiB,
      });
    } else if (level !== 'warn') {
      // The operator's trade (docs/deployment.md, "Memory"); its CPU side is section 2's figures.
      compare(
        `idle RSS ${IDLE_SECONDS} s after an authorization, ${level}`,
        `${idle.toFixed(1)} MiB`,
        echoIdle(idle),
        '< 80 MiB',
      );
    }
    note(
      `LOG_LEVEL=${level}, medians of ${runs.length}: at start ${start.toFixed(1)} MiB; after an authorization ` +
        `${idle.toFixed(1)} MiB at ${IDLE_SECONDS} s (runs: ${mib(runs.map((run) => run.idleRssMiB))})` +
        (settled === undefined
          ? ''
          : `, ${settled.toFixed(1)} MiB at ${SETTLE_SECONDS} s (runs: ${mib(settledRuns)})`) +
        `; after load ${loaded.toFixed(1)} MiB`,
    );
  }

  await importCosts(build);
  await startupProfile(build, emulatorUrl, database);
}

interface ImportCost {
  readonly ms: number;
  readonly rssMiB: number;
}

/** Each module imported alone in a fresh node (shared dependencies count for each), median of a few. */
async function importCosts(build: Build): Promise<void> {
  const measure = async (specifier: string): Promise<ImportCost> => {
    const samples: ImportCost[] = [];
    for (let run = 0; run < IMPORT_RUNS; run++) {
      const { stdout } = await promisify(execFile)(process.execPath, [build.importCost, specifier]);
      const line = JSON.parse(stdout) as { ms: number; rssBefore: number; rssAfter: number };
      samples.push({ ms: line.ms, rssMiB: (line.rssAfter - line.rssBefore) / 2 ** 20 });
    }
    return {
      ms: median(samples.map((sample) => sample.ms)),
      rssMiB: median(samples.map((sample) => sample.rssMiB)),
    };
  };
  const nodeStarted = performance.now();
  await promisify(execFile)(process.execPath, [build.importCost, 'node:os']);
  const nodeMs = performance.now() - nodeStarted;
  const whole = await measure(build.main);
  note(
    `import of the whole sidecar (src/main.js and everything below it): ${whole.ms.toFixed(0)} ms, ` +
      `+${whole.rssMiB.toFixed(1)} MiB RSS; a bare node process spawns and exits in ${nodeMs.toFixed(0)} ms`,
  );
  note(`each main import alone, fresh process, median of ${IMPORT_RUNS} (shares are of the whole import):`);
  const costs: Array<[string, ImportCost]> = [];
  for (const module of MODULES) costs.push([module, await measure(module)]);
  costs.sort((a, b) => b[1].ms - a[1].ms);
  for (const [module, cost] of costs)
    note(
      `  ${module.padEnd(22)} ${cost.ms.toFixed(1).padStart(6)} ms (${fmt((100 * cost.ms) / whole.ms).padStart(3)}%)` +
        `  +${cost.rssMiB.toFixed(1).padStart(4)} MiB RSS`,
    );
}

/** One `serve` start under --cpu-prof, samples up to readiness charged to packages. */
async function startupProfile(build: Build, emulatorUrl: string, database: string): Promise<void> {
  const directory = join(CACHE, 'profiles', 'startup');
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const sidecar = await spawnServer(build.cli, {
    name: 'cold-serve-profiled',
    args: ['serve'],
    nodeArgs: ['--cpu-prof', '--cpu-prof-dir', directory, '--cpu-prof-interval', '200'],
    env: sidecarEnv(emulatorUrl, database, 'info'),
  });
  await sidecar.stop();
  const profile = summarizeProfile(latestProfile(directory), {
    from: sidecar.spawnedAt,
    to: sidecar.readyAt,
  });
  note(
    `CPU profile of one start (${sidecar.readyMs.toFixed(0)} ms to ready under the profiler, ` +
      `${profile.busyMs.toFixed(0)} ms on CPU${profile.windowed ? '' : ', whole profile'}), top owners:`,
  );
  for (const [owner, ms] of top(profile.byOwner, 12))
    note(
      `  ${owner.padEnd(40)} ${ms.toFixed(1).padStart(6)} ms  ${fmt((100 * ms) / profile.busyMs).padStart(3)}%`,
    );
}
