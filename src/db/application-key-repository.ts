/**
 * The Tryton user application key the sidecar calls the module's contacts route with
 * (docs/contracts.md, "The module's route"): the newest validated key of the application
 * `google_integration`, read only. Tryton checks the key itself on every call.
 */
import type { Db } from './handle.js';

export async function applicationKey(db: Db): Promise<string | null> {
  const found = await db.raw<{ rows: Array<{ table: string | null }> }>(
    `SELECT to_regclass('public.res_user_application')::text AS table`,
  );
  if (!found.rows[0]?.table) return null;
  const row = await db('res_user_application')
    .where({ application: 'google_integration', state: 'validated' })
    .orderBy('id', 'desc')
    .first<{ key: string } | undefined>('key');
  return row?.key ?? null;
}
