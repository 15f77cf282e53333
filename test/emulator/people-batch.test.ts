import { describe, expect, it } from 'vitest';
import { errorOf, person, usePeople } from './people-helpers.js';

const EMAIL = 'batch@example.com';
const h = usePeople(EMAIL);

const batchCreate = (contacts: unknown[], extra: Record<string, unknown> = { readMask: 'names,metadata' }) =>
  h.api(h.accessToken, 'POST', '/people:batchCreateContacts', {
    body: { contacts: contacts.map((contactPerson) => ({ contactPerson })), ...extra },
  });

describe('batchCreateContacts', () => {
  it('creates up to 200 contacts in order and answers each with its person', async () => {
    const created = await batchCreate(
      Array.from({ length: 200 }, (_, index) =>
        person(`B${index}`, { clientData: [{ key: 'tryton_party', value: `db:${index}` }] }),
      ),
    );
    expect(created.status).toBe(200);
    expect(created.body.createdPeople).toHaveLength(200);
    const first = created.body.createdPeople[0];
    expect(first).toEqual({
      requestedResourceName: first.person.resourceName,
      httpStatusCode: 200,
      person: {
        resourceName: expect.stringMatching(/^people\/c\d+$/),
        etag: expect.any(String),
        metadata: expect.any(Object),
        names: [expect.objectContaining({ unstructuredName: 'B0' })],
      },
    });
    expect(new Set(created.body.createdPeople.map((item: any) => item.person.resourceName)).size).toBe(200);
    const listed = await h.listAll(h.accessToken, { pageSize: 1000 });
    expect(listed.people.map((item) => item.clientData[0].value)).toEqual(
      Array.from({ length: 200 }, (_, index) => `db:${index}`),
    );
    expect(
      listed.people.every(
        (item) => item.memberships[0].contactGroupMembership.contactGroupId === 'myContacts',
      ),
    ).toBe(true);
  });

  it('refuses more than 200, none, a missing readMask, and an invalid contact (nothing created)', async () => {
    const over = await batchCreate(Array.from({ length: 201 }, (_, index) => person(`X${index}`)));
    expect(over.status).toBe(400);
    expect(errorOf(over).status).toBe('INVALID_ARGUMENT');
    expect((await batchCreate([])).status).toBe(400);
    const noMask = await batchCreate([person('Y')], {});
    expect(noMask.status).toBe(400);
    expect(errorOf(noMask).message).toMatch(/^readMask mask is required/);
    const invalid = await batchCreate([person('Z1'), { names: [{ givenName: 'a' }, { givenName: 'b' }] }]);
    expect(invalid.status).toBe(400);
    expect((await h.listAll(h.accessToken)).people).toEqual([]);
  });
});

describe('batchUpdateContacts', () => {
  async function seeded(count: number) {
    return h.seed(
      EMAIL,
      Array.from({ length: count }, (_, index) => person(`U${index}`)),
    );
  }

  it('updates the masked fields of each contact and answers updateResult by resource name', async () => {
    const contacts = await seeded(3);
    const answer = await h.api(h.accessToken, 'POST', '/people:batchUpdateContacts', {
      body: {
        contacts: Object.fromEntries(
          contacts.map((contact: any, index: number) => [
            contact.resourceName,
            {
              etag: contact.etag,
              names: [{ unstructuredName: `Updated ${index}` }],
              emailAddresses: [{ value: `u${index}@x.example` }],
            },
          ]),
        ),
        updateMask: 'names,emailAddresses',
        readMask: 'names,emailAddresses',
      },
    });
    expect(answer.status).toBe(200);
    const result = answer.body.updateResult;
    expect(Object.keys(result)).toEqual(contacts.map((contact: any) => contact.resourceName));
    const [name, first] = Object.entries(result)[0] as [string, any];
    expect(first).toMatchObject({ requestedResourceName: name, httpStatusCode: 200 });
    expect(first.person.names[0].unstructuredName).toBe('Updated 0');
    expect(first.person.emailAddresses[0].value).toBe('u0@x.example');
    expect(first.person.etag).not.toBe(contacts[0].etag);
  });

  it('fails the whole batch on one stale etag (400 FAILED_PRECONDITION), writing nothing', async () => {
    const contacts = await seeded(2);
    await h.control(
      'PATCH',
      `/people/accounts/${EMAIL}/contacts/${contacts[1].resourceName.slice(7)}`,
      person('Changed meanwhile'),
    );
    const answer = await h.api(h.accessToken, 'POST', '/people:batchUpdateContacts', {
      body: {
        contacts: Object.fromEntries(
          contacts.map((contact: any) => [contact.resourceName, { etag: contact.etag, ...person('Batch') }]),
        ),
        updateMask: 'names',
        readMask: 'names',
      },
    });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ status: 'FAILED_PRECONDITION', reason: 'failedPrecondition' });
    const names = (await h.listAll(h.accessToken)).people.map((item) => item.names[0].unstructuredName);
    expect(names).toEqual(['U0', 'Changed meanwhile']);
  });

  it('refuses more than 200, a missing updateMask or readMask, a missing etag or an unknown contact', async () => {
    const contacts = await seeded(201);
    const body = (
      entries: any[],
      extra: Record<string, unknown> = { updateMask: 'names', readMask: 'names' },
    ) => ({
      contacts: Object.fromEntries(
        entries.map((contact) => [contact.resourceName, { etag: contact.etag, ...person('New') }]),
      ),
      ...extra,
    });
    const post = (payload: unknown) =>
      h.api(h.accessToken, 'POST', '/people:batchUpdateContacts', { body: payload });
    expect((await post(body(contacts))).status).toBe(400);
    expect((await post(body(contacts.slice(0, 200)))).status).toBe(200);
    expect((await post(body(contacts.slice(0, 1), { readMask: 'names' }))).status).toBe(400);
    expect((await post(body(contacts.slice(0, 1), { updateMask: 'names' }))).status).toBe(400);
    const noEtag = await post({
      contacts: { [contacts[200].resourceName]: person('N') },
      updateMask: 'names',
      readMask: 'names',
    });
    expect(errorOf(noEtag).message).toMatch(/^Request must set person.etag/);
    const unknown = await post({
      contacts: { 'people/c1': { etag: 'x', ...person('N') } },
      updateMask: 'names',
      readMask: 'names',
    });
    expect(unknown.status).toBe(404);
  });
});

describe('batchDeleteContacts', () => {
  it('deletes up to 500 contacts, answers {}, and incremental sync gets their tombstones', async () => {
    const contacts = await h.seed(
      EMAIL,
      Array.from({ length: 501 }, (_, index) => person(`D${index}`)),
    );
    const full = await h.listAll(h.accessToken, { requestSyncToken: true, pageSize: 1000 });
    const names = contacts.map((contact: any) => contact.resourceName);
    const over = await h.api(h.accessToken, 'POST', '/people:batchDeleteContacts', {
      body: { resourceNames: names },
    });
    expect(over.status).toBe(400);
    expect(errorOf(over).status).toBe('INVALID_ARGUMENT');
    const deleted = await h.api(h.accessToken, 'POST', '/people:batchDeleteContacts', {
      body: { resourceNames: names.slice(0, 500) },
    });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({});
    const changes = await h.listAll(h.accessToken, {
      syncToken: full.nextSyncToken,
      requestSyncToken: true,
      pageSize: 1000,
    });
    expect(changes.people).toHaveLength(500);
    expect(changes.people.every((item) => item.metadata.deleted === true)).toBe(true);
    expect((await h.listAll(h.accessToken)).people.map((item) => item.resourceName)).toEqual([names[500]]);
    const again = await h.api(h.accessToken, 'POST', '/people:batchDeleteContacts', {
      body: { resourceNames: [names[0], names[500]] },
    });
    expect(again.status).toBe(404);
    expect((await h.listAll(h.accessToken)).people).toHaveLength(1);
    expect(
      (await h.api(h.accessToken, 'POST', '/people:batchDeleteContacts', { body: { resourceNames: [] } }))
        .status,
    ).toBe(400);
  });
});
