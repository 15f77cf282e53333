import { describe, expect, it } from 'vitest';
import { errorOf, person, usePeople } from './people-helpers.js';

const EMAIL = 'groups@example.com';
const h = usePeople(EMAIL);

const createGroup = (name: string) =>
  h.api(h.accessToken, 'POST', '/contactGroups', { body: { contactGroup: { name } } });
const modify = (group: string, body: unknown) =>
  h.api(h.accessToken, 'POST', `/${group}/members:modify`, { body });

describe('contactGroups', () => {
  it('lists the system groups and user groups, pages them, and refuses a taken name with 409', async () => {
    const list = await h.api(h.accessToken, 'GET', '/contactGroups');
    expect(list.status).toBe(200);
    const system = list.body.contactGroups;
    expect(system.map((group: any) => group.resourceName)).toContain('contactGroups/myContacts');
    expect(system.find((group: any) => group.name === 'starred')).toMatchObject({
      resourceName: 'contactGroups/starred',
      groupType: 'SYSTEM_CONTACT_GROUP',
      formattedName: 'Starred',
      metadata: { updateTime: expect.any(String) },
    });
    expect(list.body.nextSyncToken).toBeTruthy();
    const created = await createGroup('Customers');
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      resourceName: expect.stringMatching(/^contactGroups\/[0-9a-f]{16}$/),
      etag: expect.any(String),
      groupType: 'USER_CONTACT_GROUP',
      name: 'Customers',
      formattedName: 'Customers',
    });
    const taken = await createGroup('Customers');
    expect(taken.status).toBe(409);
    expect(errorOf(taken).status).toBe('ALREADY_EXISTS');
    expect((await createGroup('')).status).toBe(400);
    const paged = await h.api(h.accessToken, 'GET', '/contactGroups', { query: { pageSize: 5 } });
    expect(paged.body.contactGroups).toHaveLength(5);
    expect(paged.body.totalItems).toBe(system.length + 1);
    const rest = await h.api(h.accessToken, 'GET', '/contactGroups', {
      query: { pageSize: 5, pageToken: paged.body.nextPageToken },
    });
    expect(rest.body.contactGroups.at(-1).name).toBe('Customers');
    const changes = await h.api(h.accessToken, 'GET', '/contactGroups', {
      query: { syncToken: list.body.nextSyncToken },
    });
    expect(changes.body.contactGroups.map((group: any) => group.name)).toEqual(['Customers']);
    expect((await h.api(h.accessToken, 'GET', '/contactGroups', { query: { pageSize: 1001 } })).status).toBe(
      400,
    );
  });

  it('gets a group with its members, adds and removes members; a contact keeps one membership', async () => {
    const group = (await createGroup('Suppliers')).body.resourceName;
    const [a, b] = await h.seed(EMAIL, [person('A'), person('B')]);
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    const added = await modify(group, { resourceNamesToAdd: [a.resourceName, b.resourceName, 'people/c1'] });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({ notFoundResourceNames: ['people/c1'] });
    const got = await h.api(h.accessToken, 'GET', `/${group}`, { query: { maxMembers: 10 } });
    expect(got.body).toMatchObject({ memberCount: 2, memberResourceNames: [a.resourceName, b.resourceName] });
    expect((await h.api(h.accessToken, 'GET', `/${group}`)).body.memberResourceNames).toBeUndefined();
    // Membership changes give the contacts new etags and bring them to incremental sync.
    const changes = await h.listAll(h.accessToken, { syncToken: full.nextSyncToken, requestSyncToken: true });
    expect(changes.people.map((item) => item.resourceName)).toEqual([a.resourceName, b.resourceName]);
    expect(changes.people[0].etag).not.toBe(a.etag);
    expect(
      changes.people[0].memberships.map((item: any) => item.contactGroupMembership.contactGroupResourceName),
    ).toEqual(['contactGroups/myContacts', group]);
    const removed = await modify('contactGroups/myContacts', { resourceNamesToRemove: [a.resourceName] });
    expect(removed.body).toEqual({});
    const last = await modify(group, { resourceNamesToRemove: [a.resourceName, b.resourceName] });
    expect(last.body).toEqual({ canNotRemoveLastContactGroupResourceNames: [a.resourceName] });
    const now = await h.api(h.accessToken, 'GET', `/${a.resourceName}`, {
      query: { personFields: 'memberships' },
    });
    expect(now.body.memberships.map((item: any) => item.contactGroupMembership.contactGroupId)).toEqual([
      group.slice('contactGroups/'.length),
    ]);
  });

  it('lets only myContacts and starred among system groups take members, and at most 1000 changes', async () => {
    const [a] = await h.seed(EMAIL, [person('A')]);
    const starred = await modify('contactGroups/starred', { resourceNamesToAdd: [a.resourceName] });
    expect(starred.status).toBe(200);
    const family = await modify('contactGroups/family', { resourceNamesToAdd: [a.resourceName] });
    expect(family.status).toBe(400);
    const tooMany = await modify('contactGroups/starred', {
      resourceNamesToAdd: Array.from({ length: 600 }, (_, index) => `people/c${index + 1}`),
      resourceNamesToRemove: Array.from({ length: 401 }, (_, index) => `people/c${index + 1}`),
    });
    expect(tooMany.status).toBe(400);
    expect(
      (await modify('contactGroups/0123456789abcdef', { resourceNamesToAdd: [a.resourceName] })).status,
    ).toBe(404);
    expect((await h.api(h.accessToken, 'GET', '/contactGroups/0123456789abcdef')).status).toBe(404);
  });

  it("are the account's own, and the control API lists and creates them", async () => {
    await createGroup('Mine');
    const other = await h.token('other@example.com');
    const theirs = await h.api(other, 'GET', '/contactGroups');
    expect(theirs.body.contactGroups.some((group: any) => group.name === 'Mine')).toBe(false);
    const made = await h.control('POST', `/people/accounts/${EMAIL}/groups`, { name: 'From control' });
    expect(made.status).toBe(201);
    expect((await h.control('POST', `/people/accounts/${EMAIL}/groups`, { name: 'Mine' })).status).toBe(409);
    const listed = await h.control('GET', `/people/accounts/${EMAIL}/groups`);
    expect(
      listed.body.items
        .filter((group: any) => group.groupType === 'USER_CONTACT_GROUP')
        .map((group: any) => group.name),
    ).toEqual(['Mine', 'From control']);
  });
});
