/**
 * Stored events written as Calendar v3 `calendar#event` resources. `dateTime` values carry the offset of
 * the zone the request asked for (the `timeZone` parameter, else the calendar's), not the event's own, as
 * Google does; `start.timeZone` appears only when the event names one. In listings a cancelled event shows only what Google
 * guarantees for it (id, status, and for an exception its recurringEventId and originalStartTime), so a
 * client that relies on more breaks here rather than in production.
 */
import type { AccessRole, StoredEvent, When } from './types.js';
import { isAllDay } from './types.js';
import { formatInZone, formatUtcMillis } from './tz.js';

export interface RenderContext {
  readonly calendarId: string;
  /** Zone for `dateTime` values. */
  readonly zone: string;
  /** The account reading: sets the `self` flags. */
  readonly viewer: string;
  readonly accessRole: AccessRole;
  /** Listing form: cancelled events reduced to what Google guarantees. */
  readonly listing: boolean;
}

export function renderWhen(when: When, zone: string): Record<string, string> {
  if (isAllDay(when)) return { date: when.date };
  const out: Record<string, string> = { dateTime: formatInZone(when.dateTime, zone) };
  if (when.timeZone !== undefined) out.timeZone = when.timeZone;
  return out;
}

export function htmlLink(calendarId: string, eventId: string): string {
  const eid = Buffer.from(`${eventId} ${calendarId}`).toString('base64url');
  return `https://www.google.com/calendar/event?eid=${eid}`;
}

export function renderEvent(event: StoredEvent, context: RenderContext): Record<string, unknown> {
  const head = { kind: 'calendar#event', etag: event.etag, id: event.id, status: event.status };
  if (event.status === 'cancelled' && context.listing) {
    return {
      ...head,
      ...(event.recurringEventId === undefined
        ? {}
        : {
            recurringEventId: event.recurringEventId,
            originalStartTime: renderWhen(event.originalStart ?? event.start, context.zone),
          }),
    };
  }
  if (context.accessRole === 'freeBusyReader') {
    return {
      ...head,
      updated: formatUtcMillis(event.updated),
      start: renderWhen(event.start, context.zone),
      end: renderWhen(event.end, context.zone),
      ...(event.transparency === undefined ? {} : { transparency: event.transparency }),
    };
  }
  const out: Record<string, unknown> = {
    ...head,
    htmlLink: htmlLink(context.calendarId, event.id),
    created: formatUtcMillis(event.created),
    updated: formatUtcMillis(event.updated),
  };
  for (const name of ['summary', 'description', 'location', 'colorId'] as const)
    if (event[name] !== undefined) out[name] = event[name];
  out.creator = withSelf(event.creator, context.viewer);
  out.organizer = withSelf(event.organizer, context.viewer);
  out.start = renderWhen(event.start, context.zone);
  out.end = renderWhen(event.end, context.zone);
  if (event.recurrence) out.recurrence = [...event.recurrence];
  if (event.recurringEventId !== undefined) {
    out.recurringEventId = event.recurringEventId;
    out.originalStartTime = renderWhen(event.originalStart ?? event.start, context.zone);
  }
  if (event.transparency !== undefined) out.transparency = event.transparency;
  if (event.visibility !== undefined) out.visibility = event.visibility;
  out.iCalUID = event.iCalUID;
  out.sequence = event.sequence;
  if (event.attendees) {
    out.attendees = event.attendees.map((attendee) => ({
      ...attendee,
      ...(attendee.email === event.organizer.email ? { organizer: true } : {}),
      ...(attendee.email === context.viewer ? { self: true } : {}),
    }));
  }
  if (event.extendedProperties) out.extendedProperties = structuredClone(event.extendedProperties);
  out.reminders = { useDefault: true };
  Object.assign(out, structuredClone(event.extra));
  out.eventType = 'default';
  return out;
}

function withSelf<T extends { email: string }>(person: T, viewer: string): T & { self?: true } {
  return person.email === viewer ? { ...person, self: true } : { ...person };
}
