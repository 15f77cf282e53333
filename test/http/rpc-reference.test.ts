/** docs/rpc-reference.md is what the methods' schemas say today (regenerate with `npm run docs:rpc`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderReference } from '../../src/rpc/reference.js';

describe('the JSON-RPC reference', () => {
  it('is the one generated from the code', () => {
    const committed = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'rpc-reference.md'), 'utf8');
    expect(committed).toBe(renderReference());
    expect(committed).toContain('## `calendar.sync`');
  });
});
