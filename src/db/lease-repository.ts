/**
 * Statements on google_integration_sidecar.credential_lease (migrations/20261125_03): short,
 * autocommitted statements, so a lease is held across a call to Google without holding a
 * connection or a row lock. Times are the database's (now()), the one clock all replicas share.
 */
import type { Knex } from 'knex';

const TABLE = 'google_integration_sidecar.credential_lease';

/** What the lease is for: a refresh, a code exchange, or the pull of one calendar (`sync:<id>`). */
export type LeasePurpose = 'refresh' | 'exchange' | `sync:${number}` | 'contacts';

/** Takes the lease if it is free or expired; true when `holder` now holds it. */
export async function acquireLease(
  knex: Knex,
  credentialId: number,
  purpose: LeasePurpose,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const result = await knex.raw<{ rows: unknown[] }>(
    `INSERT INTO ${TABLE} AS l (credential_id, purpose, holder, expires_at)
     VALUES (?, ?, ?, now() + make_interval(secs => ?))
     ON CONFLICT (credential_id, purpose) DO UPDATE
       SET holder = excluded.holder, expires_at = excluded.expires_at, failure = NULL
       WHERE l.expires_at <= now()
     RETURNING 1`,
    [credentialId, purpose, holder, ttlMs / 1000],
  );
  return result.rows.length === 1;
}

/** Pushes the end of a lease `holder` still holds; false when it was lost (expired and taken). */
export async function extendLease(
  knex: Knex,
  credentialId: number,
  purpose: LeasePurpose,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  const count = await knex(TABLE)
    .where({ credential_id: credentialId, purpose, holder })
    .update({ expires_at: knex.raw('now() + make_interval(secs => ?)', [ttlMs / 1000]) });
  return count === 1;
}

/** Ends a lease; with `failure`, keeps it `coolDownMs` longer so other callers get that answer. */
export async function releaseLease(
  knex: Knex,
  credentialId: number,
  purpose: LeasePurpose,
  holder: string,
  failure?: { readonly message: string; readonly coolDownMs: number },
): Promise<void> {
  const lease = knex(TABLE).where({ credential_id: credentialId, purpose, holder });
  if (!failure) {
    await lease.delete();
    return;
  }
  await lease.update({
    failure: failure.message,
    holder: '',
    expires_at: knex.raw('now() + make_interval(secs => ?)', [failure.coolDownMs / 1000]),
  });
}

/** The lease in force, if any: who holds it, or the failure it cools down after. */
export async function currentLease(
  knex: Knex,
  credentialId: number,
  purpose: LeasePurpose,
): Promise<{ holder: string; failure: string | null } | undefined> {
  return knex(TABLE)
    .where({ credential_id: credentialId, purpose })
    .where('expires_at', '>', knex.raw('now()'))
    .first<{ holder: string; failure: string | null } | undefined>('holder', 'failure');
}
