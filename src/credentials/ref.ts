/** One credential of one database: ids repeat across databases, so both always travel together. */
import type { Db } from '../db/handle.js';

export interface CredentialRef {
  readonly database: string;
  readonly db: Db;
  readonly id: number;
}
