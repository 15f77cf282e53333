/**
 * Leases on credentials (docs/contracts.md, scale-out rules): which replica is talking to Google
 * about a credential right now (a refresh, or the exchange of an authorization code), so that
 * every other caller waits for its answer instead of asking Google again, and no database row
 * lock or connection is held while Google answers. A lease ends when released, or when it
 * expires (its holder died). A failed refresh keeps its lease row for a short cool-down, with
 * the failure, so callers elsewhere get that answer instead of asking again at once.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.credential_lease (
  credential_id INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  holder TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  failure TEXT,
  PRIMARY KEY (credential_id, purpose)
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.credential_lease');
}
