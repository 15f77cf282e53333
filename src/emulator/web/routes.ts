/**
 * The emulator's root page: per emulated account its OAuth grants (revocable), a link to its contacts
 * (contacts.ts) and its calendars with their events, which a person can create, edit and delete as in
 * Google Calendar. Writes go through the same
 * EventsService as the API and the control API, so they get an etag, `updated`, a sequence and a place in
 * incremental sync like any change made in Google. Plain forms: POST, then 303 back to the page.
 *
 *   GET  /                                          the page
 *   POST /ui/accounts                               {email}: an account (its primary calendar) appears
 *   POST /ui/grants/revoke                          {client_id, email}: as a user removing the app's access
 *   POST /ui/calendars/:calendarId/events           the event form: creates an event
 *   GET  /ui/calendars/:calendarId/events/:eventId  the form filled with the event
 *   POST /ui/calendars/:calendarId/events/:eventId  the event form: changes the event
 *   POST /ui/calendars/:calendarId/events/:eventId/delete
 *   /ui/accounts/:email/contacts...                the Contacts page (contacts.ts)
 *
 * The page has no login, but a web page the developer visits must not be able to drive it: requests
 * naming another host (DNS rebinding) and POSTs sent by another site are refused (request-guard.ts).
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { CalendarApiError } from '../calendar/errors.js';
import { EventsService } from '../calendar/events-service.js';
import { whenMs } from '../calendar/series.js';
import type { CalendarStore } from '../calendar/store.js';
import type { StoredCalendar, StoredEvent } from '../calendar/types.js';
import { PeopleApiError } from '../people/errors.js';
import type { RequestGuard } from '../request-guard.js';
import type { EmulatorState } from '../state.js';
import { contactRoutes, contactsPath } from './contacts.js';
import { describeWhen, eventFields, FormError, resourceFromForm } from './event-form.js';
import { h, sendError, sendHtml, seg } from './page.js';

export const WEB_PREFIX = '/ui';

export function webRoutes(state: EmulatorState, guard: RequestGuard): Router {
  const store = state.calendar;
  const service = new EventsService(store);
  const router = express.Router();
  // The Host check on every method; the cross-site check on POST only: following a link here from
  // another site is fine, submitting a form from there is not.
  const guarded: RequestHandler = (request, response, next) => {
    const refusal = guard.check(request, { crossSite: request.method === 'POST', jsonBody: false });
    if (refusal) sendError(response, refusal.status, refusal.description);
    else next();
  };
  router.use(WEB_PREFIX, guarded);
  router.use(WEB_PREFIX, express.urlencoded({ extended: false, limit: '64kb' }));

  router.get('/', guarded, (_request, response) => {
    sendHtml(response, 200, 'Offline Google emulator', homePage(state));
  });
  router.post(`${WEB_PREFIX}/accounts`, (request, response) => {
    const email = field(request, 'email').toLowerCase();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      sendError(response, 400, 'An account is an email address.');
      return;
    }
    store.entries(email);
    response.redirect(303, '/');
  });
  router.post(`${WEB_PREFIX}/grants/revoke`, (request, response) => {
    state.revokeGrants({ clientId: field(request, 'client_id'), email: field(request, 'email') });
    response.redirect(303, '/');
  });
  router.post(`${WEB_PREFIX}/calendars/:calendarId/events`, (request, response) => {
    const calendar = calendarOf(state, request);
    service.insert(calendar, resourceFromForm(request.body ?? {}, calendar), calendar.owner);
    response.redirect(303, '/');
  });
  router.get(`${WEB_PREFIX}/calendars/:calendarId/events/:eventId`, (request, response) => {
    const calendar = calendarOf(state, request);
    const event = service.get(calendar, param(request, 'eventId'));
    sendHtml(response, 200, `Edit ${event.summary ?? event.id}`, editPage(calendar, event));
  });
  router.post(`${WEB_PREFIX}/calendars/:calendarId/events/:eventId`, (request, response) => {
    const calendar = calendarOf(state, request);
    service.patch(
      calendar,
      param(request, 'eventId'),
      resourceFromForm(request.body ?? {}, calendar),
      calendar.owner,
    );
    response.redirect(303, '/');
  });
  router.post(`${WEB_PREFIX}/calendars/:calendarId/events/:eventId/delete`, (request, response) => {
    const calendar = calendarOf(state, request);
    service.delete(calendar, param(request, 'eventId'), calendar.owner);
    response.redirect(303, '/');
  });
  contactRoutes(router, state.people, WEB_PREFIX);
  router.use(WEB_PREFIX, (_request, response) => sendError(response, 404, 'No such page.'));
  router.use(WEB_PREFIX, (error: unknown, _request: Request, response: Response, next: NextFunction) => {
    if (error instanceof FormError) sendError(response, 400, error.message);
    else if (error instanceof CalendarApiError) sendError(response, error.code, error.message);
    else if (error instanceof PeopleApiError) sendError(response, error.code, error.message);
    else next(error);
  });
  return router;
}

function homePage(state: EmulatorState): string {
  const store = state.calendar;
  const grants = state.listGrants();
  const accounts = [
    ...new Set([
      ...state.knownAccounts(),
      ...store.knownAccounts(),
      ...state.people.knownAccounts(),
      ...grants.map((g) => g.email),
    ]),
  ]
    .map((email) => email.toLowerCase())
    .sort();
  const clients = state.listClients();
  const sections = accounts.map((email) => accountSection(state, store, email)).join('\n');
  return `<h1>Offline Google emulator</h1>
<p class="hint">OAuth clients: ${clients.length === 0 ? 'none' : clients.map((client) => `<code>${h(client.clientId)}</code>`).join(', ')}.
Control API under <code>/__emulator/</code>; see docs/emulator.md.</p>
<form method="post" action="${WEB_PREFIX}/accounts"><label>Add an account <input name="email" type="email" required placeholder="someone@example.com"></label> <button>Add</button></form>
${accounts.length === 0 ? '<p id="no-accounts">No account yet: authorize an application, or add one above.</p>' : sections}`;
}

function accountSection(state: EmulatorState, store: CalendarStore, email: string): string {
  const grants = state.listGrants().filter((grant) => grant.email.toLowerCase() === email);
  const grantRows = grants
    .map(
      (grant) => `<tr class="grant"><td><code>${h(grant.clientId)}</code></td>
<td>${grant.scopes.map((scope) => `<code>${h(scope)}</code>`).join('<br>')}</td>
<td>${h(new Date(grant.grantedAt).toISOString())}</td>
<td><form class="inline" method="post" action="${WEB_PREFIX}/grants/revoke">
<input type="hidden" name="client_id" value="${h(grant.clientId)}"><input type="hidden" name="email" value="${h(grant.email)}">
<button>Revoke</button></form></td></tr>`,
    )
    .join('\n');
  const calendars = store
    .entries(email)
    .flatMap((entry) => {
      const calendar = store.calendar(entry.calendarId);
      return calendar ? [calendarSection(store, calendar, entry.accessRole, entry.primary)] : [];
    })
    .join('\n');
  const contacts = state.people.hasAccount(email)
    ? state.people.contacts(email).filter((contact) => !contact.versions.at(-1)?.deleted).length
    : 0;
  return `<section class="account">
<h2>${h(email)}</h2>
<p><a class="contacts" href="${contactsPath(email)}">Contacts (${contacts})</a></p>
<h3>Applications with access</h3>
${grants.length === 0 ? '<p class="hint">None.</p>' : `<table><tr><th>Client</th><th>Scopes</th><th>Consented</th><th></th></tr>\n${grantRows}</table>`}
${calendars}
</section>`;
}

function calendarSection(
  store: CalendarStore,
  calendar: StoredCalendar,
  role: string,
  primary: boolean,
): string {
  const events = Object.values(store.events(calendar.id))
    .filter((event) => event.status !== 'cancelled')
    .sort((a, b) => whenMs(a.start) - whenMs(b.start) || a.changed - b.changed);
  const canWrite = role === 'owner' || role === 'writer';
  const base = `${WEB_PREFIX}/calendars/${seg(calendar.id)}/events`;
  const rows = events.map((event) => eventRow(calendar, event, base, canWrite)).join('\n');
  return `<div class="calendar">
<h3>${h(calendar.summary)}${primary ? ' (primary)' : ''}</h3>
<p class="hint"><code>${h(calendar.id)}</code> · ${h(calendar.timeZone)} · ${h(role)}</p>
${events.length === 0 ? '<p class="hint">No events.</p>' : `<table><tr><th>Title</th><th>When</th><th>Updated</th><th>Etag</th><th></th></tr>\n${rows}</table>`}
${
  canWrite
    ? `<details><summary>New event</summary><form method="post" action="${base}">
${eventFields(calendar)}
<button>Create</button></form></details>`
    : ''
}
</div>`;
}

function eventRow(calendar: StoredCalendar, event: StoredEvent, base: string, canWrite: boolean): string {
  const notes = [
    event.recurrence ? `repeats: ${event.recurrence.join(' ')}` : '',
    event.recurringEventId ? `occurrence of ${event.recurringEventId}` : '',
    event.status === 'tentative' ? 'tentative' : '',
  ].filter(Boolean);
  const link = `${base}/${seg(event.id)}`;
  return `<tr class="event"><td>${h(event.summary ?? '(no title)')}${notes.length ? `<br><span class="hint">${h(notes.join('; '))}</span>` : ''}</td>
<td>${h(describeWhen(event, calendar))}</td><td>${h(new Date(event.updated).toISOString())}</td><td><code>${h(event.etag)}</code></td>
<td>${
    canWrite
      ? `<a href="${link}">Edit</a> <form class="inline" method="post" action="${link}/delete"><button>Delete</button></form>`
      : ''
  }</td></tr>`;
}

function editPage(calendar: StoredCalendar, event: StoredEvent): string {
  const link = `${WEB_PREFIX}/calendars/${seg(calendar.id)}/events/${seg(event.id)}`;
  return `<h1>Edit event</h1>
<p class="hint">${h(calendar.summary)} · <code>${h(event.id)}</code> · etag <code>${h(event.etag)}</code></p>
<form method="post" action="${link}">
${eventFields(calendar, event)}
<button>Save</button> <a href="/">Cancel</a></form>
<form method="post" action="${link}/delete"><button>Delete</button></form>`;
}

/** A calendar by id; an account's primary appears on first use, as on the page. */
function calendarOf(state: EmulatorState, request: Request): StoredCalendar {
  const id = param(request, 'calendarId');
  if (!state.calendar.calendar(id) && state.knownAccounts().includes(id)) state.calendar.entries(id);
  const calendar = state.calendar.calendar(id);
  if (!calendar) throw new FormError('No such calendar.');
  return calendar;
}

function param(request: Request, name: string): string {
  const value = request.params[name];
  return typeof value === 'string' ? value : '';
}

function field(request: Request, name: string): string {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.trim() : '';
}
