/**
 * `tryton-google rotate-keys`: re-seals every token and verifier under the current (first) key of
 * SIDECAR_ENCRYPTION_KEYS. Run it after putting a new key first; once it reports nothing left under
 * old keys, they can be dropped from the list. Each row is re-sealed under its row lock.
 */
import { type Db, inTransaction } from '../db/handle.js';
import {
  type CredentialChanges,
  listSealed,
  lockCredential,
  updateCredential,
} from '../db/credentials-repository.js';
import type { TokenCipher } from '../crypto/token-cipher.js';
import { resealKeyCheck } from './key-check.js';

const SEALED_COLUMNS = ['access_token', 'refresh_token', 'code_verifier'] as const;

export async function rotateKeys(cipher: TokenCipher, db: Db): Promise<{ rows: number; values: number }> {
  let rows = 0;
  let values = 0;
  for (const { id } of await listSealed(db)) {
    const changed = await inTransaction(db, async (trx) => {
      const row = await lockCredential(trx, id);
      if (!row) return 0;
      const changes: Record<string, string> = {};
      for (const column of SEALED_COLUMNS) {
        const sealed = row[column];
        if (sealed && !cipher.isCurrent(sealed)) {
          changes[column] = cipher.seal(cipher.open(sealed, { column, id }), { column, id });
        }
      }
      const count = Object.keys(changes).length;
      if (count > 0) await updateCredential(trx, id, changes as CredentialChanges);
      return count;
    });
    if (changed > 0) rows++;
    values += changed;
  }
  await resealKeyCheck(cipher, db);
  return { rows, values };
}
