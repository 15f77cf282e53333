/**
 * Compiles the sidecar (src/, migrations/) and the bench's child-process servers (bench/servers/) into
 * .cache/bench/build, so every child runs plain JavaScript as `node bin/tryton-google.js` does, without
 * touching dist/ (which concurrent test runs use). The working tree is measured when it compiles; when it
 * does not (someone is mid-edit), the last commit is measured instead and the report says so.
 * BENCH_SOURCE=worktree insists on the working tree; BENCH_SOURCE=<commit> (or head) measures that commit.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');
/** BENCH_CACHE puts the build, logs and profiles elsewhere, so two benches may run at once. */
export const CACHE = process.env.BENCH_CACHE
  ? resolve(process.env.BENCH_CACHE)
  : join(REPO, '.cache', 'bench');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

export interface Build {
  /** What was compiled: the working tree or a commit. */
  readonly source: string;
  readonly cli: string;
  readonly main: string;
  readonly echoServer: string;
  readonly importCost: string;
}

export function buildSidecar(): Build {
  const out = join(CACHE, 'build');
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'src', 'migrations']) !== '';
  const wanted = process.env.BENCH_SOURCE;
  if (wanted === undefined || wanted === 'worktree') {
    const errors = compile(REPO, out);
    if (errors === '') return built(out, `working tree (${commit}${dirty ? ' + uncommitted changes' : ''})`);
    if (wanted === 'worktree') throw new Error(`the working tree does not compile:\n${errors}`);
    process.stderr.write(
      `bench: the working tree does not compile (first error: ${errors.split('\n')[0]}); measuring HEAD\n`,
    );
  }
  const revision = wanted === undefined || wanted === 'head' ? 'HEAD' : wanted;
  const measured = git(['rev-parse', '--short', revision]);
  const snapshot = join(CACHE, 'head');
  rmSync(snapshot, { recursive: true, force: true });
  mkdirSync(snapshot, { recursive: true });
  const files = ['src', 'migrations', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
  const archive = execFileSync('git', ['archive', '--format=tar', revision, ...files], {
    cwd: REPO,
    maxBuffer: 64 * 2 ** 20,
  });
  execFileSync('tar', ['-x', '-C', snapshot], { input: archive });
  cpSync(join(REPO, 'bench', 'servers'), join(snapshot, 'bench', 'servers'), { recursive: true });
  const errors = compile(snapshot, out);
  if (errors !== '') throw new Error(`${revision} does not compile:\n${errors}`);
  return built(out, `commit ${measured} (committed code only)`);
}

/** Runs tsc on `root` into `out`; returns its error text, empty on success. */
function compile(root: string, out: string): string {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const config = join(CACHE, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { rootDir: root, outDir: out, sourceMap: false, noEmit: false },
      include: [join(root, 'src'), join(root, 'migrations'), join(root, 'bench', 'servers')],
    }),
  );
  const result = spawnSync(process.execPath, [TSC, '-p', config], { encoding: 'utf8' });
  if (result.status === 0 && existsSync(join(out, 'src', 'cli.js'))) return '';
  return `${result.stdout}${result.stderr}`.trim() || `tsc exited with ${result.status}`;
}

function built(out: string, source: string): Build {
  return {
    source,
    cli: join(out, 'src', 'cli.js'),
    main: join(out, 'src', 'main.js'),
    echoServer: join(out, 'bench', 'servers', 'echo-server.js'),
    importCost: join(out, 'bench', 'servers', 'import-cost.js'),
  };
}

function git(args: string[]): string {
  return execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
}
