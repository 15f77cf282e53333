/** The sidecar's cool-down after failed background refreshes (one row per failing credential). */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.refresh_backoff (
  credential_id INTEGER PRIMARY KEY,
  failures INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMPTZ NOT NULL
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.refresh_backoff');
}
