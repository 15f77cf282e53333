import { describe, expect, it } from 'vitest';
import { DAY_MS, errorOf, FIELDS, person, usePeople } from './people-helpers.js';

const EMAIL = 'sync@example.com';
const CONTROL = `/people/accounts/${EMAIL}/contacts`;
const h = usePeople(EMAIL);

const names = (people: any[]) => people.map((item) => item.names?.[0]?.unstructuredName);
const list = (query: Record<string, string | number | boolean | undefined>) =>
  h.api(h.accessToken, 'GET', '/people/me/connections', { query: { personFields: FIELDS, ...query } });
const changesSince = async (syncToken: string) => {
  const all = await h.listAll(h.accessToken, { syncToken, requestSyncToken: true });
  return { people: all.people, nextSyncToken: all.nextSyncToken as string };
};
const idOf = (resourceName: string) => resourceName.slice('people/'.length);

describe('connections.list', () => {
  it('pages a full listing in change order, with nextSyncToken on the last page only', async () => {
    await h.seed(
      EMAIL,
      Array.from({ length: 250 }, (_, index) => person(`P${String(index).padStart(3, '0')}`)),
    );
    const { people, pages, nextSyncToken } = await h.listAll(h.accessToken, {
      pageSize: 100,
      requestSyncToken: true,
    });
    expect(pages).toHaveLength(3);
    expect(pages.map((page) => page.connections.length)).toEqual([100, 100, 50]);
    expect(pages.map((page) => Boolean(page.nextPageToken))).toEqual([true, true, false]);
    expect(pages.map((page) => Boolean(page.nextSyncToken))).toEqual([false, false, true]);
    expect(pages.map((page) => [page.totalPeople, page.totalItems])).toEqual([
      [250, 250],
      [250, 250],
      [250, 250],
    ]);
    expect(names(people)).toEqual(
      Array.from({ length: 250 }, (_, index) => `P${String(index).padStart(3, '0')}`),
    );
    expect(nextSyncToken).toBeTruthy();
    expect((await h.listAll(h.accessToken)).pages).toHaveLength(3); // default pageSize 100
  });

  it('checks personFields and pageSize, and gives no sync token unless asked', async () => {
    await h.seed(EMAIL, [person('A')]);
    const missing = await h.api(h.accessToken, 'GET', '/people/me/connections');
    expect(missing.status).toBe(400);
    expect(errorOf(missing)).toMatchObject({
      status: 'INVALID_ARGUMENT',
      message:
        'personFields mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/people.connections/list.',
    });
    expect((await list({ personFields: 'names,bogus' })).status).toBe(400);
    expect((await list({ pageSize: 1001 })).status).toBe(400);
    expect((await list({ pageSize: -1 })).status).toBe(400);
    const zero = await list({ pageSize: 0 });
    expect(zero.status).toBe(200);
    expect(zero.body.nextSyncToken).toBeUndefined();
    expect(zero.body.connections).toHaveLength(1);
    expect((await list({ sources: 'READ_SOURCE_TYPE_PROFILE' })).status).toBe(400);
    const other = await h.api(h.accessToken, 'GET', '/people/c1/connections', {
      query: { personFields: 'names' },
    });
    expect(other.status).toBe(400);
  });

  it('leaves out what personFields does not name, and empty lists and zero counts', async () => {
    const empty = await list({ requestSyncToken: true });
    expect(Object.keys(empty.body)).toEqual(['nextSyncToken']);
    await h.seed(EMAIL, [person('Ann', { emailAddresses: [{ value: 'ann@x.example' }] })]);
    const page = await list({ personFields: 'emailAddresses' });
    expect(Object.keys(page.body.connections[0]).sort()).toEqual(['emailAddresses', 'etag', 'resourceName']);
  });

  it('refuses a page token with other parameters than the first call', async () => {
    await h.seed(EMAIL, [person('A'), person('B'), person('C')]);
    const first = await list({ pageSize: 1, requestSyncToken: true });
    const pageToken = first.body.nextPageToken;
    expect((await list({ pageSize: 1, requestSyncToken: true, pageToken })).status).toBe(200);
    for (const changed of [
      { pageSize: 1, requestSyncToken: true, pageToken, personFields: 'names' },
      { pageSize: 2, requestSyncToken: true, pageToken },
      { pageSize: 1, pageToken },
    ]) {
      const refused = await list(changed);
      expect(refused.status).toBe(400);
      expect(errorOf(refused).status).toBe('INVALID_ARGUMENT');
    }
  });

  it('sorts by first name when asked', async () => {
    await h.seed(EMAIL, [
      person('Carl Z'),
      person('Abe Y'),
      { emailAddresses: [{ value: 'x@x.example' }] },
      person('Bea X'),
    ]);
    const { people } = await h.listAll(h.accessToken, { sortOrder: 'FIRST_NAME_ASCENDING' });
    expect(names(people)).toEqual(['Abe Y', 'Bea X', 'Carl Z', undefined]);
    const byLast = await h.listAll(h.accessToken, { sortOrder: 'LAST_NAME_ASCENDING' });
    expect(names(byLast.people)).toEqual(['Bea X', 'Abe Y', 'Carl Z', undefined]);
  });
});

describe('incremental sync', () => {
  it('returns only what changed since, deletions as tombstones, then nothing', async () => {
    const [kept, edited, removed] = await h.seed(EMAIL, [
      person('Kept'),
      person('Edited'),
      person('Removed'),
    ]);
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    expect(full.people).toHaveLength(3);
    await h.control('PATCH', `${CONTROL}/${idOf(edited.resourceName)}`, person('Edited on the phone'));
    const deleted = await h.api(h.accessToken, 'DELETE', `/${removed.resourceName}:deleteContact`);
    expect(deleted.status).toBe(200);
    const created = await h.api(h.accessToken, 'POST', '/people:createContact', { body: person('New') });
    const changes = await changesSince(full.nextSyncToken as string);
    expect(changes.people.map((item) => item.resourceName)).toEqual([
      edited.resourceName,
      removed.resourceName,
      created.body.resourceName,
    ]);
    expect(changes.people[0].names[0].unstructuredName).toBe('Edited on the phone');
    expect(changes.people[0].etag).not.toBe(edited.etag);
    const tombstone = changes.people[1];
    expect(tombstone).toEqual({
      resourceName: removed.resourceName,
      etag: expect.any(String),
      metadata: {
        sources: [
          {
            type: 'CONTACT',
            id: removed.metadata.sources[0].id,
            etag: expect.any(String),
            updateTime: expect.any(String),
          },
        ],
        deleted: true,
        objectType: 'PERSON',
      },
    });
    expect(changes.people.some((item) => item.resourceName === kept.resourceName)).toBe(false);
    const quiet = await list({ syncToken: changes.nextSyncToken, requestSyncToken: true });
    expect(quiet.status).toBe(200);
    expect(quiet.body.connections).toBeUndefined();
    expect(quiet.body.nextSyncToken).toBeTruthy();
    // A full listing never shows tombstones.
    expect(names((await h.listAll(h.accessToken)).people)).toEqual(['Kept', 'Edited on the phone', 'New']);
  });

  it('refuses a sync token with other personFields', async () => {
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    const refused = await list({ syncToken: full.nextSyncToken, personFields: 'names' });
    expect(refused.status).toBe(400);
    expect(errorOf(refused).status).toBe('INVALID_ARGUMENT');
    expect((await list({ syncToken: 'garbage' })).status).toBe(400);
  });

  it('expire 7 days after the full listing that started the chain: 400 FAILED_PRECONDITION EXPIRED_SYNC_TOKEN', async () => {
    await h.seed(EMAIL, [person('A')]);
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    await h.advance(6 * DAY_MS);
    h.accessToken = await h.token(EMAIL); // the first access token expired meanwhile
    const step = await changesSince(full.nextSyncToken as string);
    await h.advance(DAY_MS + 1);
    h.accessToken = await h.token(EMAIL);
    // The newer token belongs to the same chain: it expires with it.
    for (const syncToken of [full.nextSyncToken as string, step.nextSyncToken]) {
      const expired = await list({ syncToken, requestSyncToken: true });
      expect(expired.status).toBe(400);
      expect(expired.body.error).toEqual({
        code: 400,
        message: 'Sync token is expired. Clear local cache and retry call without the sync token.',
        status: 'FAILED_PRECONDITION',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'EXPIRED_SYNC_TOKEN',
            domain: 'googleapis.com',
          },
        ],
      });
    }
    const again = await h.listAll(h.accessToken, { requestSyncToken: true });
    expect(again.people).toHaveLength(1);
    expect((await list({ syncToken: again.nextSyncToken, requestSyncToken: true })).status).toBe(200);
  });

  it('expire when the control API says so', async () => {
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    expect((await h.control('POST', '/people/sync-tokens/expire', { email: EMAIL })).body).toEqual({
      expired: 1,
    });
    expect(errorOf(await list({ syncToken: full.nextSyncToken })).reason).toBe('EXPIRED_SYNC_TOKEN');
  });

  it('leaves a contact changed while paging out of the rest of the listing, and brings it next time', async () => {
    const seeded = await h.seed(EMAIL, [person('One'), person('Two'), person('Three')]);
    const first = await list({ pageSize: 1, requestSyncToken: true });
    await h.control('PATCH', `${CONTROL}/${idOf(seeded[2].resourceName)}`, person('Three edited'));
    const rest = await h.listAll(h.accessToken, {
      pageSize: 1,
      requestSyncToken: true,
      pageToken: first.body.nextPageToken,
    });
    expect(names([...first.body.connections, ...rest.people])).toEqual(['One', 'Two']);
    const changes = await changesSince(rest.nextSyncToken as string);
    expect(names(changes.people)).toEqual(['Three edited']);
  });

  it('follows a contact linked to a profile through previousResourceNames', async () => {
    const [contact] = await h.seed(EMAIL, [person('Linked')]);
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    const renamed = await h.control('POST', `${CONTROL}/${idOf(contact.resourceName)}/rename`);
    expect(renamed.status).toBe(200);
    expect(renamed.body.resourceName).toMatch(/^people\/1\d{20}$/);
    const changes = await changesSince(full.nextSyncToken as string);
    expect(changes.people).toHaveLength(1);
    expect(changes.people[0].resourceName).toBe(renamed.body.resourceName);
    expect(changes.people[0].metadata.previousResourceNames).toEqual([contact.resourceName]);
    expect(changes.people[0].metadata.sources[0].id).toBe(contact.metadata.sources[0].id);
    const listed = (await h.listAll(h.accessToken)).people[0];
    expect(listed.resourceName).toBe(renamed.body.resourceName);
    expect(listed.metadata.previousResourceNames).toBeUndefined();
    expect(
      (await h.api(h.accessToken, 'GET', `/${contact.resourceName}`, { query: { personFields: 'names' } }))
        .status,
    ).toBe(404);
    const chosen = await h.control('POST', `${CONTROL}/${idOf(renamed.body.resourceName)}/rename`, {
      resourceName: 'people/c42',
    });
    expect(chosen.body.resourceName).toBe('people/c42');
    expect((await changesSince(changes.nextSyncToken)).people[0].metadata.previousResourceNames).toEqual([
      contact.resourceName,
      renamed.body.resourceName,
    ]);
  });
});

describe('propagation delay', () => {
  it('keeps a new or changed contact out of listings for the delay, not out of people.get', async () => {
    const [old] = await h.seed(EMAIL, [person('Old')]);
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    expect((await h.control('POST', '/people/settings', { propagationDelayMs: 300_000 })).body).toEqual({
      propagationDelayMs: 300_000,
    });
    const created = await h.api(h.accessToken, 'POST', '/people:createContact', { body: person('Fresh') });
    const get = await h.api(h.accessToken, 'GET', `/${created.body.resourceName}`, {
      query: { personFields: 'names' },
    });
    expect(get.status).toBe(200);
    await h.control('PATCH', `${CONTROL}/${idOf(old.resourceName)}`, person('Old renamed'));
    expect(names((await h.listAll(h.accessToken)).people)).toEqual(['Old']);
    const early = await changesSince(full.nextSyncToken as string);
    expect(early.people).toEqual([]);
    const pending = await h.control('GET', `${CONTROL}`);
    expect(pending.body.pending.sort()).toEqual([old.resourceName, created.body.resourceName].sort());
    await h.advance(300_000);
    const late = await changesSince(early.nextSyncToken);
    expect(names(late.people)).toEqual(['Fresh', 'Old renamed']);
    expect(names((await h.listAll(h.accessToken)).people)).toEqual(['Fresh', 'Old renamed']);
  });

  it('makes changes visible in the order they were made, even when the delay shrinks', async () => {
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    await h.control('POST', '/people/settings', { propagationDelayMs: 60_000 });
    await h.api(h.accessToken, 'POST', '/people:createContact', { body: person('First') });
    await h.control('POST', '/people/settings', { propagationDelayMs: 0 });
    await h.api(h.accessToken, 'POST', '/people:createContact', { body: person('Second') });
    expect((await changesSince(full.nextSyncToken as string)).people).toEqual([]);
    await h.advance(60_000);
    expect(names((await changesSince(full.nextSyncToken as string)).people)).toEqual(['First', 'Second']);
  });
});
