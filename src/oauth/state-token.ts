/**
 * The OAuth `state` parameter (RFC 6749 section 10.12): 192 random bits, the database it belongs to,
 * and an HMAC over both, so the single callback URI `/google/callback` can trust which database a
 * state names and a state can never be moved to another database. The HMAC key is derived from
 * each encryption key (HKDF), so a rotated key list still verifies states issued a moment ago.
 * The database stores only a SHA-256 digest of the state.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EncryptionKey } from '../config.js';

export interface StateToken {
  readonly value: string;
  readonly database: string;
}

export class StateTokens {
  private readonly macKeys: readonly Buffer[];

  constructor(keys: readonly EncryptionKey[]) {
    this.macKeys = keys.map((key) =>
      Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), 'tryton-google oauth state', 32)),
    );
  }

  create(database: string): StateToken {
    const nonce = randomBytes(24).toString('base64url');
    const payload = `${nonce}.${Buffer.from(database).toString('base64url')}`;
    return { value: `${payload}.${mac(this.macKeys[0] as Buffer, payload)}`, database };
  }

  /** The database a state belongs to, or undefined when the state is malformed or forged. */
  verify(value: string): string | undefined {
    const parts = value.split('.');
    if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return undefined;
    const [nonce, database, tag] = parts as [string, string, string];
    const payload = `${nonce}.${database}`;
    const given = Buffer.from(tag, 'base64url');
    const valid = this.macKeys.some((key) => {
      const expected = Buffer.from(mac(key, payload), 'base64url');
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    return valid ? Buffer.from(database, 'base64url').toString('utf8') : undefined;
  }
}

/** What is stored in oauth_state and looked up on callback. */
export function stateDigest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest().subarray(0, 16).toString('base64url');
}
