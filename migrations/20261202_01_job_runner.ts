/**
 * The heartbeat of each job runner (docs/contracts.md, "Releasing jobs"): graphile-worker marks a job
 * and its queue with the runner's pool id while it runs them, and keeps that lock for 4 hours when
 * the runner dies. Runners write here that they are alive, so the others can release what a dead
 * one held within seconds.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE google_integration_sidecar.job_runner (
  runner_id TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL
)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE google_integration_sidecar.job_runner');
}
