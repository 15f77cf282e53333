import { describe, expect, it } from 'vitest';
import { errorOf, person, usePeople } from './people-helpers.js';

const EMAIL = 'traffic@example.com';
const h = usePeople(EMAIL);

const listFirstPage = (query: Record<string, string | number> = {}) =>
  h.api(h.accessToken, 'GET', '/people/me/connections', { query: { personFields: 'names', ...query } });
const create = (name: string) =>
  h.api(h.accessToken, 'POST', '/people:createContact', { body: person(name) });

describe('traffic stats', () => {
  it('count every People call by operation, refused ones included', async () => {
    const created = await create('A');
    const resourceName = created.body.resourceName;
    await listFirstPage();
    await h.api(h.accessToken, 'GET', `/${resourceName}`, { query: { personFields: 'names' } });
    await h.api(h.accessToken, 'PATCH', `/${resourceName}:updateContact`, {
      query: { updatePersonFields: 'names' },
      body: { etag: created.body.etag, ...person('B') },
    });
    await h.api(h.accessToken, 'POST', '/people:batchCreateContacts', {
      body: { contacts: [{ contactPerson: person('C') }], readMask: 'names' },
    });
    await h.api(h.accessToken, 'POST', '/people:batchUpdateContacts', {
      body: { contacts: {}, updateMask: 'names', readMask: 'names' },
    });
    await h.api(h.accessToken, 'POST', '/people:batchDeleteContacts', {
      body: { resourceNames: [resourceName] },
    });
    await h.api(h.accessToken, 'DELETE', `/${resourceName}:deleteContact`);
    const group = await h.api(h.accessToken, 'POST', '/contactGroups', {
      body: { contactGroup: { name: 'G' } },
    });
    await h.api(h.accessToken, 'GET', '/contactGroups');
    await h.api(h.accessToken, 'GET', `/${group.body.resourceName}`);
    await h.api(h.accessToken, 'POST', `/${group.body.resourceName}/members:modify`, { body: {} });
    await h.api(undefined, 'GET', '/contactGroups');
    const stats = await h.control('GET', '/stats');
    expect(stats.body.people).toEqual({
      'people.createContact': 1,
      'people.connections.list': 1,
      'people.get': 1,
      'people.updateContact': 1,
      'people.batchCreateContacts': 1,
      'people.batchUpdateContacts': 1,
      'people.batchDeleteContacts': 1,
      'people.deleteContact': 1,
      'contactGroups.create': 1,
      'contactGroups.list': 2,
      'contactGroups.get': 1,
      'contactGroups.members.modify': 1,
    });
  });
});

describe('injected failures', () => {
  it('can aim at one operation, answer 429 RESOURCE_EXHAUSTED RATE_LIMIT_EXCEEDED, then 503, then pass', async () => {
    const queued = await h.control('POST', '/failures', {
      endpoint: 'people',
      status: 429,
      operation: 'people.batchCreateContacts',
    });
    expect(queued.body).toEqual({ pending: { people: 1 } });
    await h.control('POST', '/failures', {
      endpoint: 'people',
      status: 503,
      operation: 'people.batchCreateContacts',
    });
    expect((await listFirstPage()).status).toBe(200);
    expect((await create('Passes')).status).toBe(200);
    const batch = () =>
      h.api(h.accessToken, 'POST', '/people:batchCreateContacts', {
        body: { contacts: [{ contactPerson: person('X') }], readMask: 'names' },
      });
    const limited = await batch();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(errorOf(limited)).toMatchObject({
      code: 429,
      status: 'RESOURCE_EXHAUSTED',
      reason: 'RATE_LIMIT_EXCEEDED',
    });
    const unavailable = await batch();
    expect(unavailable.status).toBe(503);
    expect(errorOf(unavailable).status).toBe('UNAVAILABLE');
    expect((await batch()).status).toBe(200);
    expect((await h.control('GET', '/stats')).body.people['people.batchCreateContacts']).toBe(3);
  });

  it("give Google's body for a reason: an expired sync token, a stale etag", async () => {
    await h.control('POST', '/failures', { endpoint: 'people', status: 400, reason: 'EXPIRED_SYNC_TOKEN' });
    const expired = await listFirstPage();
    expect(errorOf(expired)).toEqual({
      code: 400,
      status: 'FAILED_PRECONDITION',
      reason: 'EXPIRED_SYNC_TOKEN',
      message: 'Sync token is expired. Clear local cache and retry call without the sync token.',
    });
    await h.control('POST', '/failures', { endpoint: 'people', status: 400, reason: 'failedPrecondition' });
    expect(errorOf(await listFirstPage())).toMatchObject({
      status: 'FAILED_PRECONDITION',
      reason: 'failedPrecondition',
    });
    await h.control('POST', '/failures', { endpoint: 'people', status: 500, count: 2 });
    expect(errorOf(await listFirstPage())).toMatchObject({ code: 500, status: 'INTERNAL' });
    await h.control('DELETE', '/failures?endpoint=people');
    expect((await listFirstPage()).status).toBe(200);
  });
});

describe('quotas', () => {
  it('are off by default, then limit a user per sliding minute with 429 RATE_LIMIT_EXCEEDED', async () => {
    for (let index = 0; index < 40; index += 1) expect((await create(`Q${index}`)).status).toBe(200);
    const settings = await h.control('POST', '/people/quotas', { enabled: true, criticalWritesPerMinute: 2 });
    expect(settings.body).toMatchObject({
      enabled: true,
      criticalWritesPerMinute: 2,
      criticalReadsPerMinute: 60,
    });
    expect((await create('W1')).status).toBe(200);
    await h.advance(20_000);
    expect((await create('W2')).status).toBe(200);
    const limited = await create('W3');
    expect(limited.status).toBe(429);
    expect(limited.body.error.details[0]).toMatchObject({
      reason: 'RATE_LIMIT_EXCEEDED',
      domain: 'googleapis.com',
      metadata: { quota_limit: 'CriticalWritesPerMinutePerProjectPerUser', quota_limit_value: '2' },
    });
    // Reads have their own budget; another account has its own.
    expect((await listFirstPage()).status).toBe(200);
    const other = await h.token('other@example.com');
    expect((await h.api(other, 'POST', '/people:createContact', { body: person('O') })).status).toBe(200);
    await h.advance(40_001); // W1 leaves the window
    expect((await create('W4')).status).toBe(200);
    expect((await create('W5')).status).toBe(429);
  });

  it('can limit the first pages of full listings apart', async () => {
    await h.seed(EMAIL, [person('A'), person('B')]);
    await h.control('POST', '/people/quotas', { enabled: true, fullSyncFirstPagesPerMinute: 1 });
    const first = await listFirstPage({ pageSize: 1, requestSyncToken: 'true' });
    expect(first.status).toBe(200);
    expect((await listFirstPage({ pageSize: 1 })).status).toBe(429);
    const next = await listFirstPage({
      pageSize: 1,
      requestSyncToken: 'true',
      pageToken: first.body.nextPageToken,
    });
    expect(next.status).toBe(200);
    expect(
      (await listFirstPage({ syncToken: next.body.nextSyncToken, pageSize: 1, requestSyncToken: 'true' }))
        .status,
    ).toBe(200);
  });
});
