/**
 * Encryption at rest of tokens and PKCE verifiers: AES-256-GCM (node:crypto) under the keys of
 * SIDECAR_ENCRYPTION_KEYS. Each value carries the id of the key that sealed it, so a rotated key
 * list still opens old values, and `rotate-keys` can find what is not under the current key.
 * The additional authenticated data binds a value to its column and row: a ciphertext copied into
 * another column or credential does not open.
 *
 * Format: `gcm1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from '../config.js';
import { ErrorType, SidecarError } from '../errors.js';

const VERSION = 'gcm1';
const IV_BYTES = 12;

/**
 * A stored value that does not open: its key is not in SIDECAR_ENCRYPTION_KEYS any more, or the
 * value was altered. An admin can act on it (restore the key, or authorize again), hence a
 * documented error rather than an internal one.
 */
export class DecryptionError extends SidecarError {
  constructor(message: string) {
    super(
      ErrorType.TokensUnreadable,
      `${message}: put the key that sealed it back into SIDECAR_ENCRYPTION_KEYS, or press Authorize again`,
    );
    this.name = 'DecryptionError';
  }
}

export interface SealedValueContext {
  readonly column: string;
  readonly id: number;
}

export class TokenCipher {
  private readonly byId: ReadonlyMap<string, Buffer>;

  constructor(private readonly keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('at least one encryption key is required');
    this.byId = new Map(keys.map((key) => [key.id, key.key]));
  }

  get currentKeyId(): string {
    return (this.keys[0] as EncryptionKey).id;
  }

  seal(plaintext: string, context: SealedValueContext): string {
    const current = this.keys[0] as EncryptionKey;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv);
    cipher.setAAD(aad(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, current.id, iv, ciphertext, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(sealed: string, context: SealedValueContext): string {
    const parts = sealed.split('.');
    const [version, keyId, iv, ciphertext, tag] = parts;
    if (parts.length !== 5 || version !== VERSION || !keyId || !iv || ciphertext === undefined || !tag) {
      throw new DecryptionError(`${context.column} of credential ${context.id} is not an encrypted value`);
    }
    const key = this.byId.get(keyId);
    if (!key) {
      throw new DecryptionError(
        `${context.column} of credential ${context.id} was encrypted under key ${keyId}, which is not in SIDECAR_ENCRYPTION_KEYS`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(aad(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new DecryptionError(`${context.column} of credential ${context.id} failed authentication`);
    }
  }

  /** Whether `sealed` is under the current key (rotate-keys re-seals the rest). */
  isCurrent(sealed: string): boolean {
    return sealed.split('.')[1] === this.currentKeyId;
  }
}

function aad({ column, id }: SealedValueContext): Buffer {
  return Buffer.from(`google_integration_google_credentials:${id}:${column}`);
}
