/**
 * Do this sidecar's encryption keys open what is sealed in a database? Answered with a marker
 * sealed by the first sidecar that served the database (db/key-check-repository.ts) and re-sealed
 * by rotate-keys. Background work runs only where the answer is yes: elsewhere every token would
 * fail to open, and a sidecar started with other keys must not act on another deployment's data.
 */
import { DecryptionError, type TokenCipher } from '../crypto/token-cipher.js';
import type { Db } from '../db/handle.js';
import { keyCheckMarker, replaceKeyCheckMarker } from '../db/key-check-repository.js';

const CONTEXT = { column: 'key_check', id: 0 } as const;
const PLAINTEXT = 'tryton-google key check';

/** Whether `cipher` opens a stored marker (read-only: `tryton-google doctor` writes nothing). */
export function markerOpens(cipher: TokenCipher, marker: string): boolean {
  try {
    return cipher.open(marker, CONTEXT) === PLAINTEXT;
  } catch (error) {
    if (error instanceof DecryptionError) return false;
    throw error;
  }
}

export async function keysOpen(cipher: TokenCipher, db: Db): Promise<boolean> {
  return markerOpens(cipher, await keyCheckMarker(db, cipher.seal(PLAINTEXT, CONTEXT)));
}

/** After a rotation: the marker under the current key, so dropping old keys keeps it readable. */
export async function resealKeyCheck(cipher: TokenCipher, db: Db): Promise<void> {
  const stored = await keyCheckMarker(db, cipher.seal(PLAINTEXT, CONTEXT));
  if (!cipher.isCurrent(stored)) {
    await replaceKeyCheckMarker(db, cipher.seal(cipher.open(stored, CONTEXT), CONTEXT));
  }
}
