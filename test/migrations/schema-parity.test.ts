/**
 * The standalone migration must create the very table trytond 8.0 creates for
 * google_integration.google_credentials, so the sidecar may start first and the module be activated
 * later (or the reverse). Database A: trytond-admin activates the module. Database B: the sidecar's
 * migrations (the standalone table, then its later columns such as `owner`). Then trytond-admin
 * activates the module on B too.
 */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLatest } from '../../src/db/migrate.js';
import { cloneDatabase, connect, createDatabase, dropDatabase, uniqueName } from '../support/postgres.js';
import { activateModule, trytonTemplate } from '../support/tryton.js';

const TABLE = 'google_integration_google_credentials';
const STANDALONE = [
  '20261125_01_standalone_credentials_table',
  '20261126_01_credentials_owner',
  '20261203_04_credentials_list_channel',
];

async function columns(knex: Knex) {
  const result = await knex.raw(
    `SELECT column_name, data_type, character_maximum_length, numeric_precision, datetime_precision,
            is_nullable, column_default
       FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = ?
      ORDER BY column_name`,
    [TABLE],
  );
  return result.rows as Array<Record<string, unknown>>;
}

/** The foreign key of `owner`: trytond's (ON DELETE SET NULL to res_user); the standalone table has none. */
async function ownerForeignKey(knex: Knex) {
  const result = await knex.raw(
    `SELECT rc.delete_rule, ccu.table_name AS target
       FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage kcu
         ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name
       JOIN information_schema.referential_constraints rc
         ON rc.constraint_schema = tc.constraint_schema AND rc.constraint_name = tc.constraint_name
       JOIN information_schema.constraint_column_usage ccu
         ON ccu.constraint_schema = tc.constraint_schema AND ccu.constraint_name = tc.constraint_name
      WHERE tc.table_schema = 'public' AND tc.table_name = ? AND tc.constraint_type = 'FOREIGN KEY'
        AND kcu.column_name = 'owner'`,
    [TABLE],
  );
  return result.rows as Array<Record<string, unknown>>;
}

describe('standalone credentials table', () => {
  let tryton: string;
  let standalone: string;
  beforeAll(async () => {
    tryton = await cloneDatabase(await trytonTemplate(), 'gi_test_parity_a');
    standalone = uniqueName('gi_test_parity_b');
    await createDatabase(standalone);
  });
  afterAll(async () => {
    await dropDatabase(tryton);
    await dropDatabase(standalone);
  });

  it('has the same columns, types, nullability and defaults as trytond creates', async () => {
    const a = connect(tryton);
    const b = connect(standalone);
    try {
      expect(await migrateLatest(b)).toEqual(expect.arrayContaining(STANDALONE));
      const fromTryton = await columns(a);
      expect(fromTryton.length).toBeGreaterThan(20);
      expect(fromTryton.map((column) => column.column_name)).toContain('owner');
      expect(await columns(b)).toEqual(fromTryton);
      expect(await ownerForeignKey(a)).toEqual([{ delete_rule: 'SET NULL', target: 'res_user' }]);
      expect(await ownerForeignKey(b)).toEqual([]);
      // Where Tryton's table already exists the migrations leave it alone.
      expect(await migrateLatest(a)).toEqual(expect.arrayContaining(STANDALONE));
      expect(await columns(a)).toEqual(fromTryton);
      expect(await ownerForeignKey(a)).toEqual([{ delete_rule: 'SET NULL', target: 'res_user' }]);
    } finally {
      await a.destroy();
      await b.destroy();
    }
  });

  it('lets trytond-admin activate the module on the migrated database afterwards', async () => {
    const before = connect(standalone);
    await before(TABLE).insert({ name: 'made before activation', state: 'without_authorization' });
    const expected = await columns(before);
    await before.destroy();

    await activateModule(standalone);

    const activated = connect(standalone);
    try {
      const module = await activated('ir_module').where({ name: 'google_integration' }).first('state');
      expect(module?.state).toBe('activated');
      expect(await columns(activated)).toEqual(expected);
      expect(await activated(TABLE).pluck('name')).toEqual(['made before activation']);
      // trytond adopts the standalone owner column and adds its foreign key.
      expect(await ownerForeignKey(activated)).toEqual([{ delete_rule: 'SET NULL', target: 'res_user' }]);
    } finally {
      await activated.destroy();
    }
  });
});
