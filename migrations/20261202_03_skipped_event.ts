/**
 * The items Google sent that the pull could not take, and why (docs/contracts.md, "Odd items"): an
 * incremental pull does not list an unchanged item again, so what was skipped is remembered here,
 * and the calendar's notice is written from it.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.skipped_event (
  calendar_id INTEGER NOT NULL,
  google_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (calendar_id, google_id)
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.skipped_event');
}
