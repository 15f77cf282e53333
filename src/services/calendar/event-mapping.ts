/**
 * A Google Calendar event as the rows Tryton keeps (docs/contracts.md, "Calendar synchronization"):
 * pure functions, tested without HTTP. Items are checked first (event-check.ts). All-day events keep their dates exactly, the last day
 * inclusive as Tryton shows it (Google's end date is exclusive); timed events keep their instants,
 * in UTC, whatever zone Google wrote them in, so a DST change never moves them.
 */
import { createHash } from 'node:crypto';
import type { calendar_v3 } from '@googleapis/calendar';
import { lastDay } from './dates.js';
import { storableText } from './texts.js';
import { type CheckedEvent, checkItem } from './event-check.js';
import { fromGoogle, type SyncValues } from './sync-values.js';

export interface EventRow {
  readonly google_id: string;
  readonly ical_uid: string | null;
  readonly recurring_event_id: string | null;
  readonly original_start: string | null;
  readonly all_day: boolean;
  readonly start_date: string | null;
  readonly end_date: string | null;
  readonly starts_at: Date | null;
  readonly ends_at: Date | null;
  readonly time_zone: string | null;
  readonly visibility: string;
  readonly status: string;
  readonly html_link: string | null;
  readonly google_updated: Date | null;
}

export interface EventDetailRow {
  readonly summary: string | null;
  readonly description: string | null;
  readonly location: string | null;
  readonly attendees: string | null;
}

export interface MappedEvent {
  readonly event: EventRow;
  readonly detail: EventDetailRow;
  /** Hash of everything Tryton keeps: equal hashes mean nothing to write, whatever the etag says. */
  readonly hash: string;
  readonly etag: string | null;
}

/** One item of a listing, as the pull takes it. */
export type PulledItem =
  | {
      readonly kind: 'event';
      readonly mapped: MappedEvent;
      /** Its synchronized fields, the base once both sides hold them (sync-values.ts). */
      readonly values: SyncValues;
      /** Google's `updated`: its side of "the later edit wins". */
      readonly updated: Date | null;
    }
  | { readonly kind: 'cancelled'; readonly id: string }
  | { readonly kind: 'refused'; readonly id: string | null; readonly reason: string };

/** Checks an item Google sent (event-check.ts) and maps it to Tryton's rows when it is an event. */
export function readItem(raw: unknown, calendarTimeZone: string | null): PulledItem {
  const checked = checkItem(raw);
  if (checked.kind !== 'event') return checked;
  const recurrence = (raw as { recurrence?: unknown }).recurrence;
  return {
    kind: 'event',
    mapped: mapChecked(checked.event, calendarTimeZone),
    values: fromGoogle(
      checked.event,
      calendarTimeZone,
      Array.isArray(recurrence) && recurrence.every((line) => typeof line === 'string') ? recurrence : null,
    ),
    updated: checked.event.updated,
  };
}

/** An event Google sent as Tryton's rows; throws when the pull would not take it. */
export function mapEvent(item: calendar_v3.Schema$Event, calendarTimeZone: string | null): MappedEvent {
  const read = readItem(item, calendarTimeZone);
  if (read.kind !== 'event') throw new Error(`not an event the pull takes: ${read.kind}`);
  return read.mapped;
}

function mapChecked(item: CheckedEvent, calendarTimeZone: string | null): MappedEvent {
  const allDay = 'date' in item.start;
  const startDate = 'date' in item.start ? item.start.date : null;
  const endDate = 'date' in item.end ? item.end.date : null;
  const timeZone = 'instant' in item.start ? item.start.timeZone : null;
  const event: EventRow = {
    google_id: item.id,
    ical_uid: storableText(item.iCalUID),
    recurring_event_id: storableText(item.recurringEventId),
    original_start: storableText(item.originalStart),
    all_day: allDay,
    start_date: startDate,
    end_date: startDate ? lastDay(startDate, endDate) : null,
    starts_at: 'instant' in item.start ? item.start.instant : null,
    ends_at: 'instant' in item.end ? item.end.instant : null,
    time_zone: storableText(timeZone ?? calendarTimeZone),
    visibility: item.visibility,
    status: item.status,
    html_link: storableText(item.htmlLink),
    google_updated: item.updated,
  };
  const detail: EventDetailRow = {
    summary: storableText(item.summary),
    description: storableText(item.description),
    location: storableText(item.location),
    attendees: item.attendees.length > 0 ? storableText(item.attendees.join('\n')) : null,
  };
  return { event, detail, hash: contentHash(event, detail), etag: item.etag };
}

function contentHash(event: EventRow, detail: EventDetailRow): string {
  // `updated` moves on changes Tryton does not keep (reminders, colour): it is not part of the content.
  const { google_updated: _updated, ...kept } = event;
  // JSON.stringify writes a Date as its toISOString() (Date.prototype.toJSON).
  const text = JSON.stringify([kept, detail]);
  return createHash('sha256').update(text).digest('base64url');
}
