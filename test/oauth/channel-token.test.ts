/**
 * The token of a push channel (src/oauth/channel-token.ts): it names its database and what the
 * channel watches, verifies under any of the encryption keys, and does not verify for another
 * channel, database, target or kind, nor when altered.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChannelTokens } from '../../src/oauth/channel-token.js';

const key = (id: string) => ({ id, key: randomBytes(32) });
const [current, older] = [key('k1'), key('k2')];
const tokens = new ChannelTokens([current, older]);
const target = { database: 'tryton_prod', kind: 'events' as const, target: 42 };

describe('channel tokens', () => {
  it("name their database and target, and fit in Google's 256 characters", () => {
    const token = tokens.create('channel-1', target);
    expect(token.length).toBeLessThanOrEqual(256);
    expect(tokens.verify('channel-1', token)).toEqual(target);
    const list = tokens.create('channel-2', {
      database: 'x'.repeat(63),
      kind: 'calendar_list',
      target: 2147483647,
    });
    expect(list.length).toBeLessThanOrEqual(256);
    expect(tokens.verify('channel-2', list)).toEqual({
      database: 'x'.repeat(63),
      kind: 'calendar_list',
      target: 2147483647,
    });
  });

  it('verify under an older key still configured, not under a key that left', () => {
    const byOlder = new ChannelTokens([older]).create('channel-1', target);
    expect(tokens.verify('channel-1', byOlder)).toEqual(target);
    expect(
      new ChannelTokens([key('k3')]).verify('channel-1', tokens.create('channel-1', target)),
    ).toBeUndefined();
  });

  it('do not verify for another channel, or when any part is changed', () => {
    const token = tokens.create('channel-1', target);
    expect(tokens.verify('channel-2', token)).toBeUndefined();
    const parts = token.split('.');
    const swaps = [
      [1, Buffer.from('other_db').toString('base64url')],
      [2, 'l'],
      [3, '43'],
      // Another last character of the MAC, canonical either way (the keys are random: 'A' may be it).
      [4, `${parts[4]?.slice(0, -1)}${parts[4]?.endsWith('A') ? 'Q' : 'A'}`],
    ] as const;
    for (const [index, value] of swaps) {
      const altered = [...parts];
      altered[index] = value;
      expect(tokens.verify('channel-1', altered.join('.')), `part ${index}`).toBeUndefined();
    }
  });

  it.each([
    '',
    'n1',
    'n1.a.e.1',
    'n2.dGVzdA.e.1.AAAA',
    'n1.dGVzdA.x.1.AAAA',
    'n1.dGVzdA.e.-1.AAAA',
    'n1.dGVzdA.e.01.AAAA',
  ])('refuse %j', (token) => {
    expect(tokens.verify('channel-1', token)).toBeUndefined();
  });
});
