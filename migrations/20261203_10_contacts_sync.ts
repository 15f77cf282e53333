/**
 * The contacts sync's bookkeeping (docs/contracts.md, "Contacts synchronization", *Sidecar
 * bookkeeping*): per credential the sync token and when its chain's full listing began (Google's
 * tokens expire 7 days after it), the links contact → party with the merge's base, and the names of
 * the account's user groups (so an idle round lists nothing but the connections).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.contact_sync (
  credential_id INTEGER PRIMARY KEY,
  sync_token TEXT,
  token_at TIMESTAMPTZ,
  full_pull_at TIMESTAMPTZ,
  failures INTEGER NOT NULL DEFAULT 0
)`);
  await knex.raw(`CREATE TABLE google_integration_sidecar.contact_link (
  credential_id INTEGER NOT NULL,
  resource_name TEXT NOT NULL,
  party_id INTEGER NOT NULL,
  etag TEXT,
  hash TEXT NOT NULL,
  base JSONB,
  created_at TIMESTAMPTZ,
  PRIMARY KEY (credential_id, resource_name)
)`);
  await knex.raw(
    'CREATE INDEX contact_link_party ON google_integration_sidecar.contact_link (credential_id, party_id)',
  );
  await knex.raw(`CREATE TABLE google_integration_sidecar.contact_group (
  credential_id INTEGER NOT NULL,
  resource_name TEXT NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (credential_id, resource_name)
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.contact_group');
  await knex.raw('DROP TABLE google_integration_sidecar.contact_link');
  await knex.raw('DROP TABLE google_integration_sidecar.contact_sync');
}
