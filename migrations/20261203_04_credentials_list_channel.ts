/**
 * The credentials table gains `calendar_list_channel`: the health of the credential's calendarList
 * push channel, as the sidecar writes it (docs/contracts.md, "Push notifications"). trytond 8.0
 * creates it as a VARCHAR (a Selection of the module's calendar extension of credentials); the
 * standalone table gets the same column (test/migrations/schema-parity.test.ts holds them equal).
 * Where Tryton's table already has the column, nothing changes.
 */
import type { Knex } from 'knex';

const TABLE = 'google_integration_google_credentials';

export async function up(knex: Knex): Promise<void> {
  // Looked up first: ALTER TABLE takes the table's strongest lock even when the column exists.
  if (await knex.schema.withSchema('public').hasColumn(TABLE, 'calendar_list_channel')) return;
  await knex.raw(`ALTER TABLE public."${TABLE}" ADD COLUMN IF NOT EXISTS calendar_list_channel VARCHAR`);
}

// Never dropped: the column may be Tryton's.
export async function down(): Promise<void> {}
