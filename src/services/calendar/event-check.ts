/**
 * What the pull accepts of an item Google sent (docs/contracts.md, "Odd items"): a pure check, so
 * that one item Google (or a proxy, or a future API) sends in a shape Tryton cannot hold is refused
 * with a short reason, and the rest of its page is written. Before this check, one event starting
 * at `0001-01-01T00:00:00+14:00` (year 0 in UTC) failed its page's INSERT, and with it every later
 * pull of the calendar. Fields that only decorate an event are normalised instead of refused:
 * an unknown visibility becomes `private` (the safe side of Tryton's record rule), a link that is
 * not https to Google is dropped.
 */
import { z } from 'zod';

/** An all-day date or an instant, as checked. */
export type When = { readonly date: string } | { readonly instant: Date; readonly timeZone: string | null };

export interface CheckedEvent {
  readonly id: string;
  readonly status: 'confirmed' | 'tentative';
  readonly start: When;
  readonly end: When;
  readonly summary: string | null;
  readonly description: string | null;
  readonly location: string | null;
  readonly iCalUID: string | null;
  readonly recurringEventId: string | null;
  readonly originalStart: string | null;
  readonly visibility: 'default' | 'public' | 'private' | 'confidential';
  readonly htmlLink: string | null;
  readonly updated: Date | null;
  readonly etag: string | null;
  readonly attendees: readonly string[];
}

export type CheckedItem =
  | { readonly kind: 'event'; readonly event: CheckedEvent }
  | { readonly kind: 'cancelled'; readonly id: string }
  | { readonly kind: 'refused'; readonly id: string | null; readonly reason: string };

const VISIBILITIES = new Set(['default', 'public', 'private', 'confidential']);
const STATUSES = new Set(['confirmed', 'tentative']);
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** RFC 3339, and the years JavaScript writes beyond four digits (`+010000-01-01T03:00:00Z`). */
const DATE_TIME = /^([+-]?\d{4,6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

const text = z.string({ error: 'is not text' }).nullish();
const when = z.object({ date: text, dateTime: text, timeZone: text }, { error: 'is not a date or a time' });
const attendees = z.array(z.object({ email: text }, { error: 'is not a list of attendees' }), {
  error: 'is not a list of attendees',
});
const item = z.object({
  id: z.string({ error: 'has no id' }).min(1, { error: 'has no id' }),
  status: text,
  summary: text,
  description: text,
  location: text,
  iCalUID: text,
  recurringEventId: text,
  start: when.nullish(),
  end: when.nullish(),
  attendees: attendees.nullish(),
});

export function checkItem(raw: unknown): CheckedItem {
  const loose = (typeof raw === 'object' && raw !== null ? raw : {}) as { id?: unknown; status?: unknown };
  const id = typeof loose.id === 'string' && loose.id !== '' ? loose.id : null;
  // A cancellation needs only its id: Google guarantees nothing else on it.
  if (id && typeof loose.status === 'string' && loose.status.toLowerCase() === 'cancelled')
    return { kind: 'cancelled', id };
  const parsed = item.safeParse(raw);
  if (!parsed.success) return { kind: 'refused', id, reason: reasonOf(parsed.error) };
  const value = parsed.data;
  const status = (value.status ?? 'confirmed').toLowerCase();
  if (!STATUSES.has(status)) return refused(value.id, `has an unknown status (${clip(value.status ?? '')})`);
  if (!value.start || !value.end) return refused(value.id, 'has no start or end');
  const start = whenOf(value.start);
  const end = whenOf(value.end);
  if (typeof start === 'string') return refused(value.id, start);
  if (typeof end === 'string') return refused(value.id, end);
  if ('date' in start !== 'date' in end)
    return refused(value.id, 'has a start and an end of different kinds');
  if (
    ('date' in start && 'date' in end && end.date < start.date) ||
    (!('date' in start) && !('date' in end) && end.instant < start.instant)
  )
    return refused(value.id, 'ends before it starts');
  const decorations = raw as Record<string, unknown>;
  return {
    kind: 'event',
    event: {
      id: value.id,
      status: status as CheckedEvent['status'],
      start,
      end,
      summary: value.summary ?? null,
      description: value.description ?? null,
      location: value.location ?? null,
      iCalUID: value.iCalUID ?? null,
      recurringEventId: value.recurringEventId ?? null,
      originalStart: originalStart(decorations.originalStartTime),
      visibility: visibilityOf(decorations.visibility),
      htmlLink: googleLink(decorations.htmlLink),
      updated: typeof decorations.updated === 'string' ? instantOf(decorations.updated) : null,
      etag: typeof decorations.etag === 'string' ? decorations.etag : null,
      attendees: (value.attendees ?? [])
        .map((attendee) => attendee.email)
        .filter((email): email is string => typeof email === 'string' && email !== ''),
    },
  };
}

/** Google's visibility in lower case; anything else private, so others see the event as busy. */
export function visibilityOf(value: unknown): CheckedEvent['visibility'] {
  if (value === undefined || value === null) return 'default';
  const lower = typeof value === 'string' ? value.toLowerCase() : '';
  return VISIBILITIES.has(lower) ? (lower as CheckedEvent['visibility']) : 'private';
}

/** Only an https link to Google is shown as a link in Tryton: never `javascript:` or elsewhere. */
export function googleLink(value: unknown): string | null {
  if (typeof value !== 'string' || !URL.canParse(value)) return null;
  const url = new URL(value);
  const google = url.hostname === 'google.com' || url.hostname.endsWith('.google.com');
  return url.protocol === 'https:' && google && url.username === '' && url.password === '' ? value : null;
}

function whenOf(value: z.infer<typeof when>): When | string {
  if (value.date) {
    const match = DATE.exec(value.date);
    if (!match) return `has a date that is not a calendar date (${clip(value.date)})`;
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const parsed = new Date(Date.UTC(2000, month - 1, day));
    parsed.setUTCFullYear(year);
    if (year < 1 || parsed.getUTCMonth() !== month - 1 || parsed.getUTCDate() !== day)
      return `has a date that is not a calendar date (${clip(value.date)})`;
    return { date: value.date };
  }
  if (!value.dateTime) return 'has no start or end';
  const match = DATE_TIME.exec(value.dateTime);
  if (!match) return `has a time that is not RFC 3339 (${clip(value.dateTime)})`;
  const outside = 'has a time outside the years 1-9999 once in UTC';
  if (!/^\d{4}$/.test(match[1] ?? '')) return outside;
  const instant = instantOf(value.dateTime);
  if (!instant) return `has a time that is not RFC 3339 (${clip(value.dateTime)})`;
  const year = instant.getUTCFullYear();
  // PostgreSQL's and Python's timestamps hold the years 1 to 9999.
  if (year < 1 || year > 9999) return outside;
  return { instant, timeZone: value.timeZone ?? null };
}

function instantOf(value: string): Date | null {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function originalStart(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const { date, dateTime } = value as { date?: unknown; dateTime?: unknown };
  if (typeof dateTime === 'string') return dateTime;
  return typeof date === 'string' ? date : null;
}

function reasonOf(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'is not an event';
  const path = issue.path.filter((part) => typeof part === 'string').join('.');
  return issue.message === 'has no id' || path === '' ? issue.message : `${path} ${issue.message}`;
}

function refused(id: string, reason: string): CheckedItem {
  return { kind: 'refused', id, reason };
}

/** A value quoted in a reason, short: the reason is for a sentence on the calendar. */
function clip(value: string): string {
  return value.length > 40 ? `${value.slice(0, 39)}…` : value;
}
