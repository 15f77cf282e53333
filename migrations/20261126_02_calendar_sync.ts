/**
 * The calendar sync's own bookkeeping (docs/contracts.md, "Calendar synchronization"): per Tryton
 * calendar the sync token of the last complete pull; per Google event the Tryton event it became,
 * Google's etag and a hash of the content last written (an etag that changes while the content
 * does not writes nothing). Tryton's calendar and event tables belong to the module.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.calendar_sync (
  calendar_id INTEGER PRIMARY KEY,
  sync_token TEXT,
  failures INTEGER NOT NULL DEFAULT 0,
  last_attempt_at TIMESTAMPTZ
)`);
  await knex.raw(`CREATE TABLE google_integration_sidecar.event_link (
  calendar_id INTEGER NOT NULL,
  google_id TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  etag TEXT,
  content_hash TEXT NOT NULL,
  PRIMARY KEY (calendar_id, google_id)
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.event_link');
  await knex.raw('DROP TABLE google_integration_sidecar.calendar_sync');
}
