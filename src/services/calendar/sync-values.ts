/**
 * The synchronized fields of an event as both sides see them (docs/contracts.md, "Two-way rules"):
 * one plain JSON value per field, the same shape whether read from Google's answer or from Tryton's
 * rows, so that the merge compares like with like and the base kept in `event_link.base` is the
 * contract's JSON. Texts are trimmed of nothing but `''` is `null` (Google drops empty texts), the
 * attendees are a sorted list, timed events are UTC instants to the second, and an all-day event's
 * zone is left out (Google ignores it). Pure functions.
 */
import type { CheckedEvent } from './event-check.js';
import type { TrytonEvent } from '../../db/push-repository.js';
import { exclusiveEnd, lastDay } from './dates.js';
import { storableText } from './texts.js';

export const SYNC_FIELDS = [
  'summary',
  'description',
  'location',
  'attendees',
  'visibility',
  'status',
  'when',
  'repeat',
] as const;
export type SyncField = (typeof SYNC_FIELDS)[number];

export type When =
  | {
      readonly all_day: true;
      readonly start_date: string;
      readonly end_date: string;
      readonly time_zone: null;
    }
  | {
      readonly all_day: false;
      readonly starts_at: string;
      readonly ends_at: string;
      readonly time_zone: string | null;
    };

export interface Repeat {
  readonly frequency: 'daily' | 'weekly' | 'monthly';
  readonly count: number | null;
  readonly until: string | null;
}

export type { TrytonEvent };

export interface SyncValues {
  readonly summary: string | null;
  readonly description: string | null;
  readonly location: string | null;
  readonly attendees: readonly string[];
  readonly visibility: string;
  readonly status: string;
  readonly when: When;
  readonly repeat: Repeat | null;
}

/** A text as Tryton stores it (texts.ts), `''` as none: Google drops empty texts. */
const text = (value: string | null | undefined): string | null => {
  const stored = storableText(value);
  return stored === null || stored === '' ? null : stored;
};
const instant = (value: Date): string => `${value.toISOString().slice(0, 19)}Z`;
const emails = (list: readonly string[]): string[] =>
  [...new Set(list.map((email) => storableText(email) ?? '').filter((email) => email !== ''))].sort();

/** What Google's event says, as checked by event-check.ts; `repeat` from its recurrence, if any. */
export function fromGoogle(
  event: CheckedEvent,
  calendarTimeZone: string | null,
  recurrence?: readonly string[] | null,
): SyncValues {
  return {
    summary: text(event.summary),
    description: text(event.description),
    location: text(event.location),
    attendees: emails(event.attendees),
    visibility: event.visibility,
    status: event.status,
    when:
      'date' in event.start && 'date' in event.end
        ? {
            all_day: true,
            start_date: event.start.date,
            end_date: lastDay(event.start.date, event.end.date),
            time_zone: null,
          }
        : {
            all_day: false,
            starts_at: instant('instant' in event.start ? event.start.instant : new Date(0)),
            ends_at: instant('instant' in event.end ? event.end.instant : new Date(0)),
            time_zone: ('timeZone' in event.start ? event.start.timeZone : null) ?? calendarTimeZone,
          },
    repeat: recurrence ? parseRepeat(recurrence) : null,
  };
}

/** What Tryton's rows say. */
export function fromTryton(row: TrytonEvent): SyncValues {
  const allDay = row.all_day === true;
  return {
    summary: text(row.summary),
    description: text(row.description),
    location: text(row.location),
    attendees: emails((row.attendees ?? '').split('\n').map((line) => line.trim())),
    visibility: row.visibility ?? 'default',
    status: row.status ?? 'confirmed',
    when: allDay
      ? {
          all_day: true,
          start_date: row.start_date ?? '',
          end_date: row.end_date ?? row.start_date ?? '',
          time_zone: null,
        }
      : {
          all_day: false,
          starts_at: row.starts_at ? instant(row.starts_at) : '',
          ends_at: row.ends_at ? instant(row.ends_at) : row.starts_at ? instant(row.starts_at) : '',
          time_zone: row.time_zone,
        },
    repeat: isFrequency(row.repeat_frequency)
      ? { frequency: row.repeat_frequency, count: row.repeat_count, until: row.repeat_until }
      : null,
  };
}

/** The body of events.insert/patch for these values (every synchronized field, so a patch is whole). */
export function toGoogle(values: SyncValues): Record<string, unknown> {
  const { when } = values;
  const body: Record<string, unknown> = {
    summary: values.summary ?? '',
    description: values.description ?? '',
    location: values.location ?? '',
    attendees: values.attendees.map((email) => ({ email })),
    visibility: values.visibility,
    status: values.status,
    start: when.all_day
      ? { date: when.start_date }
      : { dateTime: when.starts_at, ...(when.time_zone ? { timeZone: when.time_zone } : {}) },
    end: when.all_day
      ? { date: exclusiveEnd(when.end_date) }
      : { dateTime: when.ends_at, ...(when.time_zone ? { timeZone: when.time_zone } : {}) },
  };
  if (values.repeat) body.recurrence = [ruleOf(values.repeat)];
  return body;
}

/** The columns of Tryton's event and detail rows that hold these values. */
export function toTryton(values: SyncValues): {
  event: Record<string, unknown>;
  detail: Record<string, unknown>;
} {
  const { when } = values;
  return {
    event: {
      visibility: values.visibility,
      status: values.status,
      all_day: when.all_day,
      start_date: when.all_day ? when.start_date : null,
      end_date: when.all_day ? when.end_date : null,
      starts_at: when.all_day ? null : when.starts_at,
      ends_at: when.all_day ? null : when.ends_at,
      ...(when.all_day ? {} : { time_zone: when.time_zone }),
      repeat_frequency: values.repeat?.frequency ?? null,
      repeat_count: values.repeat?.count ?? null,
      repeat_until: values.repeat?.until ?? null,
    },
    detail: {
      summary: values.summary,
      description: values.description,
      location: values.location,
      attendees: values.attendees.length > 0 ? values.attendees.join('\n') : null,
    },
  };
}

/** Equal values, field by field (JSON of plain data). */
export function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function sameValues(a: SyncValues, b: SyncValues): boolean {
  return SYNC_FIELDS.every((field) => sameValue(a[field], b[field]));
}

/** `RRULE:FREQ=WEEKLY;COUNT=5` or `;UNTIL=20261231` (an all-day UNTIL is a date, Google's form). */
export function ruleOf(repeat: Repeat): string {
  const end = repeat.count
    ? `;COUNT=${repeat.count}`
    : repeat.until
      ? `;UNTIL=${repeat.until.replaceAll('-', '')}`
      : '';
  return `RRULE:FREQ=${repeat.frequency.toUpperCase()}${end}`;
}

/**
 * The simple repeat a Tryton series holds, from Google's recurrence; null when there is none or
 * when it says more than Tryton's form does (then Tryton's own is kept: see the merge).
 */
export function parseRepeat(recurrence: readonly string[]): Repeat | null {
  const rules = recurrence.filter((line) => line.toUpperCase().startsWith('RRULE:'));
  if (rules.length !== 1 || recurrence.length !== 1) return null;
  const parts = new Map(
    (rules[0] as string)
      .slice(6)
      .split(';')
      .map((part) => part.split('=') as [string, string]),
  );
  const frequency = parts.get('FREQ')?.toLowerCase();
  if (!isFrequency(frequency)) return null;
  for (const key of parts.keys()) if (!['FREQ', 'COUNT', 'UNTIL'].includes(key)) return null;
  const count = parts.has('COUNT') ? Number(parts.get('COUNT')) : null;
  const untilText = parts.get('UNTIL');
  const until = untilText
    ? `${untilText.slice(0, 4)}-${untilText.slice(4, 6)}-${untilText.slice(6, 8)}`
    : null;
  return { frequency, count: Number.isInteger(count) ? count : null, until };
}

function isFrequency(value: string | null | undefined): value is Repeat['frequency'] {
  return value === 'daily' || value === 'weekly' || value === 'monthly';
}
