/**
 * The People API (Google Contacts) at Google's paths under the API root: `<root>v1/people/...` and
 * `<root>v1/contactGroups...`, what `@googleapis/people` builds from `rootUrl`. Resource names travel
 * unescaped in the path with a `:verb` suffix (`/v1/people/c123:updateContact`), so paths are matched
 * here rather than by express patterns. Each call goes: traffic (count, latency, injected failure) ->
 * bearer token -> scope -> quota -> the operation, every error in Google's JSON shape (errors.ts). The
 * contacts are the token's account's.
 */
import express, { type Request, type RequestHandler, type Router } from 'express';
import { authenticateCaller, type Caller, googleErrorHandler, sendGoogleError } from '../api-plumbing.js';
import type { EmulatorState } from '../state.js';
import { surfaceEndpoint, type Traffic } from '../traffic.js';
import { ContactsService, type Found } from './contacts-service.js';
import { errors, PeopleApiError } from './errors.js';
import { readMask, readSources, updateMask } from './fields.js';
import { createGroup, getGroup, listGroups, modifyMembers } from './groups.js';
import { isFirstPageOfFullSync, listConnections } from './listing.js';
import { type PersonInput, parsePerson } from './person-input.js';
import { renderPerson } from './person-output.js';
import { checkPeopleQuota, type QuotaCategory } from './quota.js';
import { type PeopleAccess, peopleScopesAllow } from './scopes.js';

export const PEOPLE_PREFIX = '/v1';
export const MAX_BATCH_CREATE = 200;
export const MAX_BATCH_UPDATE = 200;
export const MAX_BATCH_DELETE = 500;
export const MAX_BATCH_GET = 200;

interface Operation {
  /** The name in traffic stats and failure injection (`people.createContact`, ...). */
  readonly kind: string;
  /** Google's RPC name, given in a scope refusal's metadata. */
  readonly rpc: string;
  readonly access: PeopleAccess;
  readonly quota: (request: Request) => QuotaCategory[];
  /** Answers the call: what it returns is the JSON body of the 200. */
  readonly run: (request: Request, caller: Caller) => unknown;
}

/** What a call's method and path name: the operation, and the person or group it addresses. */
interface Matched {
  readonly operation: Operation;
  readonly resource?: string;
  readonly group?: string;
}

const MATCHED = Symbol('people.matched');
type WithMatch = Request & { [MATCHED]?: Matched };

export function peopleRoutes(state: EmulatorState, traffic: Traffic): Router {
  const store = state.people;
  const service = new ContactsService(store);
  const router = express.Router();
  const contactOp = (
    kind: string,
    rpc: string,
    access: PeopleAccess,
    quota: QuotaCategory[] | ((request: Request) => QuotaCategory[]),
    run: Operation['run'],
  ): Operation => ({ kind, rpc, access, quota: typeof quota === 'function' ? quota : () => quota, run });
  /** One person of a batch answer, as Google wraps it. */
  const personResult = (requestedResourceName: string, found: Found, mask: ReadonlySet<string>) => ({
    requestedResourceName,
    httpStatusCode: 200,
    person: render(found, mask),
  });

  const operations = {
    list: contactOp(
      'people.connections.list',
      'PeopleService.ListConnections',
      'read',
      (request) => (isFirstPageOfFullSync(request.query) ? ['read', 'fullSync'] : ['read']),
      (request, caller) => listConnections(store, caller.email, request.query),
    ),
    get: contactOp('people.get', 'PeopleService.GetPerson', 'read', ['read'], (request, caller) => {
      const mask = readMask(request.query.personFields, 'personFields', 'people/get');
      readSources(request.query.sources);
      return render(service.find(caller.email, resourceOf(request)), mask);
    }),
    // Each name answers apart: a contact that does not exist (or no longer) is a 404 in its entry,
    // not a failure of the call.
    batchGet: contactOp(
      'people.getBatchGet',
      'PeopleService.GetPeople',
      'read',
      ['read'],
      (request, caller) => {
        const mask = readMask(request.query.personFields, 'personFields', 'people/batchGet');
        readSources(request.query.sources);
        const raw = request.query.resourceNames;
        const names = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
        if (!names.every((name) => typeof name === 'string' && name !== ''))
          throw errors.invalid('resourceNames must be resource names.');
        const responses = listOf(names, 'resourceNames', MAX_BATCH_GET).map((name) => {
          try {
            return personResult(name as string, service.find(caller.email, name as string), mask);
          } catch (error) {
            if (!(error instanceof PeopleApiError) || error.code !== 404) throw error;
            // google.rpc.Code 5 is NOT_FOUND.
            return {
              requestedResourceName: name,
              httpStatusCode: 404,
              status: { code: 5, message: error.message },
            };
          }
        });
        return { responses };
      },
    ),
    create: contactOp(
      'people.createContact',
      'PeopleService.CreateContact',
      'write',
      ['write'],
      (request, caller) => {
        const mask = readMask(request.query.personFields, 'personFields');
        readSources(request.query.sources);
        return render(service.create(caller.email, parsePerson(request.body)), mask);
      },
    ),
    update: contactOp(
      'people.updateContact',
      'PeopleService.UpdateContact',
      'write',
      ['read', 'write'],
      (request, caller) => {
        const fields = updateMask(
          request.query.updatePersonFields,
          'updatePersonFields',
          'people/updateContact',
        );
        const mask = readMask(request.query.personFields, 'personFields');
        readSources(request.query.sources);
        const input = parsePerson(request.body);
        const updated = service.update(caller.email, resourceOf(request), input, fields, { checkEtag: true });
        return render(updated, mask);
      },
    ),
    delete: contactOp(
      'people.deleteContact',
      'PeopleService.DeleteContact',
      'write',
      ['delete'],
      (request, caller) => {
        service.delete(caller.email, resourceOf(request));
        return {};
      },
    ),
    batchCreate: contactOp(
      'people.batchCreateContacts',
      'PeopleService.BatchCreateContacts',
      'write',
      ['write'],
      (request, caller) => {
        const body = objectOf(request.body);
        const mask = readMask(body.readMask, 'readMask', 'people/batchCreateContacts');
        readSources(body.sources);
        const contacts = listOf(body.contacts, 'contacts', MAX_BATCH_CREATE);
        const inputs = contacts.map((item, index) => {
          const person = objectOf(item).contactPerson;
          if (person === undefined) throw errors.invalid(`contacts[${index}].contactPerson is required.`);
          return parsePerson(person);
        });
        for (const input of inputs) service.validateCreate(caller.email, input);
        const createdPeople = inputs.map((input) => {
          const created = service.create(caller.email, input);
          return personResult(created.version.resourceName, created, mask);
        });
        return { createdPeople };
      },
    ),
    batchUpdate: contactOp(
      'people.batchUpdateContacts',
      'PeopleService.BatchUpdateContacts',
      'write',
      ['read', 'write'],
      (request, caller) => {
        const body = objectOf(request.body);
        const fields = updateMask(body.updateMask, 'updateMask', 'people/batchUpdateContacts');
        const mask = readMask(body.readMask, 'readMask', 'people/batchUpdateContacts');
        readSources(body.sources);
        const contacts = body.contacts;
        if (typeof contacts !== 'object' || contacts === null || Array.isArray(contacts))
          throw errors.invalid('contacts must map resource names to people.');
        const entries = Object.entries(contacts as Record<string, unknown>);
        if (entries.length === 0) throw errors.invalid('contacts must not be empty.');
        if (entries.length > MAX_BATCH_UPDATE)
          throw errors.invalid(`Too many contacts in the request: at most ${MAX_BATCH_UPDATE} are allowed.`);
        // Checked whole first: one stale etag or unknown contact fails the batch, nothing is written.
        const checked: { name: string; found: Found; input: PersonInput }[] = entries.map(
          ([name, person]) => {
            const found = service.find(caller.email, name);
            const input = parsePerson(person);
            service.checkEtag(found.version, input);
            service.validateUpdate(caller.email, found, input, fields);
            return { name, found, input };
          },
        );
        const updateResult: Record<string, unknown> = {};
        for (const { name, found, input } of checked)
          updateResult[name] = personResult(name, service.apply(caller.email, found, input, fields), mask);
        return { updateResult };
      },
    ),
    batchDelete: contactOp(
      'people.batchDeleteContacts',
      'PeopleService.BatchDeleteContacts',
      'write',
      ['delete'],
      (request, caller) => {
        const names = listOf(objectOf(request.body).resourceNames, 'resourceNames', MAX_BATCH_DELETE);
        if (!names.every((name) => typeof name === 'string'))
          throw errors.invalid('resourceNames must be resource names.');
        const found = [...new Set(names as string[])].map((name) => service.find(caller.email, name));
        for (const item of found) service.tombstone(caller.email, item);
        return {};
      },
    ),
    groupsList: contactOp(
      'contactGroups.list',
      'ContactGroupService.ListContactGroups',
      'read',
      ['groupRead'],
      (request, caller) => listGroups(service, caller.email, request.query),
    ),
    groupsCreate: contactOp(
      'contactGroups.create',
      'ContactGroupService.CreateContactGroup',
      'write',
      ['groupWrite'],
      (request, caller) => createGroup(service, caller.email, request.body),
    ),
    groupsGet: contactOp(
      'contactGroups.get',
      'ContactGroupService.GetContactGroup',
      'read',
      ['groupRead'],
      (request, caller) => getGroup(service, caller.email, groupOf(request), request.query),
    ),
    groupsModify: contactOp(
      'contactGroups.members.modify',
      'ContactGroupService.ModifyContactGroupMembers',
      'write',
      ['groupWrite'],
      (request, caller) => modifyMembers(service, caller.email, groupOf(request), request.body),
    ),
  };

  /**
   * Google's paths, in the order tried: method, pattern, the operation, and what the captured part
   * names (`/v1/people/c123:updateContact` addresses the person `people/c123`).
   */
  const paths: [string, RegExp, Operation, ('resource' | 'group')?][] = [
    ['POST', /^\/people:createContact$/, operations.create],
    ['POST', /^\/people:batchCreateContacts$/, operations.batchCreate],
    ['POST', /^\/people:batchUpdateContacts$/, operations.batchUpdate],
    ['POST', /^\/people:batchDeleteContacts$/, operations.batchDelete],
    ['POST', /^\/contactGroups$/, operations.groupsCreate],
    ['POST', /^\/contactGroups\/([^/:]+)\/members:modify$/, operations.groupsModify, 'group'],
    ['GET', /^\/people:batchGet$/, operations.batchGet],
    ['GET', /^\/(people\/[^/:]+)\/connections$/, operations.list, 'resource'],
    ['GET', /^\/contactGroups$/, operations.groupsList],
    ['GET', /^\/contactGroups\/([^/:]+)$/, operations.groupsGet, 'group'],
    ['GET', /^\/(people\/[^/:]+)$/, operations.get, 'resource'],
    ['PATCH', /^\/(people\/[^/:]+):updateContact$/, operations.update, 'resource'],
    ['DELETE', /^\/(people\/[^/:]+):deleteContact$/, operations.delete, 'resource'],
  ];

  /** The operation a method and path name; undefined for paths that are not the People API's. */
  const match = (request: Request): Matched | 'unknown' | undefined => {
    let path: string;
    try {
      path = decodeURIComponent(request.path);
    } catch {
      return 'unknown';
    }
    if (!/^\/(?:people|contactGroups)(?:[/:]|$)/.test(path)) return undefined;
    for (const [method, pattern, operation, captured] of paths) {
      if (method !== request.method) continue;
      const found = pattern.exec(path);
      if (!found) continue;
      return captured === undefined ? { operation } : { operation, [captured]: found[1] };
    }
    return 'unknown';
  };

  const route: RequestHandler = (request, response, next) => {
    const matched = match(request);
    if (matched === undefined) next('router');
    else if (matched === 'unknown') sendGoogleError(response, errors.notFound());
    else {
      (request as WithMatch)[MATCHED] = matched;
      next();
    }
  };
  const operationOf = (request: Request) => matchOf(request).operation;
  router.use(
    route,
    express.json({ limit: '10mb', type: () => true }),
    surfaceEndpoint(traffic, 'people', (request) => operationOf(request).kind),
    // Express 5 sends a synchronous throw (a PeopleApiError) to the error handler below.
    (request, response) => {
      const operation = operationOf(request);
      const caller = authenticate(state, request, operation);
      if (operation === operations.list && resourceOf(request) !== 'people/me')
        throw errors.invalid('resourceName must be people/me.');
      checkPeopleQuota(store, caller.token.clientId, caller.email, operation.quota(request));
      response.json(operation.run(request, caller));
    },
  );
  router.use(
    googleErrorHandler(PeopleApiError, {
      parse: () => errors.parse('The request body is not valid JSON.'),
      tooLarge: () => errors.invalid('Request payload size exceeds the limit.'),
    }),
  );
  return router;
}

function authenticate(state: EmulatorState, request: Request, operation: Operation): Caller {
  const caller = authenticateCaller(state, request, {
    missing: errors.credentialsMissing,
    invalid: errors.invalidCredentials,
  });
  if (!peopleScopesAllow(caller.token.scopes, operation.access))
    throw errors.insufficientScopes(operation.rpc);
  return caller;
}

/** A contact as the API renders it, with the fields `mask` names. */
function render({ contact, version }: Found, mask: ReadonlySet<string>): Record<string, unknown> {
  return renderPerson(contact.id, version, mask);
}

function matchOf(request: Request): Matched {
  return (request as WithMatch)[MATCHED] as Matched;
}

function resourceOf(request: Request): string {
  return matchOf(request).resource ?? '';
}

function groupOf(request: Request): string {
  return matchOf(request).group ?? '';
}

function objectOf(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function listOf(value: unknown, name: string, max: number): unknown[] {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0))
    throw errors.invalid(`${name} must not be empty.`);
  if (!Array.isArray(value)) throw errors.invalid(`${name} must be a list.`);
  if (value.length > max)
    throw errors.invalid(`Too many ${name} in the request: at most ${max} are allowed.`);
  return value;
}
