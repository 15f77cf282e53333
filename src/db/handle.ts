/**
 * The database handle as the rest of the sidecar sees it: something to pass back to the
 * repositories of this folder, and a transaction boundary. Only db/ speaks Knex.
 */
import type { Knex } from 'knex';

export type Db = Knex;
export type Tx = Knex.Transaction;

export function inTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(work);
}
