import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DecryptionError, TokenCipher } from '../../src/crypto/token-cipher.js';
import { StateTokens, stateDigest } from '../../src/oauth/state-token.js';
import { sidecarEnv } from '../support/env.js';

function keys(...raw: Buffer[]) {
  return loadConfig(
    sidecarEnv({ SIDECAR_ENCRYPTION_KEYS: raw.map((key) => key.toString('base64')).join(',') }),
  ).encryptionKeys;
}

const context = { column: 'refresh_token', id: 7 };

describe('TokenCipher', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('round-trips and tags each value with its key id', () => {
    const cipher = new TokenCipher(keys(newKey));
    const sealed = cipher.seal('1//refresh-token-value', context);
    expect(sealed).toMatch(new RegExp(`^gcm1\\.${cipher.currentKeyId}\\.`));
    expect(sealed).not.toContain('refresh-token-value');
    expect(cipher.open(sealed, context)).toBe('1//refresh-token-value');
    expect(cipher.seal('same', context)).not.toBe(cipher.seal('same', context));
  });

  it('opens values under an older listed key, and knows they are not current', () => {
    const sealed = new TokenCipher(keys(oldKey)).seal('token', context);
    const rotated = new TokenCipher(keys(newKey, oldKey));
    expect(rotated.open(sealed, context)).toBe('token');
    expect(rotated.isCurrent(sealed)).toBe(false);
    expect(rotated.isCurrent(rotated.seal('token', context))).toBe(true);
  });

  it('refuses a value under a key no longer listed, naming only the key id', () => {
    const sealed = new TokenCipher(keys(oldKey)).seal('token', context);
    const error = (() => {
      try {
        new TokenCipher(keys(newKey)).open(sealed, context);
      } catch (caught) {
        return caught as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(DecryptionError);
    expect(error?.message).toMatch(/not in SIDECAR_ENCRYPTION_KEYS/);
    expect(error?.message).not.toContain(oldKey.toString('base64'));
  });

  it('binds a value to its column and credential', () => {
    const cipher = new TokenCipher(keys(newKey));
    const sealed = cipher.seal('token', context);
    expect(() => cipher.open(sealed, { column: 'access_token', id: 7 })).toThrow(DecryptionError);
    expect(() => cipher.open(sealed, { column: 'refresh_token', id: 8 })).toThrow(DecryptionError);
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => cipher.open(parts.join('.'), context)).toThrow(DecryptionError);
    expect(() => cipher.open('plaintext-token', context)).toThrow(/not an encrypted value/);
  });
});

describe('StateTokens', () => {
  const key = randomBytes(32);
  const states = new StateTokens(keys(key));

  it('names its database and verifies', () => {
    const state = states.create('tryton_prod');
    expect(state.value.split('.')).toHaveLength(3);
    expect(Buffer.from(state.value.split('.')[0] as string, 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(states.verify(state.value)).toBe('tryton_prod');
    expect(states.create('tryton_prod').value).not.toBe(state.value);
    expect(stateDigest(state.value)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a state moved to another database, tampered, or from another key', () => {
    const [nonce, , mac] = states.create('a').value.split('.') as [string, string, string];
    expect(states.verify(`${nonce}.${Buffer.from('b').toString('base64url')}.${mac}`)).toBeUndefined();
    expect(states.verify(`${nonce}x.${Buffer.from('a').toString('base64url')}.${mac}`)).toBeUndefined();
    expect(new StateTokens(keys(randomBytes(32))).verify(states.create('a').value)).toBeUndefined();
    expect(states.verify('garbage')).toBeUndefined();
    expect(states.verify('a.b.c.d')).toBeUndefined();
  });

  it('still verifies states of the previous key after rotation', () => {
    const issued = states.create('a').value;
    expect(new StateTokens(keys(randomBytes(32), key)).verify(issued)).toBe('a');
  });
});
