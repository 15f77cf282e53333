/**
 * Page and sync tokens of connections.list and contactGroups.list: opaque to clients (base64 of a small
 * JSON) but carrying what the next call needs from the state alone: the account, the change number the
 * listing stands at, where the previous page stopped, a digest of the parameters the first call used
 * (Google refuses other ones with a token), and, for sync tokens, when the full listing that started the
 * chain was made (they expire seven days after it).
 */
import { createHash } from 'node:crypto';
import { errors } from './errors.js';

export const SYNC_TOKEN_LIFETIME_MS = 7 * 86_400_000;

export interface PageToken {
  readonly account: string;
  readonly upto: number;
  readonly after: readonly (number | string)[];
  /** The change number of the sync token followed (incremental listings). */
  readonly since: number | undefined;
  /** When the full listing that starts (or started) the sync token chain was made. */
  readonly chainStart: number;
  readonly params: string;
}

export interface SyncToken {
  readonly account: string;
  readonly seq: number;
  readonly chainStart: number;
  readonly epoch: number;
  readonly params: string;
}

/** A short digest of the parameters that must not change within a listing or a sync chain. */
export function digest(values: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(values)).digest('base64url').slice(0, 16);
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decode(token: string): Record<string, unknown> | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function encodePageToken(token: PageToken): string {
  return encode({
    k: 'pp',
    a: token.account,
    u: token.upto,
    f: token.after,
    s: token.since ?? null,
    c: token.chainStart,
    p: token.params,
  });
}

export function decodePageToken(token: string, account: string, params: string): PageToken {
  const value = decode(token);
  if (
    value?.k !== 'pp' ||
    value.a !== account ||
    typeof value.u !== 'number' ||
    !Array.isArray(value.f) ||
    !value.f.every((item) => typeof item === 'number' || typeof item === 'string') ||
    (value.s !== null && typeof value.s !== 'number') ||
    typeof value.c !== 'number' ||
    typeof value.p !== 'string'
  )
    throw errors.invalid('Page token is not valid.');
  if (value.p !== params)
    throw errors.invalid(
      'Parameters provided with a page token must match the parameters of the call that provided the page token.',
    );
  return {
    account,
    upto: value.u,
    after: value.f as (number | string)[],
    since: (value.s as number | null) ?? undefined,
    chainStart: value.c,
    params: value.p,
  };
}

export function encodeSyncToken(token: SyncToken): string {
  return encode({
    k: 'ps',
    a: token.account,
    q: token.seq,
    c: token.chainStart,
    e: token.epoch,
    p: token.params,
  });
}

/**
 * A sync token of this account: expired (400 FAILED_PRECONDITION EXPIRED_SYNC_TOKEN, as Google answers,
 * not 410) seven days after its chain's full listing, or when the control API expired the account's
 * tokens; one from other parameters is refused as Google refuses them.
 */
export function decodeSyncToken(
  token: string,
  options: { account: string; epoch: number; currentSeq: number; now: number; params: string },
): SyncToken {
  const value = decode(token);
  if (
    value?.k !== 'ps' ||
    value.a !== options.account ||
    typeof value.q !== 'number' ||
    value.q > options.currentSeq ||
    typeof value.c !== 'number' ||
    typeof value.e !== 'number' ||
    typeof value.p !== 'string'
  )
    throw errors.invalid('Sync token is not valid.');
  if (value.e !== options.epoch || options.now - value.c > SYNC_TOKEN_LIFETIME_MS)
    throw errors.expiredSyncToken();
  if (value.p !== options.params)
    throw errors.invalid(
      'Parameters provided with a sync token must match the parameters of the call that provided the sync token.',
    );
  return {
    account: options.account,
    seq: value.q,
    chainStart: value.c,
    epoch: value.e,
    params: value.p,
  };
}

/** contactGroups.list: its own simpler tokens (an offset into a listing, the change number of a sync). */
export interface GroupPageToken {
  readonly offset: number;
  readonly since: number | undefined;
}

export function encodeGroupPageToken(account: string, token: GroupPageToken): string {
  return encode({ k: 'gp', a: account, o: token.offset, s: token.since ?? null });
}

export function decodeGroupPageToken(token: string, account: string): GroupPageToken {
  const value = decode(token);
  if (
    value?.k !== 'gp' ||
    value.a !== account ||
    typeof value.o !== 'number' ||
    value.o < 0 ||
    (value.s !== null && typeof value.s !== 'number')
  )
    throw errors.invalid('Page token is not valid.');
  return { offset: value.o, since: (value.s as number | null) ?? undefined };
}

export function encodeGroupSyncToken(account: string, seq: number): string {
  return encode({ k: 'gs', a: account, q: seq });
}

export function decodeGroupSyncToken(token: string, account: string, currentSeq: number): number {
  const value = decode(token);
  if (value?.k !== 'gs' || value.a !== account || typeof value.q !== 'number' || value.q > currentSeq)
    throw errors.invalid('Sync token is not valid.');
  return value.q;
}
