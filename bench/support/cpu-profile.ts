/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and says where CPU time went: each sample is charged to the
 * nearest frame, walking from the leaf towards the root, that belongs to a package (node_modules/<name>)
 * or to the sidecar's own files, so node core work (streams, sockets, crypto) counts for whoever asked
 * for it. Samples with no such frame are node core's own (HTTP parsing, timers, the module loader).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}
interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

export interface ProfileSummary {
  /** CPU time in the window, milliseconds, idle excluded. */
  readonly busyMs: number;
  readonly windowMs: number;
  /** Milliseconds by owner (package, sidecar file, node core area, GC). */
  readonly byOwner: ReadonlyMap<string, number>;
  /** Milliseconds of self time by function (leaf frame), with its owner. */
  readonly byFunction: ReadonlyMap<string, number>;
  /** False when no sample fell in the window asked for and the whole profile was used. */
  readonly windowed: boolean;
}

/** The newest .cpuprofile in `directory`. */
export function latestProfile(directory: string): string {
  const files = readdirSync(directory).filter((name) => name.endsWith('.cpuprofile'));
  const last = files.sort().at(-1);
  if (last === undefined) throw new Error(`no .cpuprofile in ${directory}`);
  return join(directory, last);
}

/** `from`/`to` are process.hrtime.bigint() values: V8's profile clock is the same monotonic clock. */
export function summarizeProfile(file: string, window?: { from: bigint; to: bigint }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const ownerCache = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const cached = ownerCache.get(id);
    if (cached !== undefined) return cached;
    let owner: string | undefined;
    let core: string | undefined;
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const frame = (nodes.get(current) as ProfileNode).callFrame;
      owner = frameOwner(frame.url);
      if (owner) break;
      core ??= frame.url.startsWith('node:') ? coreArea(frame.url) : undefined;
    }
    const leaf = (nodes.get(id) as ProfileNode).callFrame.functionName;
    const result =
      leaf === '(garbage collector)'
        ? 'GC'
        : leaf === '(idle)'
          ? 'idle'
          : (owner ?? core ?? (leaf === '(program)' ? 'V8 (program)' : 'native, no JS caller'));
    ownerCache.set(id, result);
    return result;
  };

  const from = window ? Number(window.from / 1000n) : Number.NEGATIVE_INFINITY;
  const to = window ? Number(window.to / 1000n) : Number.POSITIVE_INFINITY;
  const tally = (lower: number, upper: number) => {
    const byOwner = new Map<string, number>();
    const byFunction = new Map<string, number>();
    let time = profile.startTime;
    let busy = 0;
    for (let index = 0; index < profile.samples.length; index++) {
      const delta = profile.timeDeltas[index] ?? 0;
      time += delta;
      if (time < lower || time > upper) continue;
      const id = profile.samples[index] as number;
      const owner = ownerOf(id);
      if (owner === 'idle') continue;
      const ms = delta / 1000;
      busy += ms;
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + ms);
      const frame = (nodes.get(id) as ProfileNode).callFrame;
      const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''} [${owner}]`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    }
    return { byOwner, byFunction, busy };
  };
  let windowed = window !== undefined;
  let counted = tally(from, to);
  if (windowed && counted.busy === 0) {
    windowed = false;
    counted = tally(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY);
  }
  const windowMs = windowed ? (to - from) / 1000 : (profile.endTime - profile.startTime) / 1000;
  return {
    busyMs: counted.busy,
    windowMs,
    byOwner: counted.byOwner,
    byFunction: counted.byFunction,
    windowed,
  };
}

/** A package name, or the sidecar file (src/...), or undefined for node core and native frames. */
function frameOwner(url: string): string | undefined {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : first;
  }
  const src = /\/\.cache\/bench\/build\/((?:src|migrations|bench)\/.*)$/.exec(url);
  if (src?.[1]) return src[1];
  return undefined;
}

function coreArea(url: string): string {
  const path = url.replace(/^node:(internal\/)?/, '');
  const area = path.split('/')[0] ?? path;
  return `node core: ${area.replace(/\.js$/, '')}`;
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  const build = url.indexOf('/.cache/bench/build/');
  if (build >= 0) return url.slice(build + '/.cache/bench/build/'.length);
  return url;
}

/** What the sidecar's valid-token path is made of, for grouping owners into a few lines. */
const CATEGORIES: ReadonlyArray<readonly [string, RegExp]> = [
  [
    'pino logging (+ request-log.js)',
    /^(pino|pino-std-serializers|sonic-boom|fast-redact|@pinojs\/.*|quick-format-unescaped|safe-stable-stringify|fast-safe-stringify|atomic-sleep|on-exit-leak-free|thread-stream|src\/log\.js|src\/http\/request-log\.js)$/,
  ],
  ['prom-client histogram', /^(prom-client|tdigest|bintrees|src\/metrics\.js)$/],
  ['json-rpc-2.0', /^json-rpc-2\.0$/],
  ['zod parsing', /^(zod|src\/rpc\/.*)$/],
  [
    'knex query building + pool',
    /^(knex|tarn|lodash|debug|ms|colorette|getopts|rechoir|escalade|get-package-type|interpret|pg-connection-string|src\/db\/.*)$/,
  ],
  [
    'pg driver (protocol, parsing)',
    /^(pg|pg-protocol|pg-types|pg-pool|pg-int8|pgpass|postgres-.*|split2|buffer-writer|packet-reader)$/,
  ],
  ['AES-GCM decrypt (src/crypto)', /^src\/crypto\/.*$/],
  ['sidecar credentials + auth', /^src\/(credentials|oauth|http\/bearer-auth\.js).*$/],
  [
    'express (+ router, body-parser...)',
    /^(express|router|body-parser|raw-body|iconv-lite|safer-buffer|type-is|content-type|media-typer|mime-types|mime-db|finalhandler|on-finished|ee-first|path-to-regexp|qs|side-channel.*|send|http-errors|depd|encodeurl|escape-html|parseurl|proxy-addr|forwarded|ipaddr\.js|accepts|negotiator|fresh|etag|vary|content-disposition|cookie|cookie-signature|range-parser|statuses|bytes|unpipe|is-promise|merge-descriptors|serve-static|setprototypeof|toidentifier|inherits|once|wrappy|es-errors|call-bound|call-bind.*|get-intrinsic|get-proto|gopd|has-symbols|hasown|function-bind|object-inspect|math-intrinsics|dunder-proto|es-object-atoms|es-define-property|src\/http\/.*)$/,
  ],
  ['GC', /^GC$/],
];

export function categoryOf(owner: string): string {
  for (const [category, pattern] of CATEGORIES) if (pattern.test(owner)) return category;
  if (owner.startsWith('node core')) return 'node core (HTTP parser, sockets, timers)';
  if (owner.startsWith('src/')) return `sidecar ${owner}`;
  return owner;
}

export function byCategory(summary: ProfileSummary): Map<string, number> {
  const categories = new Map<string, number>();
  for (const [owner, ms] of summary.byOwner) {
    const category = categoryOf(owner);
    categories.set(category, (categories.get(category) ?? 0) + ms);
  }
  return categories;
}

export function top<K>(map: ReadonlyMap<K, number>, count: number): Array<[K, number]> {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, count);
}
