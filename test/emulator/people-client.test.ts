/**
 * The People API through the official `@googleapis/people` client (the one the sidecar uses) on
 * google-auth-library's OAuth2Client, after an incremental consent that adds the contacts scope to a
 * calendar grant (`include_granted_scopes=true`): Google then grants the union, and one token opens both.
 */
import { people as peopleApi, type people_v1 } from '@googleapis/people';
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import {
  authorize,
  CALENDAR,
  clientConsent,
  consent,
  controlRequest,
  oauthClientOptions,
  refresh,
  start,
} from './oauth-helpers.js';
import { CONTACTS, DAY_MS, FIELDS } from './people-helpers.js';

const EMAIL = 'client@example.com';
let emulator: RunningEmulator;
let client: OAuth2Client;
let api: people_v1.People;

const control = (path: string, body: unknown) => controlRequest(emulator.url, 'POST', path, body);

/** The ErrorInfo reason and status of a GaxiosError from the client. */
async function refusal(call: Promise<unknown>): Promise<{ status: number; code: string; reason: string }> {
  try {
    await call;
  } catch (error) {
    const data = (error as { response?: { status: number; data: any } }).response;
    return {
      status: data?.status ?? 0,
      code: data?.data?.error?.status,
      reason: data?.data?.error?.details?.[0]?.reason,
    };
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  emulator = await start();
  client = new OAuth2Client(oauthClientOptions(emulator.url));
  const grant = (scope: string) =>
    clientConsent(client, emulator.url, EMAIL, {
      access_type: 'offline',
      prompt: 'consent',
      scope: ['openid', 'email', scope],
      include_granted_scopes: true,
    });
  // First the calendar, as a credential made before contacts existed.
  await grant(CALENDAR);
  // Then incremental consent: only the identity scopes and what is missing.
  client.setCredentials(await grant(CONTACTS));
  api = peopleApi({ version: 'v1', rootUrl: `${emulator.url}/`, auth: client });
});
afterAll(async () => {
  await emulator?.close();
});

describe('incremental consent (include_granted_scopes=true)', () => {
  it('grants the union of the earlier and the new scopes; one token opens Calendar and People', async () => {
    const scopes = (client.credentials.scope ?? '').split(' ');
    expect(scopes).toEqual(expect.arrayContaining([CALENDAR, CONTACTS, 'openid']));
    const events = await fetch(`${emulator.url}/calendar/v3/calendars/primary/events`, {
      headers: { authorization: `Bearer ${client.credentials.access_token}` },
    });
    expect(events.status).toBe(200);
    const refreshed = await refresh(emulator.url, client.credentials.refresh_token ?? '');
    expect(refreshed.body.scope.split(' ')).toEqual(expect.arrayContaining([CALENDAR, CONTACTS]));
  });

  it('keeps the earlier scopes when the new one is unticked, and grants only the asked ones without the flag', async () => {
    const account = 'partial@example.com';
    await authorize(emulator.url, { login_hint: account, scope: `openid email ${CALENDAR}` });
    const unticked = await consent(
      client.generateAuthUrl({ scope: ['openid', 'email', CONTACTS], include_granted_scopes: true }),
      emulator.url,
      { email: account, untick: [CONTACTS] },
    );
    const scope = unticked.searchParams.get('scope')?.split(' ') ?? [];
    expect(scope).toContain(CALENDAR);
    expect(scope).not.toContain(CONTACTS);
    const alone = await authorize(emulator.url, {
      login_hint: account,
      scope: `openid ${CONTACTS}`,
      include_granted_scopes: 'false',
    });
    expect(alone.scope.split(' ').sort()).toEqual(['openid', CONTACTS].sort());
  });
});

describe('@googleapis/people against the emulator', () => {
  it('creates, lists over pages, syncs incrementally and updates with etags', async () => {
    const created = await api.people.createContact({
      personFields: 'names,phoneNumbers,metadata',
      requestBody: {
        names: [{ unstructuredName: 'Client Made' }],
        phoneNumbers: [{ value: '650-253-0000', type: 'mobile' }],
      },
    });
    expect(created.data.resourceName).toMatch(/^people\/c\d+$/);
    expect(created.data.phoneNumbers?.[0]?.canonicalForm).toBe('+16502530000');
    const batch = await api.people.batchCreateContacts({
      requestBody: {
        contacts: Array.from({ length: 4 }, (_, index) => ({
          contactPerson: { names: [{ unstructuredName: `Batch ${index}` }] },
        })),
        readMask: 'names',
      },
    });
    expect(batch.data.createdPeople).toHaveLength(4);

    const pages: people_v1.Schema$ListConnectionsResponse[] = [];
    let pageToken: string | undefined;
    do {
      const page = await api.people.connections.list({
        resourceName: 'people/me',
        personFields: FIELDS,
        pageSize: 2,
        requestSyncToken: true,
        sources: ['READ_SOURCE_TYPE_CONTACT'],
        ...(pageToken ? { pageToken } : {}),
      });
      pages.push(page.data);
      pageToken = page.data.nextPageToken ?? undefined;
    } while (pageToken);
    expect(
      pages.flatMap((page) => page.connections ?? []).map((person) => person.names?.[0]?.unstructuredName),
    ).toEqual(['Client Made', 'Batch 0', 'Batch 1', 'Batch 2', 'Batch 3']);
    const syncToken = pages.at(-1)?.nextSyncToken as string;
    expect(syncToken).toBeTruthy();

    const updated = await api.people.updateContact({
      resourceName: created.data.resourceName as string,
      updatePersonFields: 'names',
      personFields: 'names',
      requestBody: {
        etag: created.data.etag as string,
        names: [{ givenName: 'Client', familyName: 'Changed' }],
      },
    });
    expect(updated.data.names?.[0]?.displayName).toBe('Client Changed');
    expect(
      await refusal(
        api.people.updateContact({
          resourceName: created.data.resourceName as string,
          updatePersonFields: 'names',
          requestBody: { etag: created.data.etag as string, names: [{ givenName: 'Stale' }] },
        }),
      ),
    ).toEqual({ status: 400, code: 'FAILED_PRECONDITION', reason: 'failedPrecondition' });
    await api.people.deleteContact({
      resourceName: batch.data.createdPeople?.[0]?.person?.resourceName as string,
    });

    const changes = await api.people.connections.list({
      resourceName: 'people/me',
      personFields: FIELDS,
      pageSize: 2,
      requestSyncToken: true,
      sources: ['READ_SOURCE_TYPE_CONTACT'],
      syncToken,
    });
    expect(
      changes.data.connections?.map((person) => [
        person.names?.[0]?.displayName,
        person.metadata?.deleted ?? false,
      ]),
    ).toEqual([
      ['Client Changed', false],
      [undefined, true],
    ]);
    const got = await api.people.get({
      resourceName: created.data.resourceName as string,
      personFields: 'names',
    });
    expect(got.data.etag).toBe(updated.data.etag);
  });

  it('reads contacts by name in one call (people:batchGet), a missing one answering apart', async () => {
    const batch = await api.people.batchCreateContacts({
      requestBody: {
        contacts: [
          {
            contactPerson: {
              addresses: [{ city: 'Arlington', region: 'VA', extendedAddress: 'Building 4' }],
            },
          },
          { contactPerson: { emailAddresses: [{ value: 'two@example.com', type: 'home' }] } },
        ],
        readMask: 'names',
      },
    });
    const [first, second] = (batch.data.createdPeople ?? []).map(
      (created) => created.person?.resourceName as string,
    );
    const got = await api.people.getBatchGet({
      resourceNames: [first as string, 'people/c999999', second as string],
      personFields: 'addresses,emailAddresses',
    });
    expect(
      got.data.responses?.map((response) => [response.requestedResourceName, response.httpStatusCode]),
    ).toEqual([
      [first, 200],
      ['people/c999999', 404],
      [second, 200],
    ]);
    expect(got.data.responses?.[0]?.person?.addresses?.[0]).toMatchObject({
      region: 'VA',
      extendedAddress: 'Building 4',
    });
    expect(got.data.responses?.[1]?.status?.code).toBe(5);
    expect(got.data.responses?.[2]?.person?.emailAddresses?.[0]?.type).toBe('home');
    expect(
      await refusal(
        api.people.getBatchGet({
          resourceNames: Array.from({ length: 201 }, (_, index) => `people/c${index}`),
          personFields: 'names',
        }),
      ),
    ).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT' });
    expect(await refusal(api.people.getBatchGet({ resourceNames: [first as string] }))).toMatchObject({
      status: 400,
      code: 'INVALID_ARGUMENT',
    });
  });

  it('manages contact groups and meets 409, 429 and an expired sync token as Google errors', async () => {
    const group = await api.contactGroups.create({ requestBody: { contactGroup: { name: 'Client group' } } });
    expect(group.data.groupType).toBe('USER_CONTACT_GROUP');
    expect(
      (await refusal(api.contactGroups.create({ requestBody: { contactGroup: { name: 'Client group' } } })))
        .status,
    ).toBe(409);
    const contact = await api.people.createContact({
      requestBody: { names: [{ unstructuredName: 'Member' }] },
    });
    const modified = await api.contactGroups.members.modify({
      resourceName: group.data.resourceName as string,
      requestBody: { resourceNamesToAdd: [contact.data.resourceName as string] },
    });
    expect(modified.status).toBe(200);
    const listed = await api.contactGroups.list({ pageSize: 100 });
    expect(
      listed.data.contactGroups?.find((item) => item.resourceName === group.data.resourceName)?.memberCount,
    ).toBe(1);
    const got = await api.contactGroups.get({
      resourceName: group.data.resourceName as string,
      maxMembers: 5,
    });
    expect(got.data.memberResourceNames).toEqual([contact.data.resourceName]);

    await control('/failures', { endpoint: 'people', status: 429, operation: 'contactGroups.list' });
    // gaxios retries 429 by default (retry-after 1 s); with retries off the client sees it.
    expect(await refusal(api.contactGroups.list({}, { retry: false }))).toEqual({
      status: 429,
      code: 'RESOURCE_EXHAUSTED',
      reason: 'RATE_LIMIT_EXCEEDED',
    });

    const full = await api.people.connections.list({
      resourceName: 'people/me',
      personFields: 'names',
      requestSyncToken: true,
    });
    await control('/clock', { advance_ms: 7 * DAY_MS + 1 });
    // The access token expired with the clock: the client refreshes it on its own.
    client.setCredentials({ ...client.credentials, expiry_date: 1 });
    expect(
      await refusal(
        api.people.connections.list({
          resourceName: 'people/me',
          personFields: 'names',
          syncToken: full.data.nextSyncToken as string,
        }),
      ),
    ).toEqual({ status: 400, code: 'FAILED_PRECONDITION', reason: 'EXPIRED_SYNC_TOKEN' });
  });
});
