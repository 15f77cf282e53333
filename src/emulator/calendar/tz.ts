/**
 * Wall-clock time in IANA zones, on top of Node's Intl (full ICU), so recurring events expand in their own
 * zone across DST changes the way Google does: a 09:00 Europe/Paris meeting stays at 09:00 local. Civil
 * dates are handled as UTC midnights, which makes date arithmetic immune to DST by construction.
 */

/** A local wall-clock time (month 1..12); what RRULEs iterate over. */
export interface Civil {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let found = formatters.get(zone);
  if (!found) {
    found = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(zone, found);
  }
  return found;
}

export function isValidZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > 64) return false;
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time in `zone` at instant `ms` (seconds precision). */
export function civilAt(ms: number, zone: string): Civil {
  const parts: Record<string, string> = {};
  for (const part of formatter(zone).formatToParts(new Date(ms))) parts[part.type] = part.value;
  const year = Number(parts.year);
  return {
    year: parts.era === 'BC' ? 1 - year : year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** The civil time read as if it were UTC: the arithmetic base of every conversion here. */
export function civilAsUtc(civil: Civil): number {
  const date = new Date(0);
  date.setUTCFullYear(civil.year, civil.month - 1, civil.day);
  date.setUTCHours(civil.hour, civil.minute, civil.second, 0);
  return date.getTime();
}

export function civilFromUtc(ms: number): Civil {
  const date = new Date(ms);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
  };
}

const QUARTER_HOUR_MS = 900_000;
const offsetCache = new Map<string, Map<number, number>>();

/**
 * UTC offset of `zone` at instant `ms`, in milliseconds (positive east of Greenwich). Memoised per quarter
 * hour: modern offsets are multiples of 15 minutes and change at whole local quarter hours, so no change
 * falls inside one bucket, and listings re-expanding the same series stop paying for Intl each time.
 */
export function offsetAt(ms: number, zone: string): number {
  const bucket = Math.floor(ms / QUARTER_HOUR_MS);
  let cache = offsetCache.get(zone);
  if (!cache || cache.size > 200_000) {
    cache = new Map();
    offsetCache.set(zone, cache);
  }
  const cached = cache.get(bucket);
  if (cached !== undefined) return cached;
  const whole = bucket * QUARTER_HOUR_MS;
  const offset = civilAsUtc(civilAt(whole, zone)) - whole;
  cache.set(bucket, offset);
  return offset;
}

/**
 * The instant of a wall-clock time in `zone`. RFC 5545 §3.3.5 rules for the two DST oddities: a time that
 * does not exist (spring gap) uses the offset from before the gap, i.e. moves forward by the gap's length;
 * a time that exists twice (autumn overlap) is the first of the two.
 */
export function instantOf(civil: Civil, zone: string): number {
  const local = civilAsUtc(civil);
  const before = offsetAt(local - DAY_MS, zone);
  const after = offsetAt(local + DAY_MS, zone);
  const valid = [before, after]
    .map((offset) => local - offset)
    .filter((ms) => offsetAt(ms, zone) === local - ms);
  if (valid.length > 0) return Math.min(...valid);
  return local - before;
}

function pad(value: number, width = 2): string {
  return String(Math.abs(value)).padStart(width, '0');
}

/**
 * Four digits for years 0000-9999 (RFC 3339's range); beyond, ISO 8601's expanded form as JavaScript
 * writes it (`+010000`, `-000001`), which RFC 3339 cannot express: an instant given as
 * `9999-12-31T22:00:00-05:00` is in year 10000 in UTC.
 */
function formatYear(year: number): string {
  if (year >= 0 && year <= 9999) return pad(year, 4);
  return `${year < 0 ? '-' : '+'}${pad(year, 6)}`;
}

/** RFC 3339 with the zone's offset at that instant, as Google writes `dateTime` ("Z" for UTC itself). */
export function formatInZone(ms: number, zone: string): string {
  const whole = Math.floor(ms / 1000) * 1000;
  const offset = Math.round(offsetAt(whole, zone) / 60_000);
  const civil = civilFromUtc(whole + offset * 60_000);
  const base = `${formatYear(civil.year)}-${pad(civil.month)}-${pad(civil.day)}T${pad(civil.hour)}:${pad(civil.minute)}:${pad(civil.second)}`;
  if (zone === 'UTC' || zone === 'Etc/UTC') return `${base}Z`;
  const sign = offset < 0 ? '-' : '+';
  return `${base}${sign}${pad(Math.trunc(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** `updated`/`created` form: UTC with milliseconds, as Google writes them. */
export function formatUtcMillis(ms: number): string {
  return new Date(ms).toISOString();
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/;

/**
 * Parses an RFC 3339 date-time. Without an offset the time is local to `zone` (Google accepts that when
 * the event names its `timeZone`); without either, undefined.
 */
export function parseDateTime(value: string, zone?: string): number | undefined {
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, oh, om] = match;
  const civil = {
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h),
    minute: Number(mi),
    second: Number(s),
  };
  if (!isValidCivil(civil)) return undefined;
  const millis = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  if (zulu) return civilAsUtc(civil) + millis;
  if (sign) {
    const offset = (Number(oh) * 60 + Number(om)) * 60_000 * (sign === '-' ? -1 : 1);
    return civilAsUtc(civil) - offset + millis;
  }
  if (zone === undefined) return undefined;
  return instantOf(civil, zone) + millis;
}

function isValidCivil(civil: Civil): boolean {
  if (civil.month < 1 || civil.month > 12 || civil.day < 1 || civil.hour > 23 || civil.minute > 59)
    return false;
  if (civil.second > 60) return false;
  return civil.day <= daysInMonth(civil.year, civil.month);
}

/** `YYYY-MM-DD` as a UTC midnight, or undefined when not a real date. */
export function parseDate(value: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return undefined;
  const civil = {
    year: Number(match[1]),
    month: Number(match[2]),
    day: Number(match[3]),
    hour: 0,
    minute: 0,
    second: 0,
  };
  return isValidCivil(civil) ? civilAsUtc(civil) : undefined;
}

export function formatDate(utcMidnight: number): string {
  const civil = civilFromUtc(utcMidnight);
  return `${formatYear(civil.year)}-${pad(civil.month)}-${pad(civil.day)}`;
}

export function daysInMonth(year: number, month: number): number {
  // Not Date.UTC: it reads years 0-99 as 1900-1999 (and 1900 has no 29 February, year 0 has).
  return new Date(civilAsUtc({ year, month: month + 1, day: 0, hour: 0, minute: 0, second: 0 })).getUTCDate();
}

export function addDays(civil: Civil, days: number): Civil {
  return civilFromUtc(civilAsUtc(civil) + days * DAY_MS);
}

/** 0 = Sunday ... 6 = Saturday, as `Date#getUTCDay`. */
export function weekday(civil: Civil): number {
  return new Date(civilAsUtc(civil)).getUTCDay();
}

/** Compact UTC stamp used in instance ids and RRULE `UNTIL`: `YYYYMMDDTHHMMSSZ`. */
export function compactUtc(ms: number): string {
  const civil = civilFromUtc(ms);
  return `${pad(civil.year, 4)}${pad(civil.month)}${pad(civil.day)}T${pad(civil.hour)}${pad(civil.minute)}${pad(civil.second)}Z`;
}

export function compactDate(utcMidnight: number): string {
  return formatDate(utcMidnight).replaceAll('-', '');
}

export { DAY_MS };
