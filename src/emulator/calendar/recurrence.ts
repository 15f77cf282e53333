/**
 * RFC 5545 recurrence as Google Calendar accepts it in `recurrence[]`: RRULE (FREQ DAILY/WEEKLY/MONTHLY/
 * YEARLY with INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH, WKST), RDATE and EXDATE. Occurrences are
 * generated in local wall time of the series' zone and only then turned into instants, which is what keeps
 * a weekly 09:00 meeting at 09:00 across DST. Anything else is refused (400) rather than half-expanded.
 */
import {
  addDays,
  type Civil,
  civilAsUtc,
  civilAt,
  civilFromUtc,
  DAY_MS,
  daysInMonth,
  formatDate,
  instantOf,
  isValidZone,
  weekday,
} from './tz.js';

export class RecurrenceError extends Error {
  override readonly name = 'RecurrenceError';
}

/** Hard caps so a `FREQ=DAILY;COUNT=10000000` or a typo cannot hang the emulator. */
export const MAX_INSTANCES_PER_SERIES = 5_000;
const MAX_PERIODS = 100_000;

type Freq = 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';
const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;

interface ByDay {
  readonly ordinal: number | undefined;
  readonly day: number;
}

interface Rule {
  readonly freq: Freq;
  readonly interval: number;
  readonly count: number | undefined;
  /** Inclusive upper bound on an occurrence's start: an instant, or for all-day series a UTC midnight. */
  readonly until: number | undefined;
  readonly byDay: readonly ByDay[] | undefined;
  readonly byMonthDay: readonly number[] | undefined;
  readonly byMonth: readonly number[] | undefined;
  readonly weekStart: number;
}

/** When a series starts: the first occurrence and how to read local times. */
export interface SeriesStart {
  readonly allDay: boolean;
  /** An instant for timed series, a UTC midnight for all-day ones. */
  readonly startMs: number;
  /** The series' zone (`start.timeZone`); unused for all-day series. */
  readonly zone: string;
}

interface Parsed {
  readonly rules: Rule[];
  readonly rdates: number[];
  readonly exdates: Set<number>;
  /** EXDATE;VALUE=DATE on a timed series: every occurrence on that local date. */
  readonly exDays: Set<string>;
}

/** Throws a RecurrenceError for anything the emulator would not expand exactly. */
export function validateRecurrence(lines: readonly string[], start: SeriesStart): void {
  parse(lines, start);
}

/**
 * Start instants of the occurrences (EXDATEs removed, RDATEs added), ascending, strictly before `beforeMs`
 * and capped at MAX_INSTANCES_PER_SERIES. COUNT counts from the series start whatever the window.
 */
export function occurrences(lines: readonly string[], start: SeriesStart, beforeMs: number): number[] {
  const parsed = parse(lines, start);
  const found = new Set<number>();
  for (const rule of parsed.rules) for (const ms of expandRule(rule, start, beforeMs)) found.add(ms);
  for (const ms of parsed.rdates) if (ms < beforeMs) found.add(ms);
  const kept = [...found].filter(
    (ms) => !parsed.exdates.has(ms) && !(parsed.exDays.size > 0 && parsed.exDays.has(localDate(ms, start))),
  );
  return kept.sort((a, b) => a - b).slice(0, MAX_INSTANCES_PER_SERIES);
}

/** Whether the series ends by itself (COUNT or UNTIL on every rule): then no horizon is needed. */
export function isBounded(lines: readonly string[], start: SeriesStart): boolean {
  return parse(lines, start).rules.every((rule) => rule.count !== undefined || rule.until !== undefined);
}

function localDate(ms: number, start: SeriesStart): string {
  return formatDate(
    civilAsUtc({
      ...(start.allDay ? civilFromUtc(ms) : civilAt(ms, start.zone)),
      hour: 0,
      minute: 0,
      second: 0,
    }),
  );
}

function parse(lines: readonly string[], start: SeriesStart): Parsed {
  if (!start.allDay && !isValidZone(start.zone)) throw new RecurrenceError('Invalid time zone definition.');
  const parsed: Parsed = { rules: [], rdates: [], exdates: new Set(), exDays: new Set() };
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new RecurrenceError('Invalid recurrence rule.');
    const [name = '', ...params] = line.slice(0, colon).toUpperCase().split(';');
    const value = line.slice(colon + 1);
    if (name === 'RRULE') parsed.rules.push(parseRule(value, start));
    else if (name === 'EXDATE' || name === 'RDATE') {
      for (const item of value.split(',')) {
        const when = parseDateValue(item.trim(), params, start);
        if (name === 'RDATE') parsed.rdates.push(when.ms);
        else if (when.isDate && !start.allDay) parsed.exDays.add(formatDate(when.ms));
        else parsed.exdates.add(when.ms);
      }
    } else throw new RecurrenceError(`Invalid recurrence rule: unsupported property ${name}.`);
  }
  if (parsed.rules.length === 0 && parsed.rdates.length === 0)
    throw new RecurrenceError('Invalid recurrence rule.');
  return parsed;
}

function parseRule(value: string, start: SeriesStart): Rule {
  const parts = new Map<string, string>();
  for (const part of value.split(';')) {
    const [key, item] = part.split('=');
    if (!key || item === undefined || parts.has(key.toUpperCase()))
      throw new RecurrenceError('Invalid recurrence rule.');
    parts.set(key.toUpperCase(), item.toUpperCase());
  }
  const freq = parts.get('FREQ');
  if (freq !== 'DAILY' && freq !== 'WEEKLY' && freq !== 'MONTHLY' && freq !== 'YEARLY')
    throw new RecurrenceError(
      `Invalid recurrence rule: FREQ=${freq ?? ''} is not supported by the emulator.`,
    );
  for (const key of parts.keys()) {
    if (!['FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'BYDAY', 'BYMONTHDAY', 'BYMONTH', 'WKST'].includes(key))
      throw new RecurrenceError(`Invalid recurrence rule: ${key} is not supported by the emulator.`);
  }
  const interval = positive(parts.get('INTERVAL') ?? '1');
  const count = parts.has('COUNT') ? positive(parts.get('COUNT') ?? '') : undefined;
  if (count !== undefined && parts.has('UNTIL'))
    throw new RecurrenceError('Invalid recurrence rule: COUNT and UNTIL.');
  const untilText = parts.get('UNTIL');
  let until: number | undefined;
  if (untilText !== undefined) {
    const when = parseDateValue(untilText, [], start);
    // A date UNTIL on a timed series includes that whole local day.
    until =
      when.isDate && !start.allDay
        ? instantOf({ ...civilFromUtc(when.ms), hour: 23, minute: 59, second: 59 }, start.zone)
        : when.ms;
  }
  const byDay = parts.get('BYDAY')?.split(',').map(parseByDay);
  if (byDay?.some((item) => item.ordinal !== undefined) && freq !== 'MONTHLY')
    throw new RecurrenceError(
      'Invalid recurrence rule: BYDAY ordinals are supported with FREQ=MONTHLY only.',
    );
  if (byDay && freq === 'YEARLY')
    throw new RecurrenceError('Invalid recurrence rule: BYDAY with FREQ=YEARLY is not supported.');
  const byMonthDay = parts
    .get('BYMONTHDAY')
    ?.split(',')
    .map((item) => integerIn(item, -31, 31));
  if (byMonthDay && (freq === 'WEEKLY' || freq === 'DAILY'))
    throw new RecurrenceError('Invalid recurrence rule: BYMONTHDAY needs FREQ=MONTHLY or YEARLY.');
  const byMonth = parts
    .get('BYMONTH')
    ?.split(',')
    .map((item) => integerIn(item, 1, 12));
  const wkst = parts.get('WKST');
  const weekStart = wkst === undefined ? 1 : WEEKDAYS.indexOf(wkst as (typeof WEEKDAYS)[number]);
  if (weekStart < 0) throw new RecurrenceError('Invalid recurrence rule: WKST.');
  return { freq, interval, count, until, byDay, byMonthDay, byMonth, weekStart };
}

function parseByDay(item: string): ByDay {
  const match = /^([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)$/.exec(item);
  if (!match?.[2]) throw new RecurrenceError('Invalid recurrence rule: BYDAY.');
  const ordinal = match[1] === undefined ? undefined : Number(match[1]);
  if (ordinal !== undefined && (ordinal === 0 || Math.abs(ordinal) > 5))
    throw new RecurrenceError('Invalid recurrence rule: BYDAY.');
  return { ordinal, day: WEEKDAYS.indexOf(match[2] as (typeof WEEKDAYS)[number]) };
}

function positive(text: string): number {
  return integerIn(text, 1, 1_000_000);
}

function integerIn(text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[+-]?\d+$/.test(text) || value < min || value > max || value === 0)
    throw new RecurrenceError('Invalid recurrence rule: bad number.');
  return value;
}

/** `YYYYMMDD`, `YYYYMMDDTHHMMSSZ`, or floating `YYYYMMDDTHHMMSS` read in TZID or else the series zone. */
function parseDateValue(
  text: string,
  params: readonly string[],
  start: SeriesStart,
): { ms: number; isDate: boolean } {
  const tzid = params.find((param) => param.startsWith('TZID='))?.slice(5);
  const match = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/i.exec(text);
  if (!match) throw new RecurrenceError('Invalid recurrence rule: bad date.');
  const civil: Civil = {
    year: Number(match[1]),
    month: Number(match[2]),
    day: Number(match[3]),
    hour: Number(match[4] ?? 0),
    minute: Number(match[5] ?? 0),
    second: Number(match[6] ?? 0),
  };
  if (
    civil.month < 1 ||
    civil.month > 12 ||
    civil.day < 1 ||
    civil.day > daysInMonth(civil.year, civil.month)
  )
    throw new RecurrenceError('Invalid recurrence rule: bad date.');
  if (match[4] === undefined) return { ms: civilAsUtc(civil), isDate: true };
  if (start.allDay) return { ms: civilAsUtc({ ...civil, hour: 0, minute: 0, second: 0 }), isDate: true };
  if (match[7]) return { ms: civilAsUtc(civil), isDate: false };
  // TZID values arrive upper-cased with the rest of the parameters: look the zone up case-insensitively.
  const zone = tzid === undefined ? start.zone : caseInsensitiveZone(tzid);
  return { ms: instantOf(civil, zone), isDate: false };
}

function caseInsensitiveZone(upper: string): string {
  const found = Intl.supportedValuesOf('timeZone').find((zone) => zone.toUpperCase() === upper);
  if (found) return found;
  if (upper === 'UTC' || upper === 'ETC/UTC') return 'UTC';
  throw new RecurrenceError('Invalid recurrence rule: unknown TZID.');
}

/** Occurrence starts of one rule, in order, strictly before `beforeMs`. */
function expandRule(rule: Rule, start: SeriesStart, beforeMs: number): number[] {
  const first: Civil = start.allDay ? civilFromUtc(start.startMs) : civilAt(start.startMs, start.zone);
  const firstDay = civilAsUtc({ ...first, hour: 0, minute: 0, second: 0 });
  const toInstant = (day: Civil): number =>
    start.allDay
      ? civilAsUtc(day)
      : instantOf({ ...day, hour: first.hour, minute: first.minute, second: first.second }, start.zone);
  const found: number[] = [];
  let generated = 0;
  for (let period = 0; period < MAX_PERIODS; period += 1) {
    for (const day of candidates(rule, first, period)) {
      if (civilAsUtc(day) < firstDay) continue;
      if (rule.byMonth && !rule.byMonth.includes(day.month)) continue;
      const ms = toInstant(day);
      if (rule.until !== undefined && ms > rule.until) return found;
      if (ms >= beforeMs) return found;
      generated += 1;
      found.push(ms);
      if ((rule.count !== undefined && generated >= rule.count) || found.length >= MAX_INSTANCES_PER_SERIES)
        return found;
    }
  }
  return found;
}

/** The candidate local dates of the `period`-th interval, ascending. */
function candidates(rule: Rule, first: Civil, period: number): Civil[] {
  const midnight = { ...first, hour: 0, minute: 0, second: 0 };
  switch (rule.freq) {
    case 'DAILY': {
      const day = addDays(midnight, period * rule.interval);
      return !rule.byDay || rule.byDay.some((item) => item.day === weekday(day)) ? [day] : [];
    }
    case 'WEEKLY': {
      const weekStart = addDays(
        midnight,
        -((weekday(midnight) - rule.weekStart + 7) % 7) + 7 * period * rule.interval,
      );
      const days = rule.byDay?.map((item) => item.day) ?? [weekday(midnight)];
      const offsets = [...new Set(days.map((day) => (day - rule.weekStart + 7) % 7))].sort((a, b) => a - b);
      return offsets.map((offset) => addDays(weekStart, offset));
    }
    case 'MONTHLY': {
      const index = first.month - 1 + period * rule.interval;
      const year = first.year + Math.floor(index / 12);
      const month = (index % 12) + 1;
      return monthDays(rule, year, month, first.day).map((day) => ({ ...midnight, year, month, day }));
    }
    case 'YEARLY': {
      const year = first.year + period * rule.interval;
      const months = rule.byMonth ?? [first.month];
      const out: Civil[] = [];
      for (const month of [...months].sort((a, b) => a - b))
        for (const day of monthDays({ ...rule, byDay: undefined }, year, month, first.day))
          out.push({ ...midnight, year, month, day });
      return out;
    }
  }
}

/** Days of one month selected by BYDAY (with ordinals), BYMONTHDAY, or else the start's day of month. */
function monthDays(
  rule: Pick<Rule, 'byDay' | 'byMonthDay'>,
  year: number,
  month: number,
  startDay: number,
): number[] {
  const length = daysInMonth(year, month);
  const days = new Set<number>();
  if (rule.byDay) {
    const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
    for (const { ordinal, day } of rule.byDay) {
      const matching: number[] = [];
      for (let date = 1 + ((day - firstWeekday + 7) % 7); date <= length; date += 7) matching.push(date);
      if (ordinal === undefined) for (const date of matching) days.add(date);
      else {
        const picked = ordinal > 0 ? matching[ordinal - 1] : matching[matching.length + ordinal];
        if (picked !== undefined) days.add(picked);
      }
    }
  } else if (rule.byMonthDay) {
    for (const item of rule.byMonthDay) {
      const date = item > 0 ? item : length + item + 1;
      if (date >= 1 && date <= length) days.add(date);
    }
  } else if (startDay <= length) days.add(startDay);
  return [...days].sort((a, b) => a - b);
}

export { DAY_MS };
