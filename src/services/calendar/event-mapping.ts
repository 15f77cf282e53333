/**
 * A Google Calendar event as the rows Tryton keeps (docs/contracts.md, "Calendar synchronization"):
 * pure functions, tested without HTTP. All-day events keep their dates exactly, the last day
 * inclusive as Tryton shows it (Google's end date is exclusive); timed events keep their instants,
 * in UTC, whatever zone Google wrote them in, so a DST change never moves them.
 */
import { createHash } from 'node:crypto';
import type { calendar_v3 } from '@googleapis/calendar';

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

export function isCancelled(item: calendar_v3.Schema$Event): boolean {
  return item.status === 'cancelled';
}

export function mapEvent(item: calendar_v3.Schema$Event, calendarTimeZone: string | null): MappedEvent {
  if (!item.id) throw new Error('Google sent an event without an id');
  const allDay = Boolean(item.start?.date);
  const startDate = item.start?.date ?? null;
  const event: EventRow = {
    google_id: item.id,
    ical_uid: storableText(item.iCalUID),
    recurring_event_id: item.recurringEventId ?? null,
    original_start: item.originalStartTime?.dateTime ?? item.originalStartTime?.date ?? null,
    all_day: allDay,
    start_date: allDay ? startDate : null,
    end_date: allDay && startDate ? lastDay(startDate, item.end?.date ?? null) : null,
    starts_at: allDay ? null : instant(item.start?.dateTime),
    ends_at: allDay ? null : instant(item.end?.dateTime),
    time_zone: storableText(item.start?.timeZone ?? calendarTimeZone),
    visibility: item.visibility ?? 'default',
    status: item.status ?? 'confirmed',
    html_link: storableText(item.htmlLink),
    google_updated: instant(item.updated),
  };
  const attendees = (item.attendees ?? [])
    .map((attendee) => attendee.email)
    .filter((email): email is string => typeof email === 'string' && email !== '');
  const detail: EventDetailRow = {
    summary: storableText(item.summary),
    description: storableText(item.description),
    location: storableText(item.location),
    attendees: attendees.length > 0 ? storableText(attendees.join('\n')) : null,
  };
  return { event, detail, hash: contentHash(event, detail), etag: item.etag ?? null };
}

/** Google's exclusive end date, as the inclusive last day (a one-day event ends the day it starts). */
export function lastDay(startDate: string, exclusiveEnd: string | null): string {
  if (!exclusiveEnd || exclusiveEnd <= startDate) return startDate;
  const end = new Date(`${exclusiveEnd}T00:00:00Z`);
  end.setUTCDate(end.getUTCDate() - 1);
  return end.toISOString().slice(0, 10);
}

/**
 * A text as PostgreSQL can hold it: no NUL, and no half of a UTF-16 pair (it becomes U+FFFD), since
 * one such character would fail the write of its whole page, and the pull would stop there for good.
 */
export function storableText(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  // String.prototype.toWellFormed (Node 20) is not in TypeScript's es2023 library.
  const wellFormed = (value as string & { toWellFormed(): string }).toWellFormed();
  return wellFormed.includes('\u0000') ? wellFormed.replaceAll('\u0000', '') : wellFormed;
}

function instant(value: string | null | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function contentHash(event: EventRow, detail: EventDetailRow): string {
  // `updated` moves on changes Tryton does not keep (reminders, colour): it is not part of the content.
  const { google_updated: _updated, ...kept } = event;
  // JSON.stringify writes a Date as its toISOString() (Date.prototype.toJSON).
  const text = JSON.stringify([kept, detail]);
  return createHash('sha256').update(text).digest('base64url');
}
