/**
 * Page and sync tokens. Both are opaque to clients (base64 of a small JSON, like Google's base64 blobs)
 * but carry what the emulator needs to answer the next call from its state alone: the calendar, the
 * change number the listing stands at, and where the previous page stopped.
 */
import { errors } from './errors.js';

/** Where a listing stands: changes up to `upto` are in it; `after` is the sort key of the last item sent. */
export interface PageToken {
  readonly calendarId: string;
  readonly upto: number;
  readonly after: readonly (number | string)[];
  /** For incremental listings: the change number of the sync token being followed. */
  readonly since: number | undefined;
}

export interface SyncToken {
  readonly calendarId: string;
  readonly seq: number;
  readonly epoch: number;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64');
}

function decode(token: string): unknown {
  if (!/^[A-Za-z0-9+/]+=*$/.test(token)) return undefined;
  try {
    return JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

export function encodePageToken(token: PageToken): string {
  return encode({ p: 1, c: token.calendarId, u: token.upto, a: token.after, s: token.since ?? null });
}

export function decodePageToken(token: string, calendarId: string): PageToken {
  const value = decode(token) as
    | { p?: unknown; c?: unknown; u?: unknown; a?: unknown; s?: unknown }
    | undefined;
  if (
    value?.p !== 1 ||
    value.c !== calendarId ||
    typeof value.u !== 'number' ||
    !Array.isArray(value.a) ||
    !value.a.every((item) => typeof item === 'number' || typeof item === 'string') ||
    (value.s !== null && typeof value.s !== 'number')
  )
    throw errors.invalid('Invalid page token value.', 'pageToken');
  return { calendarId, upto: value.u, after: value.a as (number | string)[], since: value.s ?? undefined };
}

export function encodeSyncToken(token: SyncToken): string {
  return encode({ t: 1, c: token.calendarId, q: token.seq, e: token.epoch });
}

/** Anything but a token of this calendar, from its current epoch and not from the future, answers 410. */
export function decodeSyncToken(
  token: string,
  calendarId: string,
  epoch: number,
  currentSeq: number,
): SyncToken {
  const value = decode(token) as { t?: unknown; c?: unknown; q?: unknown; e?: unknown } | undefined;
  if (
    value?.t !== 1 ||
    value.c !== calendarId ||
    typeof value.q !== 'number' ||
    value.q > currentSeq ||
    value.e !== epoch
  )
    throw errors.fullSyncRequired();
  return { calendarId, seq: value.q, epoch };
}
