/**
 * The body of `events.watch` and `calendarList.watch` (a Channel resource), checked as Google checks it,
 * each refusal in Google's envelope: `id` required, at most 64 characters of `[A-Za-z0-9_\-+/=]`; `type`
 * `web_hook` (Google also takes `webhook`); `address` an absolute URL, https for Google, http too here so
 * that a local receiver works; `token` at most 256 characters; `expiration` in milliseconds since the
 * epoch (a number or a string of digits, as Google's int64 fields are) and `params.ttl` in seconds. The
 * channel lives until the earliest of both, at most seven days (Google's longest lifetime, and its default).
 */
import { errors } from './errors.js';

export const CHANNEL_LIFETIME_MS = 7 * 86_400_000;
const CHANNEL_ID = /^[A-Za-z0-9_\-+/=]{1,64}$/;
/** Visible ASCII and space: what an HTTP header (`X-Goog-Channel-Token`) can carry as it is. */
const TOKEN = /^[\x20-\x7e]{0,256}$/;

export interface WatchRequest {
  readonly id: string;
  readonly address: string;
  readonly token?: string;
  /** When the channel expires (ms since the epoch), after the default and the cap. */
  readonly expiration: number;
}

export function parseWatchRequest(body: unknown, now: number): WatchRequest {
  const resource = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<
    string,
    unknown
  >;
  const { id, type, address, token } = resource;
  if (id === undefined || id === null || id === '') throw errors.required('Required', 'id');
  if (typeof id !== 'string' || !CHANNEL_ID.test(id))
    throw errors.invalid(
      'Invalid channel id: at most 64 characters of A-Z, a-z, 0-9, "_", "-", "+", "/" and "=".',
      'id',
    );
  if (type === undefined || type === null || type === '') throw errors.required('Required', 'type');
  if (type !== 'web_hook' && type !== 'webhook') throw errors.channelTypeNotSupported(String(type));
  if (typeof address !== 'string' || address === '') throw errors.required('Required', 'address');
  const url = URL.canParse(address) ? new URL(address) : undefined;
  if (url === undefined || url.hostname === '') throw errors.webhookUrlNoHostOrAddress(address);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw errors.webhookUrlNotHttps(address);
  if (token !== undefined && token !== null && (typeof token !== 'string' || !TOKEN.test(token)))
    throw errors.invalid('Invalid channel token: at most 256 printable ASCII characters.', 'token');
  const limits = [now + CHANNEL_LIFETIME_MS];
  const expiration = wholeNumber(resource.expiration, 'expiration');
  if (expiration !== undefined) {
    if (expiration <= now)
      throw errors.invalid('The channel expiration must be in the future.', 'expiration');
    limits.push(expiration);
  }
  const params = resource.params;
  if (params !== undefined && params !== null && (typeof params !== 'object' || Array.isArray(params)))
    throw errors.invalid('Invalid value for params.', 'params');
  const ttl = wholeNumber((params as Record<string, unknown> | null | undefined)?.ttl, 'params.ttl');
  if (ttl !== undefined) {
    if (ttl < 1) throw errors.invalid('Invalid value for params.ttl.', 'params.ttl');
    limits.push(now + ttl * 1000);
  }
  return {
    id,
    address,
    ...(typeof token === 'string' && token !== '' ? { token } : {}),
    expiration: Math.min(...limits),
  };
}

/** An int64 as Google's JSON takes it: a whole number, or a string of digits. */
function wholeNumber(value: unknown, location: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const number =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d{1,16}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(number) || number < 0)
    throw errors.invalid(`Invalid value for ${location}.`, location);
  return number;
}
