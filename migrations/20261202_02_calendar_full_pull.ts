/**
 * When each calendar's last full listing was confirmed (docs/contracts.md, "Full listings"): a
 * calendar is listed whole once a day, since incremental pulls never bring the occurrences of an
 * open-ended series that enter Google's expansion horizon as time passes.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE google_integration_sidecar.calendar_sync ADD COLUMN full_pull_at TIMESTAMPTZ');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE google_integration_sidecar.calendar_sync DROP COLUMN full_pull_at');
}
