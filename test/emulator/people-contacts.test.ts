import { describe, expect, it } from 'vitest';
import { CALENDAR } from './oauth-helpers.js';
import { CONTACTS, CONTACTS_READONLY, errorOf, person, usePeople } from './people-helpers.js';

const EMAIL = 'ann@example.com';
const h = usePeople(EMAIL);

async function create(body: unknown, query: Record<string, string> = {}) {
  const answer = await h.api(h.accessToken, 'POST', '/people:createContact', { body, query });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body;
}

describe('createContact and people.get', () => {
  it('store a contact with Google derived values and render the Person shape', async () => {
    const created = await create({
      names: [{ unstructuredName: 'Ann Smith' }],
      emailAddresses: [{ value: 'ann@smith.example', type: 'work' }],
      phoneNumbers: [
        { value: '(650) 253-0000', type: 'work' },
        { value: '+44 20 7946 0958', type: 'mobile' },
        { value: 'call me', type: 'home' },
      ],
      addresses: [
        {
          streetAddress: '1600 Amphitheatre Pkwy',
          city: 'Mountain View',
          region: 'CA',
          postalCode: '94043',
          countryCode: 'US',
          type: 'work',
        },
      ],
      organizations: [{ name: 'Example Corp', title: 'CEO' }],
      urls: [{ value: 'https://smith.example', type: 'homePage' }],
      clientData: [{ key: 'tryton_party', value: 'db:42' }],
    });
    expect(created.resourceName).toMatch(/^people\/c\d+$/);
    expect(created.etag).toMatch(/^%/);
    const id = BigInt(created.resourceName.slice('people/c'.length)).toString(16);
    expect(created.metadata.sources).toEqual([
      { type: 'CONTACT', id, etag: expect.stringMatching(/^#/), updateTime: expect.any(String) },
    ]);
    expect(created.names).toEqual([
      {
        metadata: { primary: true, source: { type: 'CONTACT', id } },
        unstructuredName: 'Ann Smith',
        givenName: 'Ann',
        familyName: 'Smith',
        displayName: 'Ann Smith',
        displayNameLastFirst: 'Smith, Ann',
      },
    ]);
    expect(created.phoneNumbers.map((phone: any) => [phone.value, phone.canonicalForm, phone.type])).toEqual([
      ['(650) 253-0000', '+16502530000', 'work'],
      ['+44 20 7946 0958', '+442079460958', 'mobile'],
      ['call me', undefined, 'home'],
    ]);
    expect(created.addresses[0].formattedValue).toBe('1600 Amphitheatre Pkwy\nMountain View, CA 94043\nUS');
    expect(created.organizations[0]).toMatchObject({ name: 'Example Corp', title: 'CEO' });
    expect(created.memberships).toEqual([
      {
        metadata: { source: { type: 'CONTACT', id } },
        contactGroupMembership: {
          contactGroupId: 'myContacts',
          contactGroupResourceName: 'contactGroups/myContacts',
        },
      },
    ]);
    const got = await h.api(h.accessToken, 'GET', `/${created.resourceName}`, {
      query: { personFields: 'names,clientData' },
    });
    expect(got.status).toBe(200);
    expect(Object.keys(got.body).sort()).toEqual(['clientData', 'etag', 'names', 'resourceName']);
    expect(got.body.etag).toBe(created.etag);
    expect(got.body.clientData[0]).toMatchObject({ key: 'tryton_party', value: 'db:42' });
  });

  it('compose the unstructured name from the parts, and return only the personFields asked', async () => {
    const created = await create(
      {
        names: [{ givenName: 'Bob', familyName: 'Stone', honorificPrefix: 'Dr.' }],
        emailAddresses: [{ value: 'b@x.example' }],
      },
      { personFields: 'names' },
    );
    expect(Object.keys(created).sort()).toEqual(['etag', 'names', 'resourceName']);
    expect(created.names[0]).toMatchObject({
      unstructuredName: 'Dr. Bob Stone',
      displayName: 'Dr. Bob Stone',
      displayNameLastFirst: 'Stone, Dr. Bob',
    });
  });

  it('refuse more than one name, an unknown field, an unknown group, and a get without personFields', async () => {
    const two = await h.api(h.accessToken, 'POST', '/people:createContact', {
      body: { names: [{ givenName: 'A' }, { givenName: 'B' }] },
    });
    expect(two.status).toBe(400);
    expect(errorOf(two).status).toBe('INVALID_ARGUMENT');
    const unknown = await h.api(h.accessToken, 'POST', '/people:createContact', { body: { nickName: [] } });
    expect(unknown.status).toBe(400);
    expect(errorOf(unknown).message).toContain('Unknown name "nickName"');
    const group = await h.api(h.accessToken, 'POST', '/people:createContact', {
      body: person('C', {
        memberships: [{ contactGroupMembership: { contactGroupResourceName: 'contactGroups/nope' } }],
      }),
    });
    expect(group.status).toBe(400);
    const created = await create(person('D'));
    const noFields = await h.api(h.accessToken, 'GET', `/${created.resourceName}`);
    expect(noFields.status).toBe(400);
    expect(errorOf(noFields).message).toMatch(/^personFields mask is required/);
    const missing = await h.api(h.accessToken, 'GET', '/people/c1', { query: { personFields: 'names' } });
    expect(missing.status).toBe(404);
    expect(errorOf(missing)).toMatchObject({
      status: 'NOT_FOUND',
      message: 'Requested entity was not found.',
    });
  });
});

describe('updateContact', () => {
  it('replaces the masked fields, keeps the others, and answers the new etag', async () => {
    const created = await create(
      person('Ann Smith', {
        emailAddresses: [{ value: 'a@x.example' }, { value: 'b@x.example' }],
        phoneNumbers: [{ value: '+16502530000' }],
      }),
    );
    const updated = await h.api(h.accessToken, 'PATCH', `/${created.resourceName}:updateContact`, {
      query: { updatePersonFields: 'emailAddresses,organizations' },
      body: {
        etag: created.etag,
        emailAddresses: [{ value: 'c@x.example' }],
        phoneNumbers: [{ value: 'ignored' }],
      },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.etag).not.toBe(created.etag);
    expect(updated.body.emailAddresses.map((item: any) => item.value)).toEqual(['c@x.example']);
    expect(updated.body.phoneNumbers.map((item: any) => item.value)).toEqual(['+16502530000']);
    expect(updated.body.organizations).toBeUndefined();
    expect(updated.body.metadata.sources[0].etag).not.toBe(created.metadata.sources[0].etag);
    // The source etag of the answer works for the next update.
    const next = await h.api(h.accessToken, 'PATCH', `/${created.resourceName}:updateContact`, {
      query: { updatePersonFields: 'names' },
      body: {
        metadata: { sources: [{ type: 'CONTACT', etag: updated.body.metadata.sources[0].etag }] },
        names: [{ unstructuredName: 'Ann Jones' }],
      },
    });
    expect(next.status).toBe(200);
    expect(next.body.names[0]).toMatchObject({ givenName: 'Ann', familyName: 'Jones' });
  });

  it('requires updatePersonFields and an etag, and refuses a stale one with FAILED_PRECONDITION', async () => {
    const created = await create(person('Eve'));
    const path = `/${created.resourceName}:updateContact`;
    const noMask = await h.api(h.accessToken, 'PATCH', path, { body: { etag: created.etag, names: [] } });
    expect(noMask.status).toBe(400);
    expect(errorOf(noMask).message).toMatch(/^updatePersonFields mask is required/);
    const readOnly = await h.api(h.accessToken, 'PATCH', path, {
      query: { updatePersonFields: 'photos' },
      body: { etag: created.etag },
    });
    expect(readOnly.status).toBe(400);
    const noEtag = await h.api(h.accessToken, 'PATCH', path, {
      query: { updatePersonFields: 'names' },
      body: person('Eve B'),
    });
    expect(noEtag.status).toBe(400);
    expect(errorOf(noEtag)).toMatchObject({
      status: 'INVALID_ARGUMENT',
      message:
        'Request must set person.etag or person.metadata.sources.etag for the source that is being updated.',
    });
    await h.control(
      'PATCH',
      `/people/accounts/${EMAIL}/contacts/${created.resourceName.slice(7)}`,
      person('Eve on the phone'),
    );
    const stale = await h.api(h.accessToken, 'PATCH', path, {
      query: { updatePersonFields: 'names' },
      body: { etag: created.etag, ...person('Eve C') },
    });
    expect(stale.status).toBe(400);
    expect(errorOf(stale)).toMatchObject({
      code: 400,
      status: 'FAILED_PRECONDITION',
      reason: 'failedPrecondition',
    });
    expect(Object.keys(stale.body.error).sort()).toEqual(['code', 'details', 'message', 'status']);
    const staleSource = await h.api(h.accessToken, 'PATCH', path, {
      query: { updatePersonFields: 'names' },
      body: {
        metadata: { sources: [{ type: 'CONTACT', etag: created.metadata.sources[0].etag }] },
        ...person('Eve D'),
      },
    });
    expect(errorOf(staleSource).message).toMatch(/person\.metadata\.sources\.etag is different/);
  });

  it('replaces memberships only with at least one', async () => {
    const created = await create(person('Gil'));
    const group = await h.api(h.accessToken, 'POST', '/contactGroups', {
      body: { contactGroup: { name: 'Friends of Gil' } },
    });
    const path = `/${created.resourceName}:updateContact`;
    const none = await h.api(h.accessToken, 'PATCH', path, {
      query: { updatePersonFields: 'memberships' },
      body: { etag: created.etag, memberships: [] },
    });
    expect(none.status).toBe(400);
    const moved = await h.api(h.accessToken, 'PATCH', path, {
      query: { updatePersonFields: 'memberships', personFields: 'memberships' },
      body: {
        etag: created.etag,
        memberships: [{ contactGroupMembership: { contactGroupResourceName: group.body.resourceName } }],
      },
    });
    expect(moved.status).toBe(200);
    expect(
      moved.body.memberships.map((item: any) => item.contactGroupMembership.contactGroupResourceName),
    ).toEqual([group.body.resourceName]);
  });
});

describe('deleteContact', () => {
  it('answers {} and the contact is gone', async () => {
    const created = await create(person('Hal'));
    const deleted = await h.api(h.accessToken, 'DELETE', `/${created.resourceName}:deleteContact`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    expect(
      (await h.api(h.accessToken, 'GET', `/${created.resourceName}`, { query: { personFields: 'names' } }))
        .status,
    ).toBe(404);
    expect((await h.api(h.accessToken, 'DELETE', `/${created.resourceName}:deleteContact`)).status).toBe(404);
  });
});

describe('authorization', () => {
  it('needs a valid bearer token (401) of the account owning the contacts', async () => {
    const created = await create(person('Ida'));
    const none = await h.api(undefined, 'GET', '/people/me/connections', {
      query: { personFields: 'names' },
    });
    expect(none.status).toBe(401);
    expect(errorOf(none)).toMatchObject({ status: 'UNAUTHENTICATED', reason: 'CREDENTIALS_MISSING' });
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect((await h.api('nope', 'GET', '/contactGroups')).status).toBe(401);
    const other = await h.token('bob@example.com');
    expect(
      (await h.api(other, 'GET', `/${created.resourceName}`, { query: { personFields: 'names' } })).status,
    ).toBe(404);
  });

  it('lets contacts.readonly read only, and refuses other scopes with 403 PERMISSION_DENIED', async () => {
    // Another account: EMAIL's earlier grant of `contacts` would be included (include_granted_scopes).
    const reader = await h.token('reader@example.com', [CONTACTS_READONLY]);
    expect(
      (await h.api(reader, 'GET', '/people/me/connections', { query: { personFields: 'names' } })).status,
    ).toBe(200);
    expect((await h.api(reader, 'GET', '/contactGroups')).status).toBe(200);
    const write = await h.api(reader, 'POST', '/people:createContact', { body: person('No') });
    expect(write.status).toBe(403);
    expect(errorOf(write)).toEqual({
      code: 403,
      status: 'PERMISSION_DENIED',
      reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
      message: 'Request had insufficient authentication scopes.',
    });
    const calendarOnly = await h.token('cal@example.com', [CALENDAR]);
    const read = await h.api(calendarOnly, 'GET', '/people/me/connections', {
      query: { personFields: 'names' },
    });
    expect(read.status).toBe(403);
    expect(errorOf(read).status).toBe('PERMISSION_DENIED');
    const writer = await h.token('reader@example.com', [CONTACTS]);
    expect((await h.api(writer, 'POST', '/people:createContact', { body: person('Yes') })).status).toBe(200);
  });

  it('answers unknown People paths with a Google 404, and leaves userinfo alone', async () => {
    const unknown = await h.api(h.accessToken, 'GET', '/people:searchContacts');
    expect(unknown.status).toBe(404);
    expect(errorOf(unknown).status).toBe('NOT_FOUND');
    expect((await h.api(h.accessToken, 'GET', '/userinfo')).status).toBe(200);
  });
});
