/**
 * The pacer every replica shares (docs/contracts.md, "Scale-out rules", *Pacing*): when the next call
 * of a user (a credential) or of a project (an OAuth client) may go out. One row per key, moved on by
 * each call and by Google's rate-limit answers.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.pacer_slot (
  key TEXT PRIMARY KEY,
  next_at TIMESTAMPTZ NOT NULL
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.pacer_slot');
}
