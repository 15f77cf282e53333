/**
 * The token of a push channel (docs/contracts.md, "Push notifications"): Google sends it back with
 * every notification (`X-Goog-Channel-Token`), so it says, tamper-proof, which database and which
 * calendar (or credential's calendarList) a notification is about, and is bound to its channel id: a
 * token copied to another channel, database or calendar does not verify. HMAC-SHA256 keyed by HKDF from
 * each encryption key (any verifies, as for OAuth states), the first 128 bits, like the state's.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { EncryptionKey } from '../config.js';

export type ChannelKind = 'events' | 'calendar_list';

export interface ChannelTarget {
  readonly database: string;
  readonly kind: ChannelKind;
  /** The calendar's id (events), or the credential's (calendar_list). */
  readonly target: number;
}

const VERSION = 'n1';
const KIND_CODES: Record<ChannelKind, string> = { events: 'e', calendar_list: 'l' };

export class ChannelTokens {
  private readonly macKeys: readonly Buffer[];

  constructor(keys: readonly EncryptionKey[]) {
    this.macKeys = keys.map((key) =>
      Buffer.from(hkdfSync('sha256', key.key, Buffer.alloc(0), 'tryton-google channel token', 32)),
    );
  }

  create(channelId: string, target: ChannelTarget): string {
    const database = Buffer.from(target.database).toString('base64url');
    const payload = `${VERSION}.${database}.${KIND_CODES[target.kind]}.${target.target}`;
    return `${payload}.${mac(this.macKeys[0] as Buffer, channelId, payload)}`;
  }

  /** What the token names, or undefined when it is malformed, forged or not this channel's. */
  verify(channelId: string, token: string): ChannelTarget | undefined {
    const parts = token.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
    const [, database, code, target, tag] = parts as [string, string, string, string, string];
    if (!/^[A-Za-z0-9_-]+$/.test(database) || !/^[1-9]\d{0,9}$/.test(target) || !/^[A-Za-z0-9_-]+$/.test(tag))
      return undefined;
    const kind = (Object.keys(KIND_CODES) as ChannelKind[]).find((name) => KIND_CODES[name] === code);
    if (!kind) return undefined;
    const payload = `${VERSION}.${database}.${code}.${target}`;
    const given = Buffer.from(tag, 'base64url');
    // Only the canonical spelling: a changed last character whose bits base64url drops is refused too.
    if (given.toString('base64url') !== tag) return undefined;
    const valid = this.macKeys.some((key) => {
      const expected = Buffer.from(mac(key, channelId, payload), 'base64url');
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
    if (!valid) return undefined;
    return { database: Buffer.from(database, 'base64url').toString('utf8'), kind, target: Number(target) };
  }
}

function mac(key: Buffer, channelId: string, payload: string): string {
  return createHmac('sha256', key)
    .update(`${payload}|${channelId}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url');
}
