/**
 * The merge's base per event (docs/contracts.md, "Sidecar bookkeeping"): the synchronized fields as
 * Tryton and Google last agreed on them, the common ancestor against which each side's changes are
 * told apart. Links written before have none until their event is pulled unchanged or pushed.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE google_integration_sidecar.event_link ADD COLUMN base JSONB');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE google_integration_sidecar.event_link DROP COLUMN base');
}
