import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabasePools } from '../../src/db/pools.js';
import { ServedDatabases } from '../../src/db/served-databases.js';
import { SidecarError } from '../../src/errors.js';
import {
  cloneDatabase,
  connect,
  dropDatabase,
  POSTGRES_URI,
  STANDALONE_TEMPLATE,
} from '../support/postgres.js';
import { trytonTemplate } from '../support/tryton.js';

let tryton: string;
let standalone: string;
let bare: string;
const pools = new DatabasePools(POSTGRES_URI);

beforeAll(async () => {
  tryton = await cloneDatabase(await trytonTemplate(), 'gi_test_served');
  standalone = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_served');
  bare = await cloneDatabase('template1', 'gi_test_served');
});

afterAll(async () => {
  await pools.closeAll();
  for (const name of [tryton, standalone, bare]) await dropDatabase(name);
});

async function refusal(databases: ServedDatabases, name: string): Promise<string> {
  const error = await databases.open(name).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SidecarError);
  return (error as SidecarError).message;
}

describe('ServedDatabases without an allow-list', () => {
  it('serves a Tryton database where google_integration is activated, and a standalone one', async () => {
    const databases = new ServedDatabases(pools, undefined);
    const knex = await databases.open(tryton);
    expect(await knex('google_integration_google_credentials').count()).toEqual([{ count: '0' }]);
    await expect(databases.open(standalone)).resolves.toBeDefined();
  });

  it('refuses a Tryton database where the module is not activated', async () => {
    const db = connect(tryton);
    await db('ir_module').where({ name: 'google_integration' }).update({ state: 'not activated' });
    await db.destroy();
    expect(await refusal(new ServedDatabases(pools, undefined), tryton)).toMatch(/not activated/);
  });

  it('refuses a database without the table, and one that does not exist', async () => {
    const databases = new ServedDatabases(pools, undefined);
    expect(await refusal(databases, bare)).toMatch(/no google_integration_google_credentials table/);
    expect(await refusal(databases, 'gi_test_absent_db')).toMatch(/does not exist/);
    expect(await refusal(databases, '../../etc')).toBe(
      'database with that name is not served by this sidecar',
    );
  });

  it('gives every concurrent first request for a missing database the same refusal', async () => {
    const databases = new ServedDatabases(pools, undefined);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => refusal(databases, 'gi_test_absent_db')),
    );
    expect(new Set(answers)).toEqual(
      new Set(['database "gi_test_absent_db" is not served by this sidecar: it does not exist']),
    );
  });

  it('finds every served database of the server for background work', async () => {
    // Pools of its own, closed at once: it connects to every database of the server.
    const own = new DatabasePools(POSTGRES_URI);
    const found = await new ServedDatabases(own, undefined).list('postgres').finally(() => own.closeAll());
    expect(found).toContain(standalone);
    expect(found).not.toContain(bare);
  });

  it('keeps a positive answer for a minute, then inspects again', async () => {
    let now = 0;
    const databases = new ServedDatabases(pools, undefined, () => now);
    await databases.open(standalone);
    const db = connect(standalone);
    await db.raw('ALTER TABLE google_integration_google_credentials RENAME TO moved_away');
    try {
      await expect(databases.open(standalone)).resolves.toBeDefined();
      now += 61_000;
      expect(await refusal(databases, standalone)).toMatch(/no google_integration_google_credentials table/);
    } finally {
      await db.raw('ALTER TABLE moved_away RENAME TO google_integration_google_credentials');
      await db.destroy();
    }
  });
});

describe('ServedDatabases with an allow-list', () => {
  it('serves exactly the listed databases', async () => {
    const databases = new ServedDatabases(pools, [bare]);
    await expect(databases.open(bare)).resolves.toBeDefined();
    expect(await refusal(databases, standalone)).toBe(
      `database "${standalone}" is not served by this sidecar`,
    );
  });
});
