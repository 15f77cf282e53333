/**
 * Telling the Tryton user who pressed Authorize how the authorization ended. The module owns the
 * how (the SQL function google_integration_notify, tryton-module/authorization_notification.py:
 * a res.notification and its bus message); the sidecar only calls it once the row is written.
 * Databases without the module's function (standalone, or an older module) are skipped.
 */
import type { Knex } from 'knex';

export async function notifyAuthorizationOutcome(knex: Knex, credentialId: number): Promise<boolean> {
  const found = await knex.raw<{ rows: Array<{ present: boolean }> }>(
    "SELECT to_regprocedure('google_integration_notify(integer)') IS NOT NULL AS present",
  );
  // Calling a missing function fails even behind a false condition, hence two statements.
  if (!found.rows[0]?.present) return false;
  await knex.raw('SELECT google_integration_notify(?)', [credentialId]);
  return true;
}
