/**
 * The sidecar's own record of background refresh failures (schema google_integration_sidecar), so a
 * credential whose refresh fails transiently is retried later, by whichever replica, not every tick.
 */
import type { Knex } from 'knex';

const TABLE = 'google_integration_sidecar.refresh_backoff';

export async function recordRefreshFailure(
  knex: Knex,
  credentialId: number,
  delaySeconds: number,
): Promise<void> {
  await knex.raw(
    `INSERT INTO ${TABLE} (credential_id, failures, next_attempt_at)
     VALUES (?, 1, now() + make_interval(secs => ?))
     ON CONFLICT (credential_id) DO UPDATE
       SET failures = ${TABLE}.failures + 1,
           next_attempt_at = now() + make_interval(secs => ? * power(2, least(${TABLE}.failures, 6)))`,
    [credentialId, delaySeconds, delaySeconds],
  );
}

export async function clearRefreshFailures(knex: Knex, credentialId: number): Promise<void> {
  await knex(TABLE).where({ credential_id: credentialId }).delete();
}
