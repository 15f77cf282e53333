/**
 * The credentials table gains `owner`: the Tryton user whose Google account it is (docs/contracts.md,
 * "Calendar synchronization"). trytond 8.0 creates it as a plain INTEGER with a foreign key to res_user
 * (ON DELETE SET NULL); the standalone table gets the same column without the key, which trytond adds
 * when the module is activated (test/migrations/schema-parity.test.ts holds the columns equal).
 * Where Tryton's table already has the column, nothing changes.
 */
import type { Knex } from 'knex';

const TABLE = 'google_integration_google_credentials';

export async function up(knex: Knex): Promise<void> {
  // Looked up first: ALTER TABLE takes the table's strongest lock even when the column exists, and a
  // Tryton transaction that reads the table while it calls the sidecar would then block it.
  if (await knex.schema.withSchema('public').hasColumn(TABLE, 'owner')) return;
  await knex.raw(`ALTER TABLE public."${TABLE}" ADD COLUMN IF NOT EXISTS owner INTEGER`);
}

// Never dropped: the column may be Tryton's and hold who owns each credential.
export async function down(): Promise<void> {}
