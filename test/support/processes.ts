/**
 * Runs the sidecar as it runs in production: the built `tryton-google` command in a child process,
 * configured by its environment, its JSON log lines collected for assertions.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tryton-google.js');

export interface SidecarProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function runCommand(args: string[], env: NodeJS.ProcessEnv) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

export async function startServe(env: NodeJS.ProcessEnv): Promise<SidecarProcess> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...env, LOG_LEVEL: 'info' } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A sidecar that never said it listens must not outlive the test run.
      child.kill('SIGKILL');
      reject(new Error(`sidecar did not start:\n${output}`));
    }, 20_000);
    const check = () => {
      const match = /"url":"(http:\/\/[^"]+)".*"msg":"sidecar listening"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      // A process ended by a signal has no exit code, only a signal code: it must not be awaited again.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = await once(child, 'exit');
      return code as number | null;
    },
  };
}
