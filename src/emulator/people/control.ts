/**
 * People part of the control API, mounted at `/__emulator/people`: acts as a person using Google
 * Contacts on a phone (add, edit, delete, link to a profile) and scripts what Google does on its own
 * (propagation delay, sync-token expiry, quotas). Changes go through the same service as the API, so they
 * get new etags, `updateTime` and a place in incremental sync exactly as an API change would. JSON in and
 * out; errors of contact operations come in Google's shape, bad control bodies as
 * `{error: "invalid_request", issues}`.
 *
 * Contacts (`:contactId`: `c123` or the whole resource name `people/c123`, URL-encoded)
 *   GET    /accounts/:email/contacts[?tombstones=true]  {items: [Person], pending: [resourceName]}
 *   POST   /accounts/:email/contacts                    {contacts: [Person, ...], delayed?: false} -> 201 {items}
 *   GET    /accounts/:email/contacts/:contactId         the Person, every field
 *   PATCH  /accounts/:email/contacts/:contactId         a partial Person: the fields given replace, no etag needed
 *   DELETE /accounts/:email/contacts/:contactId         -> {deleted: true}
 *   POST   /accounts/:email/contacts/:contactId/rename  {resourceName?}: linked to a profile -> the Person
 *
 * Groups
 *   GET    /accounts/:email/groups                      {items: [ContactGroup]}
 *   POST   /accounts/:email/groups                      {name, clientData?} -> 201 the group (409 taken)
 *
 * Google's own behaviour
 *   GET    /settings, POST /settings                    {propagationDelayMs: 0..86400000}
 *   POST   /sync-tokens/expire                          {email?}: the sync tokens (of one account) expire now
 *   GET    /quotas, POST /quotas                        {enabled?, criticalReadsPerMinute?, ...}; off by default
 *   GET    /state                                       the whole People state as JSON
 *   POST   /reset                                       forgets contacts, groups, settings and quotas
 */
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { googleErrorHandler, stateControlRoutes } from '../api-plumbing.js';
import { parse } from '../control-body.js';
import { ContactsService, type Found } from './contacts-service.js';
import { errors, PeopleApiError } from './errors.js';
import { READABLE, WRITABLE_FIELDS } from './fields.js';
import { parsePerson } from './person-input.js';
import { renderGroup, renderPerson } from './person-output.js';
import { current, type PeopleStore } from './store.js';

export const PEOPLE_CONTROL_PREFIX = '/people';

const ALL_GROUP_FIELDS: ReadonlySet<string> = new Set([
  'clientData',
  'groupType',
  'memberCount',
  'metadata',
  'name',
]);
const MAX_SEED = 10_000;
const perMinute = z.number().int().min(0).max(1_000_000).optional();

const schemas = {
  seed: z.strictObject({
    contacts: z.array(z.record(z.string(), z.unknown())).min(1).max(MAX_SEED),
    delayed: z.boolean().default(false),
  }),
  rename: z.strictObject({ resourceName: z.string().min(1).optional() }),
  group: z.strictObject({
    name: z.string().min(1),
    clientData: z.array(z.strictObject({ key: z.string(), value: z.string() })).optional(),
  }),
  settings: z.strictObject({ propagationDelayMs: z.number().int().min(0).max(86_400_000) }),
  expire: z.strictObject({ email: z.string().min(1).optional() }),
  quotas: z.strictObject({
    enabled: z.boolean().optional(),
    criticalReadsPerMinute: perMinute,
    criticalWritesPerMinute: perMinute,
    deletesPerMinute: perMinute,
    groupReadsPerMinute: perMinute,
    groupWritesPerMinute: perMinute,
    fullSyncFirstPagesPerMinute: perMinute,
  }),
};

export function peopleControlRoutes(store: PeopleStore): Router {
  const service = new ContactsService(store);
  const router = express.Router();

  router.get('/accounts/:email/contacts', (request, response) => {
    const email = emailOf(request);
    const tombstones = request.query.tombstones === 'true';
    const now = store.now();
    const contacts = store
      .contacts(email)
      .map((contact) => ({ contact, version: current(contact) }))
      .filter(({ version }) => tombstones || !version.deleted)
      .sort((a, b) => a.version.seq - b.version.seq);
    response.json({
      items: contacts.map(rendered),
      pending: contacts
        .filter(({ version }) => version.visibleAt > now)
        .map(({ version }) => version.resourceName),
    });
  });
  router.post('/accounts/:email/contacts', (request, response) => {
    const body = parse(schemas.seed, request, response);
    if (!body) return;
    const email = emailOf(request);
    const inputs = body.contacts.map((person) => parsePerson(person));
    for (const input of inputs) service.validateCreate(email, input);
    const items = inputs.map((input) => {
      const { contact, version } = service.create(email, input, { visibleNow: !body.delayed });
      return renderPerson(contact.id, version, READABLE);
    });
    response.status(201).json({ items });
  });
  router.get('/accounts/:email/contacts/:contactId', (request, response) => {
    response.json(rendered(service.find(emailOf(request), contactName(request))));
  });
  router.patch('/accounts/:email/contacts/:contactId', (request, response) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const input = parsePerson(body);
    const mask = Object.keys(body).filter((field) => WRITABLE_FIELDS.has(field));
    response.json(
      rendered(service.update(emailOf(request), contactName(request), input, mask, { checkEtag: false })),
    );
  });
  router.delete('/accounts/:email/contacts/:contactId', (request, response) => {
    service.delete(emailOf(request), contactName(request));
    response.json({ deleted: true });
  });
  router.post('/accounts/:email/contacts/:contactId/rename', (request, response) => {
    const body = parse(schemas.rename, request, response);
    if (!body) return;
    response.json(rendered(service.rename(emailOf(request), contactName(request), body.resourceName)));
  });

  router.get('/accounts/:email/groups', (request, response) => {
    const email = emailOf(request);
    response.json({
      items: store
        .groups(email)
        .map((group) => renderGroup(group, service.members(email, group.id), ALL_GROUP_FIELDS)),
    });
  });
  router.post('/accounts/:email/groups', (request, response) => {
    const body = parse(schemas.group, request, response);
    if (!body) return;
    const group = service.createGroup(emailOf(request), body.name, body.clientData);
    response.status(201).json(renderGroup(group, [], ALL_GROUP_FIELDS));
  });

  router.get('/settings', (_request, response) => {
    response.json({ propagationDelayMs: store.propagationDelayMs });
  });
  router.post('/settings', (request, response) => {
    const body = parse(schemas.settings, request, response);
    if (!body) return;
    store.propagationDelayMs = body.propagationDelayMs;
    response.json({ propagationDelayMs: store.propagationDelayMs });
  });
  router.post('/sync-tokens/expire', (request, response) => {
    const body = parse(schemas.expire, request, response);
    if (!body) return;
    response.json({ expired: store.expireSyncTokens(body.email) });
  });
  router.get('/quotas', (_request, response) => {
    response.json(store.quota);
  });
  router.post('/quotas', (request, response) => {
    const body = parse(schemas.quotas, request, response);
    if (!body) return;
    for (const [key, value] of Object.entries(body))
      if (value !== undefined) Object.assign(store.quota, { [key]: value });
    response.json(store.quota);
  });
  stateControlRoutes(router, store);
  router.use(googleErrorHandler(PeopleApiError));
  return router;
}

/** A contact as the control API answers it: every field, with `previousResourceNames` as sync shows them. */
function rendered({ contact, version }: Found): Record<string, unknown> {
  return renderPerson(contact.id, version, READABLE, { sync: true });
}

function emailOf(request: Request): string {
  const value = request.params.email;
  const email = typeof value === 'string' ? value.toLowerCase() : '';
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw errors.invalid('An account is an email address.');
  return email;
}

/** `c123` or `people/c123` (URL-encoded in the path) as a resource name. */
function contactName(request: Request): string {
  const value = request.params.contactId;
  const id = typeof value === 'string' ? value : '';
  return id.startsWith('people/') ? id : `people/${id}`;
}
