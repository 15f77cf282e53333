import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { TokenCipher } from '../../src/crypto/token-cipher.js';
import { sidecarEnv } from '../support/env.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from '../support/postgres.js';
import { runCommand } from '../support/processes.js';

const TABLE = 'google_integration_google_credentials';
const oldKey = randomBytes(32).toString('base64');
const newKey = randomBytes(32).toString('base64');
let database: string;

beforeAll(async () => {
  database = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_rotate');
});
afterAll(async () => {
  await dropDatabase(database);
});

function cipher(list: string) {
  return new TokenCipher(loadConfig(sidecarEnv({ SIDECAR_ENCRYPTION_KEYS: list })).encryptionKeys);
}

describe('tryton-google rotate-keys', () => {
  it('re-seals every value under the current key; old values stay readable until then', async () => {
    const db = connect(database);
    const old = cipher(oldKey);
    const ids: number[] = [];
    for (const name of ['one', 'two']) {
      const [row] = await db(TABLE).insert({ name, state: 'authorized' }).returning('id');
      ids.push(row.id);
      await db(TABLE)
        .where({ id: row.id })
        .update({
          access_token: old.seal(`ya29.${name}`, { column: 'access_token', id: row.id }),
          refresh_token: old.seal(`1//${name}`, { column: 'refresh_token', id: row.id }),
        });
    }
    const env = sidecarEnv({ SIDECAR_ENCRYPTION_KEYS: `${newKey},${oldKey}`, LOG_LEVEL: 'info' });
    const first = await runCommand(['rotate-keys', '--database', database], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('"rows":2,"values":4');
    const second = await runCommand(['rotate-keys', '--database', database], env);
    expect(second.stdout).toContain('"rows":0,"values":0');

    const onlyNew = cipher(newKey);
    for (const [index, id] of ids.entries()) {
      const row = await db(TABLE).where({ id }).first();
      const name = ['one', 'two'][index];
      expect(onlyNew.isCurrent(row.access_token)).toBe(true);
      expect(onlyNew.open(row.access_token, { column: 'access_token', id })).toBe(`ya29.${name}`);
      expect(onlyNew.open(row.refresh_token, { column: 'refresh_token', id })).toBe(`1//${name}`);
      expect(row.write_uid).toBe(0);
    }
    await db.destroy();
  });
});
