/**
 * Calendar v3 at Google's paths under the API root (`<root>calendar/v3/...`, what `@googleapis/calendar`
 * builds from `rootUrl`). Each call goes: traffic (count, latency, injected failure) -> bearer token ->
 * scope -> quota -> the operation, every error in Google's JSON envelope. The account is the token's
 * user; `primary` names that account's primary calendar wherever a calendarId is taken.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import {
  authenticateCaller,
  bearerToken,
  type Caller,
  googleErrorHandler,
  sendGoogleError,
} from '../api-plumbing.js';
import type { EmulatorState } from '../state.js';
import { surfaceEndpoint, type Traffic } from '../traffic.js';
import { parseWatchRequest } from './channel-input.js';
import { type NewChannel, renderChannel } from './channels.js';
import { CalendarApiError, errors } from './errors.js';
import { renderEvent } from './event-output.js';
import { EventsService } from './events-service.js';
import { listEvents, listInstances } from './listing.js';
import { changesWhilePaging, editWhilePaging } from './paging-change.js';
import { checkQuota } from './quota.js';
import { withRaw } from './raw.js';
import { type Access, scopesAllow } from './scopes.js';
import { isSeries } from './series.js';
import type { CalendarStore } from './store.js';
import type { ListEntry, StoredCalendar } from './types.js';
import { ACCESS_ROLES } from './types.js';
import { isValidZone } from './tz.js';

export const CALENDAR_PREFIX = '/calendar/v3';

export function calendarRoutes(state: EmulatorState, traffic: Traffic): Router {
  const store = state.calendar;
  const service = new EventsService(store);
  const router = express.Router();
  const json = express.json({ limit: '1mb', type: () => true });

  /** The chain every operation runs through; `kind` names it in the traffic stats. */
  const operation = (
    kind: string,
    access: Access,
    handler: (request: Request, response: Response, caller: Caller) => void,
  ): RequestHandler[] => [
    surfaceEndpoint(
      traffic,
      'calendar',
      () => kind,
      // calendarList calls name a calendar too, but address the list: failures aimed at it pass them by.
      kind.startsWith('calendarList.') ? undefined : (request) => addressedCalendars(state, request),
    ),
    // Express 5 routes a synchronous throw (a CalendarApiError) to the router's error handler below.
    (request, response) => {
      const caller = authenticate(state, request, access);
      checkQuota(store, caller.email, caller.token.clientId);
      handler(request, response, caller);
    },
  ];

  router.get(
    '/users/me/calendarList',
    ...operation('calendarList.list', 'calendarList.read', (request, response, caller) => {
      response.json(listCalendarList(store, caller.email, request.query));
    }),
  );
  /** events.watch and calendarList.watch: opens a channel (its sync message follows the answer). */
  const watch = (request: Request, response: Response, spec: Omit<NewChannel, 'request'>) => {
    const asked = parseWatchRequest(request.body, state.now());
    const channel = state.push.watch({ ...spec, request: asked });
    if (!channel) throw errors.channelIdNotUnique(asked.id);
    response.json(renderChannel(channel));
  };
  router.post(
    '/users/me/calendarList/watch',
    json,
    ...operation('calendarList.watch', 'calendarList.read', (request, response, caller) => {
      store.entries(caller.email);
      watch(request, response, {
        kind: 'calendarList',
        account: caller.email,
        clientId: caller.token.clientId,
        resourceUri: `${apiBase(request)}/users/me/calendarList`,
      });
    }),
  );
  router.post(
    '/channels/stop',
    json,
    ...operation('channels.stop', 'channels.stop', (request, response, caller) => {
      const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
        string,
        unknown
      >;
      if (typeof body.id !== 'string' || body.id === '') throw errors.required('Required', 'id');
      if (typeof body.resourceId !== 'string' || body.resourceId === '')
        throw errors.required('Required', 'resourceId');
      if (!state.push.stop(body.id, body.resourceId, caller.token.clientId))
        throw errors.channelNotFound(body.id, caller.token.clientId);
      response.status(204).end();
    }),
  );
  router.get(
    '/users/me/calendarList/:calendarId',
    ...operation('calendarList.get', 'calendarList.read', (request, response, caller) => {
      const { calendar, entry } = resolve(store, caller, param(request, 'calendarId'));
      response.json(renderEntry(calendar, entry));
    }),
  );
  router.get(
    '/calendars/:calendarId',
    ...operation('calendars.get', 'calendars.read', (request, response, caller) => {
      const { calendar } = resolve(store, caller, param(request, 'calendarId'));
      response.json(renderCalendar(calendar));
    }),
  );
  router.post(
    '/calendars',
    json,
    ...operation('calendars.insert', 'calendars.write', (request, response, caller) => {
      const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
        string,
        unknown
      >;
      if (typeof body.summary !== 'string' || body.summary.length === 0)
        throw errors.required('Missing title.', 'summary');
      const timeZone = typeof body.timeZone === 'string' ? body.timeZone : undefined;
      if (timeZone !== undefined && !isValidZone(timeZone))
        throw errors.invalid('Invalid time zone.', 'timeZone');
      const description = typeof body.description === 'string' ? body.description : undefined;
      store.entries(caller.email);
      const calendar = store.createCalendar(caller.email, { summary: body.summary, timeZone, description });
      response.json(renderCalendar(calendar));
    }),
  );
  router.delete(
    '/calendars/:calendarId',
    ...operation('calendars.delete', 'calendars.write', (request, response, caller) => {
      const { calendar, entry } = resolve(store, caller, param(request, 'calendarId'));
      // Google refuses to delete a primary calendar (calendars.clear empties it instead).
      if (entry.primary) throw errors.badRequest('Cannot delete the primary calendar.');
      if (entry.accessRole !== 'owner') throw errors.forbidden();
      store.deleteCalendar(calendar.id);
      response.status(204).end();
    }),
  );
  router.get(
    '/calendars/:calendarId/events',
    ...operation('events.list', 'events.read', (request, response, caller) => {
      const { calendar, entry } = resolve(store, caller, param(request, 'calendarId'));
      const { answer, following } = listEvents(
        store,
        calendar,
        request.query,
        { calendarId: calendar.id, viewer: caller.email, accessRole: entry.accessRole },
        changesWhilePaging(store, calendar),
      );
      response.json(answer);
      // After the page is sent: a person edits what the next pages would carry (paging-change.ts).
      editWhilePaging(service, calendar, following);
    }),
  );
  router.post(
    '/calendars/:calendarId/events',
    json,
    ...operation('events.insert', 'events.write', (request, response, caller) => {
      const { calendar, entry } = resolve(store, caller, param(request, 'calendarId'), true);
      const event = service.insert(calendar, request.body, caller.email, {
        sendUpdates: text(request.query.sendUpdates),
      });
      response.json(renderEvent(event, renderContext(request, calendar, entry, caller)));
    }),
  );
  router.post(
    '/calendars/:calendarId/events/watch',
    json,
    ...operation('events.watch', 'events.read', (request, response, caller) => {
      const { calendar } = resolve(store, caller, param(request, 'calendarId'));
      watch(request, response, {
        kind: 'events',
        calendarId: calendar.id,
        account: caller.email,
        clientId: caller.token.clientId,
        resourceUri: `${apiBase(request)}/calendars/${pathId(calendar.id)}/events`,
      });
    }),
  );
  router.get(
    '/calendars/:calendarId/events/:eventId/instances',
    ...operation('events.instances', 'events.read', (request, response, caller) => {
      const { calendar, entry } = resolve(store, caller, param(request, 'calendarId'));
      const master = service.get(calendar, param(request, 'eventId'));
      if (!isSeries(master)) throw errors.notFound();
      response.json(
        listInstances(store, calendar, master, request.query, {
          calendarId: calendar.id,
          viewer: caller.email,
          accessRole: entry.accessRole,
        }),
      );
    }),
  );
  router.get(
    '/calendars/:calendarId/events/:eventId',
    ...operation('events.get', 'events.read', (request, response, caller) => {
      const { calendar, entry } = resolve(store, caller, param(request, 'calendarId'));
      const event = service.get(calendar, param(request, 'eventId'));
      if (request.get('if-none-match') === event.etag) {
        response.status(304).end();
        return;
      }
      response.json(
        withRaw(
          store,
          calendar.id,
          event,
          renderEvent(event, renderContext(request, calendar, entry, caller)),
        ),
      );
    }),
  );
  const write = (kind: 'events.update' | 'events.patch') =>
    operation(kind, 'events.write', (request, response, caller) => {
      const { calendar, entry } = resolve(store, caller, param(request, 'calendarId'), true);
      const options = { ifMatch: request.get('if-match'), sendUpdates: text(request.query.sendUpdates) };
      const eventId = param(request, 'eventId');
      const event =
        kind === 'events.update'
          ? service.update(calendar, eventId, request.body, caller.email, options)
          : service.patch(calendar, eventId, request.body, caller.email, options);
      response.json(renderEvent(event, renderContext(request, calendar, entry, caller)));
    });
  router.put('/calendars/:calendarId/events/:eventId', json, ...write('events.update'));
  router.patch('/calendars/:calendarId/events/:eventId', json, ...write('events.patch'));
  router.delete(
    '/calendars/:calendarId/events/:eventId',
    ...operation('events.delete', 'events.write', (request, response, caller) => {
      const { calendar } = resolve(store, caller, param(request, 'calendarId'), true);
      service.delete(calendar, param(request, 'eventId'), caller.email, {
        ifMatch: request.get('if-match'),
        sendUpdates: text(request.query.sendUpdates),
      });
      response.status(204).end();
    }),
  );
  router.use((_request, response) => {
    sendGoogleError(response, errors.notFound());
  });
  router.use(googleErrorHandler(CalendarApiError, { parse: errors.parseError }));
  return router;
}

function authenticate(state: EmulatorState, request: Request, access: Access): Caller {
  const caller = authenticateCaller(state, request, {
    missing: errors.loginRequired,
    invalid: errors.invalidCredentials,
  });
  if (!scopesAllow(caller.token.scopes, access)) throw errors.insufficientPermissions();
  return caller;
}

/**
 * The calendar a call addresses, as failures aimed at one name it: the id in the path (decoded), and
 * for `primary` also the caller's email when the token is valid (the injected failure comes first).
 */
function addressedCalendars(state: EmulatorState, request: Request): string[] {
  const id = param(request, 'calendarId');
  if (id === '') return [];
  if (id !== 'primary') return [id];
  const email = bearerToken(state, request)?.email.toLowerCase();
  return email === undefined ? [id] : [id, email];
}

/** The calendar a calendarId names for this caller: `primary`, or one in the caller's calendarList. */
export function resolve(
  store: CalendarStore,
  caller: { email: string },
  calendarId: string,
  forWrite = false,
): { calendar: StoredCalendar; entry: ListEntry } {
  const id = calendarId === 'primary' ? caller.email : calendarId;
  const entry = store.entry(caller.email, id);
  const calendar = entry ? store.calendar(entry.calendarId) : undefined;
  if (!entry || !calendar) throw errors.notFound();
  if (forWrite && entry.accessRole !== 'owner' && entry.accessRole !== 'writer') throw errors.writerAccess();
  return { calendar, entry };
}

function renderContext(request: Request, calendar: StoredCalendar, entry: ListEntry, caller: Caller) {
  const zone = text(request.query.timeZone);
  return {
    calendarId: calendar.id,
    // An unknown zone falls back to the calendar's, as in listings, rather than failing the call.
    zone: zone !== undefined && isValidZone(zone) ? zone : calendar.timeZone,
    viewer: caller.email,
    accessRole: entry.accessRole,
    listing: false,
  };
}

export function renderCalendar(calendar: StoredCalendar): Record<string, unknown> {
  return {
    kind: 'calendar#calendar',
    etag: calendar.etag,
    id: calendar.id,
    summary: calendar.summary,
    ...(calendar.description === undefined ? {} : { description: calendar.description }),
    timeZone: calendar.timeZone,
    conferenceProperties: { allowedConferenceSolutionTypes: ['hangoutsMeet'] },
  };
}

export function renderEntry(calendar: StoredCalendar, entry: ListEntry): Record<string, unknown> {
  return {
    kind: 'calendar#calendarListEntry',
    etag: entry.etag,
    id: calendar.id,
    summary: calendar.summary,
    ...(calendar.description === undefined ? {} : { description: calendar.description }),
    ...(entry.summaryOverride === undefined ? {} : { summaryOverride: entry.summaryOverride }),
    timeZone: calendar.timeZone,
    colorId: entry.colorId,
    backgroundColor: entry.backgroundColor,
    foregroundColor: entry.foregroundColor,
    ...(entry.hidden ? { hidden: true } : {}),
    selected: entry.selected,
    accessRole: entry.accessRole,
    defaultReminders: [],
    conferenceProperties: { allowedConferenceSolutionTypes: ['hangoutsMeet'] },
    ...(entry.primary ? { primary: true } : {}),
  };
}

/** calendarList.list: maxResults default 100, at most 250; the page token is the offset. */
function listCalendarList(
  store: CalendarStore,
  email: string,
  query: Request['query'],
): Record<string, unknown> {
  const maxText = text(query.maxResults);
  if (maxText !== undefined && (!/^\d+$/.test(maxText) || Number(maxText) < 1))
    throw errors.invalidParameter('maxResults');
  const maxResults = Math.min(Number(maxText ?? 100), 250);
  const minRole = text(query.minAccessRole);
  if (minRole !== undefined && !ACCESS_ROLES.includes(minRole as never))
    throw errors.invalidParameter('minAccessRole');
  const minRank = minRole === undefined ? 0 : ACCESS_ROLES.indexOf(minRole as never);
  const showHidden = text(query.showHidden) === 'true';
  const pageToken = text(query.pageToken);
  const offset =
    pageToken === undefined
      ? 0
      : Number(Buffer.from(pageToken, 'base64').toString('utf8').replace(/^o:/, ''));
  if (!Number.isInteger(offset) || offset < 0) throw errors.invalid('Invalid page token value.', 'pageToken');
  const entries = store
    .entries(email)
    .filter((entry) => ACCESS_ROLES.indexOf(entry.accessRole) >= minRank && (showHidden || !entry.hidden));
  const page = entries.slice(offset, offset + maxResults);
  const answer: Record<string, unknown> = { kind: 'calendar#calendarList', etag: `"p${store.seq}"` };
  if (offset + maxResults < entries.length)
    answer.nextPageToken = Buffer.from(`o:${offset + maxResults}`).toString('base64');
  answer.items = page.flatMap((entry) => {
    const calendar = store.calendar(entry.calendarId);
    return calendar ? [renderEntry(calendar, entry)] : [];
  });
  return answer;
}

/** This emulator's Calendar API root as the caller reached it (what Google's resourceUri starts with). */
function apiBase(request: Request): string {
  return `${request.protocol}://${request.get('host') ?? 'localhost'}${CALENDAR_PREFIX}`;
}

/** A calendar id in a URL path, `@` left as it is (as Google writes resource URIs). */
function pathId(id: string): string {
  return encodeURIComponent(id).replace(/%40/g, '@');
}

function param(request: Request, name: string): string {
  const value = request.params[name];
  return typeof value === 'string' ? value : '';
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
