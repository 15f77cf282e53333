/**
 * Reading an event resource sent by a client (insert, update, or a patch merged onto the current event)
 * into what the store keeps, with Google's validation: start/end of one kind and in order, `timeZone`
 * on recurring events, recurrence the emulator can expand exactly, known enum values. Read-only fields
 * (etag, created, htmlLink, ...) are ignored, as Google ignores them.
 */
import { errors } from './errors.js';
import { RecurrenceError, validateRecurrence } from './recurrence.js';
import type { Attendee, EventStatus, StoredEvent, When } from './types.js';
import { isAllDay } from './types.js';
import { formatUtcMillis, isValidZone, parseDate, parseDateTime } from './tz.js';

/** The part of an event a client writes. */
export type EventContent = Pick<
  StoredEvent,
  | 'status'
  | 'summary'
  | 'description'
  | 'location'
  | 'colorId'
  | 'visibility'
  | 'transparency'
  | 'start'
  | 'end'
  | 'recurrence'
  | 'attendees'
  | 'extendedProperties'
  | 'extra'
>;

/** Writable fields kept verbatim: the emulator gives them back but gives them no meaning. */
const PASSTHROUGH = [
  'reminders',
  'guestsCanInviteOthers',
  'guestsCanModify',
  'guestsCanSeeOtherGuests',
  'anyoneCanAddSelf',
  'source',
  'conferenceData',
  'attachments',
  'locked',
  'endTimeUnspecified',
] as const;

const STATUSES = ['confirmed', 'tentative', 'cancelled'];
const VISIBILITIES = ['default', 'public', 'private', 'confidential'];
const TRANSPARENCIES = ['opaque', 'transparent'];

export type Resource = Record<string, unknown>;

export function asResource(body: unknown): Resource {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.parseError();
  return body as Resource;
}

export function parseContent(resource: Resource, options: { isException: boolean }): EventContent {
  const start = parseWhen(resource.start, 'start');
  const end = parseWhen(resource.end, 'end');
  if (isAllDay(start) !== isAllDay(end))
    throw errors.badRequest('Start and end times must either both be date or both be dateTime.');
  if (
    isAllDay(start) && isAllDay(end)
      ? end.date <= start.date
      : !isAllDay(start) && !isAllDay(end) && end.dateTime < start.dateTime
  )
    throw errors.timeRangeEmpty(isAllDay(end) ? 'end.date' : 'end.dateTime');
  const content: EventContent = {
    status: enumValue(resource.status, STATUSES, 'status', 'confirmed') as EventStatus,
    start,
    end,
    extra: {},
  };
  for (const name of ['summary', 'description', 'location'] as const) {
    const value = optionalString(resource[name], name);
    if (value !== undefined) content[name] = value;
  }
  const colorId = optionalString(resource.colorId, 'colorId');
  if (colorId !== undefined) {
    if (!/^(?:[1-9]|1[01])$/.test(colorId)) throw errors.invalid('Invalid Value', 'colorId');
    content.colorId = colorId;
  }
  const visibility = enumValue(resource.visibility, VISIBILITIES, 'visibility', undefined);
  if (visibility !== undefined) content.visibility = visibility;
  const transparency = enumValue(resource.transparency, TRANSPARENCIES, 'transparency', undefined);
  if (transparency !== undefined) content.transparency = transparency;
  const recurrence = parseRecurrence(resource.recurrence, start, options.isException);
  if (recurrence !== undefined) content.recurrence = recurrence;
  const attendees = parseAttendees(resource.attendees);
  if (attendees !== undefined) content.attendees = attendees;
  const extended = parseExtendedProperties(resource.extendedProperties);
  if (extended !== undefined) content.extendedProperties = extended;
  for (const name of PASSTHROUGH)
    if (resource[name] !== undefined && resource[name] !== null) content.extra[name] = resource[name];
  return content;
}

function parseWhen(value: unknown, name: 'start' | 'end'): When {
  if (value === undefined || value === null) throw errors.required(`Missing ${name} time.`);
  if (typeof value !== 'object' || Array.isArray(value)) throw errors.badRequest(`Invalid ${name} time.`);
  const { date, dateTime, timeZone } = value as Record<string, unknown>;
  if (timeZone !== undefined && timeZone !== null && (typeof timeZone !== 'string' || !isValidZone(timeZone)))
    throw errors.badRequest(`Invalid time zone definition for ${name} time.`);
  const zone = typeof timeZone === 'string' ? timeZone : undefined;
  const hasDate = date !== undefined && date !== null;
  const hasDateTime = dateTime !== undefined && dateTime !== null;
  if (hasDate === hasDateTime)
    throw errors.badRequest(hasDate ? `Invalid ${name} time.` : `Missing ${name} time.`);
  if (hasDate) {
    if (typeof date !== 'string' || parseDate(date) === undefined)
      throw errors.badRequest(`Invalid ${name} time.`);
    return { date };
  }
  const ms = typeof dateTime === 'string' ? parseDateTime(dateTime, zone) : undefined;
  if (ms === undefined) throw errors.badRequest(`Invalid ${name} time.`);
  return zone === undefined ? { dateTime: ms } : { dateTime: ms, timeZone: zone };
}

function parseRecurrence(value: unknown, start: When, isException: boolean): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((line) => typeof line === 'string'))
    throw errors.badRequest('Invalid recurrence rule.');
  if (value.length === 0) return undefined;
  if (isException)
    throw errors.badRequest('Cannot set recurrence on a single instance of a recurring event.');
  if (!isAllDay(start) && start.timeZone === undefined)
    throw errors.required('Missing time zone definition for start time.');
  try {
    validateRecurrence(value, seriesStartOf(start));
  } catch (error) {
    if (error instanceof RecurrenceError) throw errors.badRequest(error.message);
    throw error;
  }
  return [...value];
}

export function seriesStartOf(start: When): { allDay: boolean; startMs: number; zone: string } {
  if (isAllDay(start)) return { allDay: true, startMs: parseDate(start.date) ?? 0, zone: 'UTC' };
  return { allDay: false, startMs: start.dateTime, zone: start.timeZone ?? 'UTC' };
}

function parseAttendees(value: unknown): Attendee[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw errors.badRequest('Invalid attendees.');
  return value.map((item) => {
    if (typeof item !== 'object' || item === null) throw errors.badRequest('Invalid attendees.');
    const fields = item as Record<string, unknown>;
    if (typeof fields.email !== 'string' || fields.email.length === 0)
      throw errors.required('Missing attendee email.');
    const attendee: Attendee = {
      email: fields.email.toLowerCase(),
      responseStatus: enumValue(
        fields.responseStatus,
        ['needsAction', 'declined', 'tentative', 'accepted'],
        'attendees.responseStatus',
        'needsAction',
      ) as string,
    };
    if (typeof fields.displayName === 'string') attendee.displayName = fields.displayName;
    if (typeof fields.optional === 'boolean') attendee.optional = fields.optional;
    if (typeof fields.resource === 'boolean') attendee.resource = fields.resource;
    if (typeof fields.comment === 'string') attendee.comment = fields.comment;
    if (typeof fields.additionalGuests === 'number') attendee.additionalGuests = fields.additionalGuests;
    return attendee;
  });
}

function parseExtendedProperties(value: unknown): StoredEvent['extendedProperties'] {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object') throw errors.badRequest('Invalid extendedProperties.');
  const out: NonNullable<StoredEvent['extendedProperties']> = {};
  for (const scope of ['private', 'shared'] as const) {
    const map = (value as Record<string, unknown>)[scope];
    if (map === undefined || map === null) continue;
    if (typeof map !== 'object' || !Object.values(map).every((item) => typeof item === 'string'))
      throw errors.badRequest('Invalid extendedProperties.');
    out[scope] = { ...(map as Record<string, string>) };
  }
  return out;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw errors.invalid('Invalid Value', name);
  return value;
}

function enumValue<T extends string | undefined>(
  value: unknown,
  allowed: readonly string[],
  name: string,
  fallback: T,
): string | T {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value)) throw errors.invalid('Invalid Value', name);
  return value;
}

/** The stored event written back as a resource, so a patch can be merged onto it and validated whole. */
export function toResource(event: StoredEvent): Resource {
  const when = (value: When) =>
    isAllDay(value)
      ? { date: value.date }
      : {
          dateTime: formatUtcMillis(value.dateTime),
          ...(value.timeZone ? { timeZone: value.timeZone } : {}),
        };
  const resource: Resource = {
    ...event.extra,
    status: event.status,
    start: when(event.start),
    end: when(event.end),
  };
  for (const name of ['summary', 'description', 'location', 'colorId', 'visibility', 'transparency'] as const)
    if (event[name] !== undefined) resource[name] = event[name];
  if (event.recurrence) resource.recurrence = [...event.recurrence];
  if (event.attendees) resource.attendees = event.attendees.map((attendee) => ({ ...attendee }));
  if (event.extendedProperties) resource.extendedProperties = structuredClone(event.extendedProperties);
  return resource;
}

/**
 * Patch semantics: given fields replace, `null` clears, arrays replace whole, and the objects start/end/
 * extendedProperties merge one level down (so `{start: {dateTime}}` keeps the start's `timeZone`). Giving
 * `date` drops `dateTime` and the other way round, which is what switching an event to all-day means.
 */
export function mergePatch(current: Resource, patch: Resource): Resource {
  const merged: Resource = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if ((key === 'start' || key === 'end') && isObject(value) && isObject(current[key])) {
      const base = { ...(current[key] as Resource) };
      if ('date' in value) delete base.dateTime;
      if ('dateTime' in value) delete base.date;
      merged[key] = dropNulls({ ...base, ...value });
    } else if (key === 'extendedProperties' && isObject(value) && isObject(current[key])) {
      const base = current[key] as Resource;
      const out: Resource = { ...base };
      for (const [scope, map] of Object.entries(value))
        out[scope] =
          isObject(map) && isObject(base[scope]) ? dropNulls({ ...(base[scope] as Resource), ...map }) : map;
      merged[key] = out;
    } else merged[key] = value;
  }
  return merged;
}

function isObject(value: unknown): value is Resource {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dropNulls(value: Resource): Resource {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== null));
}

/** Client-chosen ids: base32hex (lowercase a-v and digits), 5 to 1024 characters. */
export function isValidEventId(id: string): boolean {
  return /^[a-v0-9]{5,1024}$/.test(id);
}
