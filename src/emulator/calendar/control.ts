/**
 * Calendar part of the control API, mounted at `/__emulator/calendar`: acts as a person using Google
 * Calendar, and scripts what Google does on its own (sync token expiry, quotas, short pages). Event
 * changes go through the same service as the API, so they get etags, `updated`, sequence and a place in
 * incremental sync exactly as an API change would. JSON in and out; errors of event operations come in
 * Google's envelope, bad control bodies as `{error: "invalid_request", issues}`.
 *
 * Accounts and calendars
 *   GET    /accounts/:email/calendars                 the account's calendarList (its primary created on first use)
 *   POST   /accounts/:email/calendars                 {id?, summary?, description?, timeZone?, summaryOverride?, colorId?}
 *                                                     creates a calendar the account owns; id = the email sets up the primary
 *   DELETE /accounts/:email/calendars/:calendarId     removes a (non-primary) calendar from the account's list
 *   PATCH  /calendars/:calendarId                     {summary?, description?, timeZone?}
 *   POST   /calendars/:calendarId/share               {email, accessRole: owner|writer|reader|freeBusyReader, summaryOverride?}
 *
 * Events (calendarId: a calendar id, or an account's email for its primary; `?as=<email>` names the actor,
 * default the calendar's owner; `?sendUpdates=` as in the API)
 *   GET    /calendars/:calendarId/events              events as stored: {events, tombstones}, cancelled included
 *   POST   /calendars/:calendarId/events              an event resource as for events.insert -> 201 the event
 *   PUT    /calendars/:calendarId/events/:eventId     events.update; an instance id edits that occurrence
 *   PATCH  /calendars/:calendarId/events/:eventId     events.patch; an instance id moves/edits that occurrence
 *   DELETE /calendars/:calendarId/events/:eventId     events.delete; an instance id cancels that occurrence
 *   POST   /calendars/:calendarId/events/:eventId/occurrence
 *                                                     {originalStart: RFC 3339 or date, cancel?: true, changes?: {...}}
 *                                                     edits/moves (changes, a patch) or cancels one occurrence of a series
 *   POST   /calendars/:calendarId/events/:eventId/raw {fields: {<top-level field>: <JSON, null removes>}}: every API
 *                                                     rendering of the event (or of that instance) carries them, until
 *                                                     its next regular write (raw.ts)
 *
 * Google's own behaviour
 *   POST   /sync-tokens/invalidate                    {calendarId?}: every token (of one calendar) then answers 410
 *   GET    /quotas, POST /quotas                      {enabled?, perUserPerMinute?, perProjectPerMinute?, perProjectPerDay?,
 *                                                     userLimitStatus?: 403|429}; off by default
 *   POST   /paging                                    {maxPageSize: n | null, changeWhilePaging?: {calendar_id?, count} | null}:
 *                                                     every events page holds at most n items; after each page with a
 *                                                     nextPageToken the next `count` items are edited (paging-change.ts)
 *   GET    /sent-updates                              invitation e-mails that sendUpdates would have sent
 *   GET    /state                                     the whole calendar state as JSON
 *   POST   /reset                                     forgets calendars, events, quotas and settings (the global reset does too)
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { googleErrorHandler, sendGoogleError, stateControlRoutes } from '../api-plumbing.js';
import { parse } from '../control-body.js';
import { CalendarApiError, errors } from './errors.js';
import { renderEvent } from './event-output.js';
import { EventsService } from './events-service.js';
import { withRaw } from './raw.js';
import { instanceId, isSeries } from './series.js';
import { renderEntry } from './routes.js';
import type { CalendarStore } from './store.js';
import type { StoredCalendar, StoredEvent } from './types.js';
import { isAllDay } from './types.js';
import { isValidZone, parseDate, parseDateTime } from './tz.js';

export const CALENDAR_CONTROL_PREFIX = '/calendar';

const zone = z.string().refine(isValidZone, { error: 'must be an IANA time zone' });
const schemas = {
  calendar: z.strictObject({
    id: z.string().min(1).max(255).optional(),
    summary: z.string().max(1024).optional(),
    description: z.string().max(8192).optional(),
    timeZone: zone.optional(),
    summaryOverride: z.string().max(1024).optional(),
    colorId: z
      .string()
      .regex(/^(?:[1-9]|1\d|2[0-4])$/)
      .optional(),
  }),
  calendarPatch: z.strictObject({
    summary: z.string().optional(),
    description: z.string().optional(),
    timeZone: zone.optional(),
  }),
  share: z.strictObject({
    email: z.email(),
    accessRole: z.enum(['owner', 'writer', 'reader', 'freeBusyReader']),
    summaryOverride: z.string().optional(),
  }),
  occurrence: z.strictObject({
    originalStart: z.string().min(1),
    cancel: z.boolean().optional(),
    changes: z.record(z.string(), z.unknown()).optional(),
  }),
  invalidate: z.strictObject({ calendarId: z.string().min(1).optional() }),
  quotas: z.strictObject({
    enabled: z.boolean().optional(),
    perUserPerMinute: z.number().int().min(1).optional(),
    perProjectPerMinute: z.number().int().min(1).optional(),
    perProjectPerDay: z.number().int().min(0).optional(),
    userLimitStatus: z.union([z.literal(403), z.literal(429)]).optional(),
  }),
  paging: z.strictObject({
    maxPageSize: z.number().int().min(1).max(2500).nullable(),
    changeWhilePaging: z
      .strictObject({ calendar_id: z.string().min(1).optional(), count: z.number().int().min(1).max(2500) })
      .nullable()
      .optional(),
  }),
  raw: z.strictObject({
    fields: z
      .record(z.string().min(1), z.unknown())
      .refine((fields) => Object.keys(fields).length > 0, { error: 'name at least one field' }),
  }),
};

export function calendarControlRoutes(store: CalendarStore): Router {
  const service = new EventsService(store);
  const router = express.Router();

  router.get('/accounts/:email/calendars', (request, response) => {
    const email = param(request, 'email').toLowerCase();
    response.json({ items: entriesOf(store, email) });
  });
  router.post('/accounts/:email/calendars', (request, response) => {
    const body = parse(schemas.calendar, request, response);
    if (!body) return;
    const email = param(request, 'email').toLowerCase();
    store.entries(email);
    const primary = body.id?.toLowerCase() === email ? store.calendar(email) : undefined;
    if (primary) {
      updateCalendar(store, primary, body);
      if (body.summaryOverride !== undefined || body.colorId !== undefined)
        store.addEntry(email, email, 'owner', {
          primary: true,
          summaryOverride: body.summaryOverride,
          colorId: body.colorId,
        });
    } else {
      if (body.id !== undefined && store.calendar(body.id)) {
        sendGoogleError(response, errors.duplicate());
        return;
      }
      store.createCalendar(email, body);
    }
    response.status(201).json({ items: entriesOf(store, email) });
  });
  router.delete('/accounts/:email/calendars/:calendarId', (request, response) => {
    const removed = store.removeEntry(param(request, 'email').toLowerCase(), param(request, 'calendarId'));
    response.status(removed ? 200 : 404).json({ removed });
  });
  router.patch('/calendars/:calendarId', (request, response) => {
    const body = parse(schemas.calendarPatch, request, response);
    if (!body) return;
    const calendar = calendarFor(store, param(request, 'calendarId'));
    updateCalendar(store, calendar, body);
    response.json({
      id: calendar.id,
      summary: calendar.summary,
      timeZone: calendar.timeZone,
      etag: calendar.etag,
    });
  });
  router.post('/calendars/:calendarId/share', (request, response) => {
    const body = parse(schemas.share, request, response);
    if (!body) return;
    const calendar = calendarFor(store, param(request, 'calendarId'));
    const entry = store.addEntry(body.email.toLowerCase(), calendar.id, body.accessRole, {
      summaryOverride: body.summaryOverride,
    });
    response.status(201).json(renderEntry(calendar, entry));
  });

  router.get('/calendars/:calendarId/events', (request, response) => {
    const calendar = calendarFor(store, param(request, 'calendarId'));
    response.json({
      events: Object.values(store.events(calendar.id)),
      tombstones: store.tombstones(calendar.id),
    });
  });
  router.post('/calendars/:calendarId/events', (request, response) => {
    const calendar = calendarFor(store, param(request, 'calendarId'));
    const event = service.insert(calendar, request.body, actorOf(request, calendar), {
      sendUpdates: text(request.query.sendUpdates),
    });
    response.status(201).json(render(calendar, event));
  });
  router.put('/calendars/:calendarId/events/:eventId', (request, response) => {
    const calendar = calendarFor(store, param(request, 'calendarId'));
    const event = service.update(
      calendar,
      param(request, 'eventId'),
      request.body,
      actorOf(request, calendar),
      writeOptions(request),
    );
    response.json(render(calendar, event));
  });
  router.patch('/calendars/:calendarId/events/:eventId', (request, response) => {
    const calendar = calendarFor(store, param(request, 'calendarId'));
    const event = service.patch(
      calendar,
      param(request, 'eventId'),
      request.body,
      actorOf(request, calendar),
      writeOptions(request),
    );
    response.json(render(calendar, event));
  });
  router.delete('/calendars/:calendarId/events/:eventId', (request, response) => {
    const calendar = calendarFor(store, param(request, 'calendarId'));
    service.delete(calendar, param(request, 'eventId'), actorOf(request, calendar), writeOptions(request));
    response.json({ deleted: true });
  });
  router.post('/calendars/:calendarId/events/:eventId/occurrence', (request, response) => {
    const body = parse(schemas.occurrence, request, response);
    if (!body) return;
    const calendar = calendarFor(store, param(request, 'calendarId'));
    const master = service.get(calendar, param(request, 'eventId'));
    if (!isSeries(master)) throw errors.notFound();
    const allDay = isAllDay(master.start);
    const ms = allDay ? parseDate(body.originalStart) : parseDateTime(body.originalStart);
    if (ms === undefined)
      throw errors.badRequest('originalStart must be a date (all-day series) or an RFC 3339 date-time.');
    const id = instanceId(master.id, allDay, ms);
    const actor = actorOf(request, calendar);
    if (body.cancel) {
      service.delete(calendar, id, actor, writeOptions(request));
      response.json({ id, cancelled: true });
    } else {
      response.json(
        render(calendar, service.patch(calendar, id, body.changes ?? {}, actor, writeOptions(request))),
      );
    }
  });

  router.post('/calendars/:calendarId/events/:eventId/raw', (request, response) => {
    const body = parse(schemas.raw, request, response);
    if (!body) return;
    const calendar = calendarFor(store, param(request, 'calendarId'));
    const eventId = param(request, 'eventId');
    service.get(calendar, eventId);
    store.setRawOverride(calendar.id, eventId, body.fields);
    response.json(render(calendar, service.get(calendar, eventId), store));
  });

  router.post('/sync-tokens/invalidate', (request, response) => {
    const body = parse(schemas.invalidate, request, response);
    if (!body) return;
    const calendarId = body.calendarId === undefined ? undefined : calendarFor(store, body.calendarId).id;
    response.json({ invalidated: store.invalidateSyncTokens(calendarId) });
  });
  router.get('/quotas', (_request, response) => {
    response.json(store.quota);
  });
  router.post('/quotas', (request, response) => {
    const body = parse(schemas.quotas, request, response);
    if (!body) return;
    Object.assign(store.quota, body);
    response.json(store.quota);
  });
  router.post('/paging', (request, response) => {
    const body = parse(schemas.paging, request, response);
    if (!body) return;
    store.maxPageSize = body.maxPageSize;
    const change = body.changeWhilePaging ?? null;
    store.changeWhilePaging =
      change === null
        ? null
        : {
            count: change.count,
            ...(change.calendar_id === undefined ? {} : { calendarId: change.calendar_id }),
          };
    response.json(pagingAnswer(store));
  });
  router.get('/sent-updates', (_request, response) => {
    response.json({ items: store.sentUpdates });
  });
  stateControlRoutes(router, store);
  router.use(googleErrorHandler(CalendarApiError));
  return router;
}

/** A calendar by id, or an account's primary by its email (created on first use). */
function calendarFor(store: CalendarStore, calendarId: string): StoredCalendar {
  const found = store.calendar(calendarId);
  if (found) return found;
  if (calendarId.includes('@') && !calendarId.endsWith('.calendar.google.com')) {
    store.entries(calendarId);
    const primary = store.calendar(calendarId.toLowerCase());
    if (primary) return primary;
  }
  throw errors.notFound();
}

function updateCalendar(
  store: CalendarStore,
  calendar: StoredCalendar,
  changes: { summary?: string | undefined; description?: string | undefined; timeZone?: string | undefined },
): void {
  if (changes.summary !== undefined) calendar.summary = changes.summary;
  if (changes.description !== undefined) calendar.description = changes.description;
  if (changes.timeZone !== undefined) calendar.timeZone = changes.timeZone;
  store.touchCalendar(calendar);
}

function entriesOf(store: CalendarStore, email: string): Record<string, unknown>[] {
  return store.entries(email).flatMap((entry) => {
    const calendar = store.calendar(entry.calendarId);
    return calendar ? [renderEntry(calendar, entry)] : [];
  });
}

function pagingAnswer(store: CalendarStore): Record<string, unknown> {
  const change = store.changeWhilePaging;
  return {
    maxPageSize: store.maxPageSize,
    changeWhilePaging:
      change === null
        ? null
        : {
            ...(change.calendarId === undefined ? {} : { calendar_id: change.calendarId }),
            count: change.count,
          },
  };
}

/** The event as the API renders it to the calendar's owner; with `store`, its raw override applied. */
function render(
  calendar: StoredCalendar,
  event: StoredEvent,
  store?: CalendarStore,
): Record<string, unknown> {
  const rendered = renderEvent(event, {
    calendarId: calendar.id,
    zone: calendar.timeZone,
    viewer: calendar.owner,
    accessRole: 'owner',
    listing: false,
  });
  return store ? withRaw(store, calendar.id, event, rendered) : rendered;
}

function actorOf(request: Request, calendar: StoredCalendar): string {
  return text(request.query.as)?.toLowerCase() ?? calendar.owner;
}

function writeOptions(request: Request) {
  return { ifMatch: request.get('if-match'), sendUpdates: text(request.query.sendUpdates) };
}

function param(request: Request, name: string): string {
  const value = request.params[name];
  return typeof value === 'string' ? value : '';
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
