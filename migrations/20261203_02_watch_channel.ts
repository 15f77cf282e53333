/**
 * Google's push channels (docs/contracts.md, "Push notifications"): one row per channel, written before
 * Google is asked (its first message may come before the answer), with what Google answered, whether a message came, and the highest message number taken, so
 * that a replayed or late notification changes nothing; when the last message came, and whether a
 * pull found a change it was not told about (`lost`: it is replaced).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.watch_channel (
  channel_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  target INTEGER NOT NULL,
  credential_id INTEGER NOT NULL,
  resource_id TEXT,
  expires_at TIMESTAMPTZ NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  confirmed BOOLEAN NOT NULL DEFAULT false,
  last_message BIGINT NOT NULL DEFAULT 0,
  last_message_at TIMESTAMPTZ,
  lost BOOLEAN NOT NULL DEFAULT false
)`);
  await knex.raw(
    'CREATE INDEX watch_channel_target ON google_integration_sidecar.watch_channel (kind, target)',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.watch_channel');
}
