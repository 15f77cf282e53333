/**
 * A value sealed with the encryption keys of the sidecars that serve this database, so a sidecar
 * can tell at start whether its keys are the ones the stored tokens were sealed with. A sidecar
 * whose keys do not open it runs no background work there: it would only fail on every token.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.key_check (
  id INTEGER PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  sealed TEXT NOT NULL
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.key_check');
}
