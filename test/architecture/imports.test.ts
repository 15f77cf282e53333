/**
 * Imports point one way, down (docs/services.md): no module of src/ imports itself back through
 * others (a cycle, type-only imports included), and the lower folders import nothing of the upper
 * ones (the database layer knows no credential, service, job or HTTP code). Read from the sources.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Each source file and the src/ files it imports (relative specifiers only). */
function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:import|export)[^'";]*?from\s+'(\.{1,2}\/[^']+)'/g)].map((match) =>
      relative(SRC, resolve(dirname(file), (match[1] as string).replace(/\.js$/, '.ts'))),
    );
    edges.set(relative(SRC, file), targets);
  }
  return edges;
}

function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return found;
}

/** Folders and what they may not import: each layer only reaches down. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  'db/': ['credentials/', 'services/', 'jobs/', 'rpc/', 'http/', 'emulator/', 'doctor/'],
  'google/': ['credentials/', 'services/', 'jobs/', 'rpc/', 'http/', 'db/'],
  'crypto/': ['credentials/', 'services/', 'jobs/', 'rpc/', 'http/', 'db/'],
  'credentials/': ['services/', 'jobs/', 'rpc/', 'http/'],
  'services/': ['jobs/', 'rpc/', 'http/'],
  'jobs/': ['rpc/', 'http/'],
  'emulator/': ['credentials/', 'services/', 'jobs/', 'rpc/', 'db/'],
};

describe('imports of src/', () => {
  const edges = graph();

  it('form no cycle', () => {
    expect(cycles(edges).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('point down: no lower folder imports an upper one', () => {
    const upward = [...edges].flatMap(([file, targets]) => {
      const rule = Object.entries(FORBIDDEN).find(([folder]) => file.startsWith(folder));
      return rule
        ? targets
            .filter((target) => rule[1].some((up) => target.startsWith(up)))
            .map((t) => `${file} -> ${t}`)
        : [];
    });
    expect(upward).toEqual([]);
  });
});
