/**
 * Servers under test run as child processes, so the load generator never shares their event loop.
 * Each is given a free port on 127.0.0.1 and is ready at its first 200 from `readyPath`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CACHE } from './build.js';

const LOGS = join(CACHE, 'logs');
let spawned = 0;

export interface Child {
  readonly url: string;
  readonly child: ChildProcess;
  /** Milliseconds from spawn to the first 200 from the ready path. */
  readonly readyMs: number;
  /** process.hrtime.bigint() at spawn and at readiness (the clock of V8's CPU profiles). */
  readonly spawnedAt: bigint;
  readonly readyAt: bigint;
  /** Where its stdout and stderr go (a file, so a busy load generator never slows its writes). */
  readonly logFile: string;
  /** The last 16 KiB the child printed. */
  output(): string;
  /** Resident set size now, MiB (from /proc). */
  rssMiB(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Arguments for node itself, before the script (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly readyPath?: string;
  /** Names the log file. */
  readonly name: string;
  readonly timeoutMs?: number;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/**
 * Spawns `node [nodeArgs] script args` on a free port (in PORT and SIDECAR_PORT, and in place of `$PORT`
 * in args); waits until ready.
 */
export async function spawnServer(script: string, options: SpawnOptions): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (spawned === 0) rmSync(LOGS, { recursive: true, force: true });
  mkdirSync(LOGS, { recursive: true });
  const logFile = join(LOGS, `${String(++spawned).padStart(2, '0')}-${options.name}.log`);
  const fd = openSync(logFile, 'w');
  const output = () => tail(logFile);
  const spawnedAt = process.hrtime.bigint();
  const args = options.args.map((arg) => arg.replace('$PORT', String(port)));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    env: { ...options.env, PORT: String(port), SIDECAR_PORT: String(port), SIDECAR_HOST: '127.0.0.1' },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = once(child, 'exit');
  const deadline = spawnedAt + BigInt((options.timeoutMs ?? 20_000) * 1e6);
  let readyAt: bigint | undefined;
  while (readyAt === undefined) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${script} ${options.args.join(' ')} exited before it was ready:\n${output()}`);
    if (process.hrtime.bigint() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} ${options.args.join(' ')} was not ready in time:\n${output()}`);
    }
    try {
      const response = await fetch(`${url}${options.readyPath ?? '/readyz'}`);
      await response.arrayBuffer();
      if (response.status === 200) readyAt = process.hrtime.bigint();
    } catch {
      // Not listening yet.
    }
    if (readyAt === undefined) await sleep(5);
  }
  const ready = readyAt;
  return {
    url,
    child,
    spawnedAt,
    readyAt: ready,
    readyMs: Number(ready - spawnedAt) / 1e6,
    logFile,
    output,
    rssMiB: () => rssMiB(child.pid as number),
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kib === undefined ? Number.NaN : Number(kib) / 1024;
}

/** CPU time (user + system) the process used so far, ms (from /proc, clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function tail(file: string): string {
  const size = statSync(file).size;
  const text = readFileSync(file, 'utf8');
  return size > 16_384 ? text.slice(-16_384) : text;
}
