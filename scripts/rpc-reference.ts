/** Writes docs/rpc-reference.md from the methods' schemas (src/rpc/reference.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReference } from '../src/rpc/reference.js';

writeFileSync(join(import.meta.dirname, '..', 'docs', 'rpc-reference.md'), renderReference());
