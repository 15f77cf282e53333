/**
 * Event writes and single reads, shared by the API routes and the control API so that a change made "by
 * a person in Google Calendar" (control) and one made through the API get the same etag, `updated`,
 * sequence and place in incremental sync. Instance ids (`<series>_<start>`) are first-class: reading one
 * gives the occurrence, writing one creates or edits the exception, deleting one cancels the occurrence.
 */
import { randomBytes } from 'node:crypto';
import { errors } from './errors.js';
import {
  asResource,
  type EventContent,
  isValidEventId,
  mergePatch,
  parseContent,
  type Resource,
  toResource,
} from './event-input.js';
import { withRawStamp } from './raw.js';
import {
  hasOccurrence,
  horizonFor,
  instanceId,
  isSeries,
  occurrenceStarts,
  parseInstanceId,
  virtualInstance,
} from './series.js';
import type { CalendarStore } from './store.js';
import type { StoredCalendar, StoredEvent, Tombstone, When } from './types.js';
import { isAllDay } from './types.js';
import { formatDate } from './tz.js';

export interface WriteOptions {
  /** The `If-Match` header: a stale etag answers 412. */
  readonly ifMatch?: string | undefined;
  readonly sendUpdates?: string | undefined;
}

/** A found event, and whether it is stored or a virtual occurrence computed from its series. */
interface Found {
  readonly event: StoredEvent;
  readonly stored: boolean;
}

export class EventsService {
  constructor(private readonly store: CalendarStore) {}

  get(calendar: StoredCalendar, eventId: string): StoredEvent {
    const found = this.find(calendar.id, eventId);
    if (!found) throw errors.notFound();
    return found.event;
  }

  insert(calendar: StoredCalendar, body: unknown, actor: string, options: WriteOptions = {}): StoredEvent {
    const resource = asResource(body);
    const sendUpdates = checkSendUpdates(options.sendUpdates);
    let id: string;
    if (resource.id !== undefined && resource.id !== null) {
      if (typeof resource.id !== 'string' || !isValidEventId(resource.id))
        throw errors.invalid('Invalid resource id value.');
      id = resource.id;
      if (this.store.events(calendar.id)[id]) throw errors.duplicate();
    } else id = newEventId();
    const content = parseContent(resource, { isException: false });
    const stamp = this.store.stamp();
    const event: StoredEvent = {
      id,
      ...content,
      iCalUID:
        typeof resource.iCalUID === 'string' && resource.iCalUID.length > 0
          ? resource.iCalUID
          : `${id}@google.com`,
      sequence:
        typeof resource.sequence === 'number' && resource.sequence >= 0 ? Math.floor(resource.sequence) : 0,
      created: stamp.updated,
      ...stamp,
      organizer: organizerOf(calendar),
      creator: { email: actor },
    };
    this.store.putEvent(calendar.id, event);
    this.recordUpdates(calendar, event, 'created', sendUpdates, actor);
    return event;
  }

  update(
    calendar: StoredCalendar,
    eventId: string,
    body: unknown,
    actor: string,
    options: WriteOptions = {},
  ): StoredEvent {
    return this.write(calendar, eventId, () => asResource(body), actor, options);
  }

  patch(
    calendar: StoredCalendar,
    eventId: string,
    body: unknown,
    actor: string,
    options: WriteOptions = {},
  ): StoredEvent {
    const patch = asResource(body);
    return this.write(calendar, eventId, (current) => mergePatch(toResource(current), patch), actor, options);
  }

  delete(calendar: StoredCalendar, eventId: string, actor: string, options: WriteOptions = {}): void {
    const sendUpdates = checkSendUpdates(options.sendUpdates);
    const found = this.find(calendar.id, eventId);
    if (!found) throw errors.notFound();
    if (found.event.status === 'cancelled') throw errors.deleted();
    checkIfMatch(found.event, options.ifMatch);
    const stamp = this.store.stamp();
    const cancelled: StoredEvent = {
      ...found.event,
      status: 'cancelled',
      sequence: found.event.sequence + 1,
      ...stamp,
    };
    if (!found.stored) cancelled.created = stamp.updated;
    this.store.putEvent(calendar.id, cancelled);
    if (found.stored) this.afterSeriesChange(calendar, found.event, cancelled, stamp);
    this.recordUpdates(calendar, cancelled, 'cancelled', sendUpdates, actor);
  }

  /** A stored event, or the occurrence an instance id names (cancelled when its whole series is). */
  find(calendarId: string, eventId: string): Found | undefined {
    const events = this.store.events(calendarId);
    const stored = events[eventId];
    if (stored) return { event: stored, stored: true };
    const parsed = parseInstanceId(eventId);
    const master = parsed ? events[parsed.seriesId] : undefined;
    if (!parsed || !master || !isSeries(master) || isAllDay(master.start) !== parsed.allDay) return undefined;
    if (!hasOccurrence(master, parsed.originalStartMs)) return undefined;
    const event = withRawStamp(this.store, calendarId, virtualInstance(master, parsed.originalStartMs));
    return { event, stored: false };
  }

  private write(
    calendar: StoredCalendar,
    eventId: string,
    resourceFor: (current: StoredEvent) => Resource,
    actor: string,
    options: WriteOptions,
  ): StoredEvent {
    const sendUpdates = checkSendUpdates(options.sendUpdates);
    const found = this.find(calendar.id, eventId);
    if (!found) throw errors.notFound();
    const current = found.event;
    checkIfMatch(current, options.ifMatch);
    const resource = resourceFor(current);
    const content = parseContent(resource, { isException: current.recurringEventId !== undefined });
    const sequence = nextSequence(current, content, resource.sequence);
    const stamp = this.store.stamp();
    const next: StoredEvent = {
      id: current.id,
      ...content,
      iCalUID: current.iCalUID,
      sequence,
      created: found.stored ? current.created : stamp.updated,
      ...stamp,
      organizer: current.organizer,
      creator: current.creator,
      ...(current.recurringEventId === undefined
        ? {}
        : { recurringEventId: current.recurringEventId, originalStart: current.originalStart as When }),
    };
    this.store.putEvent(calendar.id, next);
    if (found.stored) this.afterSeriesChange(calendar, current, next, stamp);
    this.recordUpdates(
      calendar,
      next,
      next.status === 'cancelled' ? 'cancelled' : 'updated',
      sendUpdates,
      actor,
    );
    return next;
  }

  /**
   * When a series changes, occurrences it no longer has become tombstones (reported as cancelled to
   * singleEvents syncs), and cancelling a series cancels its exceptions, as deleting it in Google does.
   */
  private afterSeriesChange(
    calendar: StoredCalendar,
    before: StoredEvent,
    after: StoredEvent,
    stamp: { changed: number; updated: number; etag: string },
  ): void {
    if (!isSeries(before) && !isSeries(after)) return;
    const now = this.store.now();
    const idsOf = (event: StoredEvent): Map<string, number> => {
      if (!isSeries(event) || event.status === 'cancelled') return new Map();
      const allDay = isAllDay(event.start);
      return new Map(
        occurrenceStarts(event, horizonFor(event, now, undefined)).map((ms) => [
          instanceId(event.id, allDay, ms),
          ms,
        ]),
      );
    };
    const kept = idsOf(after);
    const tombstones: Tombstone[] = [];
    for (const [id, ms] of idsOf(before)) {
      if (kept.has(id)) continue;
      const originalStart: When = isAllDay(before.start)
        ? { date: formatDate(ms) }
        : { dateTime: ms, ...(before.start.timeZone ? { timeZone: before.start.timeZone } : {}) };
      tombstones.push({ id, recurringEventId: before.id, originalStart, ...stamp });
    }
    this.store.addTombstones(calendar.id, tombstones);
    if (after.status !== 'cancelled') return;
    for (const event of Object.values(this.store.events(calendar.id))) {
      if (event.recurringEventId !== before.id || event.status === 'cancelled') continue;
      this.store.putEvent(calendar.id, { ...event, status: 'cancelled', ...this.store.stamp() });
    }
  }

  private recordUpdates(
    calendar: StoredCalendar,
    event: StoredEvent,
    action: 'created' | 'updated' | 'cancelled',
    sendUpdates: 'all' | 'externalOnly' | 'none' | undefined,
    actor: string,
  ): void {
    if (sendUpdates !== 'all' && sendUpdates !== 'externalOnly') return;
    const domain = (email: string) => email.slice(email.lastIndexOf('@') + 1);
    const recipients = (event.attendees ?? [])
      .map((attendee) => attendee.email)
      .filter((email) => email !== actor && email !== event.organizer.email)
      .filter((email) => sendUpdates === 'all' || domain(email) !== domain(actor));
    if (recipients.length === 0) return;
    this.store.sentUpdates.push({
      at: this.store.now(),
      calendarId: calendar.id,
      eventId: event.id,
      action,
      sendUpdates,
      recipients,
    });
  }
}

function checkIfMatch(event: StoredEvent, ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatch.trim() === '*') return;
  const tags = ifMatch.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!tags.includes(event.etag)) throw errors.conditionNotMet();
}

function checkSendUpdates(value: string | undefined): 'all' | 'externalOnly' | 'none' | undefined {
  if (value === undefined || value === 'all' || value === 'externalOnly' || value === 'none') return value;
  throw errors.invalidParameter('sendUpdates');
}

/** iCalendar SEQUENCE: bumped when the time or the rule changes; a client may raise it, never lower it. */
function nextSequence(current: StoredEvent, content: EventContent, requested: unknown): number {
  if (typeof requested === 'number') {
    if (requested < current.sequence)
      throw errors.badRequest(
        'Invalid sequence value. The specified sequence number is below the current sequence number of the resource.',
      );
    if (requested > current.sequence) return Math.floor(requested);
  }
  const significant =
    JSON.stringify([current.start, current.end, current.recurrence ?? null]) !==
      JSON.stringify([content.start, content.end, content.recurrence ?? null]) ||
    (content.status === 'cancelled' && current.status !== 'cancelled');
  return current.sequence + (significant ? 1 : 0);
}

function organizerOf(calendar: StoredCalendar): StoredEvent['organizer'] {
  return calendar.id === calendar.owner
    ? { email: calendar.owner }
    : { email: calendar.id, displayName: calendar.summary };
}

/** Google's own ids are base32hex too, 26 characters like theirs. */
function newEventId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuv';
  return [...randomBytes(26)].map((byte) => alphabet[byte % 32]).join('');
}
