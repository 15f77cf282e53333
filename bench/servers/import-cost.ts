/**
 * Imports one module (a package name or an absolute path) in a fresh process and prints, as one JSON
 * line, how long the import took and how much resident memory it added. Run by bench/cold-start.ts.
 */
import { pathToFileURL } from 'node:url';

const specifier = process.argv[2] ?? '';
const rssBefore = process.memoryUsage().rss;
const started = performance.now();
await import(specifier.startsWith('/') ? pathToFileURL(specifier).href : specifier);
const ms = performance.now() - started;
const { rss, heapUsed } = process.memoryUsage();
process.stdout.write(`${JSON.stringify({ ms, rssBefore, rssAfter: rss, heapUsed })}\n`);
process.exit(0);
