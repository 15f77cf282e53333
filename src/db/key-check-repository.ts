/** The sealed marker of google_integration_sidecar.key_check (migrations/20261125_05). */
import type { Knex } from 'knex';

const TABLE = 'google_integration_sidecar.key_check';

/** The stored marker; `candidate` is stored first when there is none yet. */
export async function keyCheckMarker(knex: Knex, candidate: string): Promise<string> {
  await knex.raw(`INSERT INTO ${TABLE} (id, sealed) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, [candidate]);
  const row = await knex(TABLE).where({ id: 1 }).first<{ sealed: string }>('sealed');
  return row?.sealed ?? candidate;
}

export async function replaceKeyCheckMarker(knex: Knex, sealed: string): Promise<void> {
  await knex(TABLE).where({ id: 1 }).update({ sealed });
}
