import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStateFile } from '../../src/emulator/persistence.js';
import { errorOf, FIELDS, person, startPeople, usePeople } from './people-helpers.js';
import { rawRequest } from './raw-request.js';

const EMAIL = 'web-people@example.com';
const CONTROL = `/people/accounts/${EMAIL}/contacts`;
const h = usePeople(EMAIL);

const idOf = (resourceName: string) => resourceName.slice('people/'.length);

describe('the People control API', () => {
  it('seeds, lists (tombstones on request), reads, edits as a person, deletes and renames contacts', async () => {
    const [a, b] = await h.seed(EMAIL, [
      person('Ann', { phoneNumbers: [{ value: '+1 650 253 0000', type: 'mobile' }] }),
      person('Bob', { emailAddresses: [{ value: 'bob@x.example' }] }),
    ]);
    expect(a.phoneNumbers[0].canonicalForm).toBe('+16502530000');
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    const one = await h.control('GET', `${CONTROL}/${idOf(a.resourceName)}`);
    expect(one.body).toMatchObject({
      resourceName: a.resourceName,
      etag: a.etag,
      names: [expect.objectContaining({ unstructuredName: 'Ann' })],
    });
    // The whole resource name works too.
    expect((await h.control('GET', `${CONTROL}/${encodeURIComponent(a.resourceName)}`)).status).toBe(200);
    const edited = await h.control('PATCH', `${CONTROL}/${idOf(a.resourceName)}`, {
      phoneNumbers: [{ value: '+44 20 7946 0958', type: 'work' }],
    });
    expect(edited.status).toBe(200);
    expect(edited.body.etag).not.toBe(a.etag);
    expect(edited.body.names[0].unstructuredName).toBe('Ann');
    expect(edited.body.phoneNumbers[0]).toMatchObject({
      value: '+44 20 7946 0958',
      canonicalForm: '+442079460958',
    });
    expect(Date.parse(edited.body.metadata.sources[0].updateTime)).toBeGreaterThanOrEqual(
      Date.parse(a.metadata.sources[0].updateTime),
    );
    expect((await h.control('DELETE', `${CONTROL}/${idOf(b.resourceName)}`)).body).toEqual({ deleted: true });
    const missing = await h.control('DELETE', `${CONTROL}/${idOf(b.resourceName)}`);
    expect(missing.status).toBe(404);
    expect(errorOf(missing).status).toBe('NOT_FOUND');
    const live = await h.control('GET', CONTROL);
    expect(live.body.items.map((item: any) => item.resourceName)).toEqual([a.resourceName]);
    expect(live.body.pending).toEqual([]);
    const all = await h.control('GET', `${CONTROL}?tombstones=true`);
    expect(all.body.items.map((item: any) => [item.resourceName, item.metadata.deleted ?? false])).toEqual([
      [a.resourceName, false],
      [b.resourceName, true],
    ]);
    const changes = await h.listAll(h.accessToken, { syncToken: full.nextSyncToken, requestSyncToken: true });
    expect(changes.people.map((item) => [item.resourceName, item.metadata.deleted ?? false])).toEqual([
      [a.resourceName, false],
      [b.resourceName, true],
    ]);
    const renamed = await h.control('POST', `${CONTROL}/${idOf(a.resourceName)}/rename`, {
      resourceName: 'people/c7',
    });
    expect(renamed.body.metadata.previousResourceNames).toEqual([a.resourceName]);
    expect((await h.control('POST', `${CONTROL}/c7/rename`, { resourceName: 'people/c7' })).status).toBe(400);
  });

  it('seeds delayed contacts on request, and refuses bad bodies', async () => {
    await h.control('POST', '/people/settings', { propagationDelayMs: 60_000 });
    expect((await h.control('GET', '/people/settings')).body).toEqual({ propagationDelayMs: 60_000 });
    const delayed = await h.control('POST', CONTROL, { contacts: [person('Later')], delayed: true });
    expect(delayed.status).toBe(201);
    await h.seed(EMAIL, [person('Now')]);
    // Changes propagate in the order made: the seed waits for the delayed contact before it.
    expect((await h.control('GET', CONTROL)).body.pending).toHaveLength(2);
    await h.advance(60_000);
    expect((await h.listAll(h.accessToken)).people.map((item) => item.names[0].unstructuredName)).toEqual([
      'Later',
      'Now',
    ]);
    const bad = await h.control('POST', CONTROL, { contacts: [] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_request');
    expect((await h.control('POST', CONTROL, { contacts: [{ names: [{}, {}] }] })).status).toBe(400);
    expect((await h.control('POST', '/people/settings', { propagationDelayMs: -1 })).status).toBe(400);
    expect((await h.control('GET', '/people/accounts/not-an-email/contacts')).status).toBe(400);
  });

  it('shows the state and resets it', async () => {
    await h.seed(EMAIL, [person('Kept')]);
    const state = await h.control('GET', '/people/state');
    expect(Object.keys(state.body.accounts)).toEqual([EMAIL]);
    expect((await h.control('POST', '/people/reset')).body).toEqual({ reset: true });
    expect((await h.control('GET', '/people/state')).body.accounts).toEqual({});
  });
});

describe('the Contacts web page', () => {
  async function page(path: string) {
    const answer = await fetch(`${h.url}${path}`);
    return { status: answer.status, html: await answer.text() };
  }
  async function submit(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
    const answer = await fetch(`${h.url}${path}`, {
      method: 'POST',
      body: new URLSearchParams(fields),
      redirect: 'manual',
      headers,
    });
    return { status: answer.status, location: answer.headers.get('location'), html: await answer.text() };
  }
  const contactsPage = `/ui/accounts/${encodeURIComponent(EMAIL)}/contacts`;

  it('links an account to its contacts, and creates, edits and deletes them as a person on a phone', async () => {
    await h.seed(EMAIL, [person('Seeded')]);
    expect((await page('/')).html).toContain(`href="${contactsPage.replace('%40', '%40')}">Contacts (1)</a>`);
    const full = await h.listAll(h.accessToken, { requestSyncToken: true });
    const created = await submit(contactsPage, {
      name: 'Zoe Phone',
      phone: '(650) 253-0000',
      phoneType: 'work',
      email: 'zoe@x.example',
    });
    expect(created).toMatchObject({ status: 303, location: contactsPage });
    const afterCreate = await h.listAll(h.accessToken, {
      syncToken: full.nextSyncToken,
      requestSyncToken: true,
    });
    expect(afterCreate.people).toHaveLength(1);
    const zoe = afterCreate.people[0];
    expect(zoe.names[0].unstructuredName).toBe('Zoe Phone');
    expect(zoe.phoneNumbers[0]).toMatchObject({
      value: '(650) 253-0000',
      type: 'work',
      canonicalForm: '+16502530000',
    });
    expect(zoe.emailAddresses[0].value).toBe('zoe@x.example');
    const listing = await page(contactsPage);
    expect(listing.html).toContain('Zoe Phone');
    expect(listing.html).toContain('+16502530000');

    const link = `${contactsPage}/${idOf(zoe.resourceName)}`;
    const edit = await page(link);
    expect(edit.status).toBe(200);
    expect(edit.html).toContain('value="Zoe Phone"');
    expect(edit.html).toContain('<option value="work" selected>');
    expect(
      (await submit(link, { name: 'Zoe Moved', phone: '+44 20 7946 0958', phoneType: 'mobile', email: '' }))
        .status,
    ).toBe(303);
    const afterEdit = await h.listAll(h.accessToken, {
      syncToken: afterCreate.nextSyncToken,
      requestSyncToken: true,
      personFields: FIELDS,
    });
    expect(afterEdit.people).toHaveLength(1);
    expect(afterEdit.people[0].etag).not.toBe(zoe.etag);
    expect(afterEdit.people[0].names[0].unstructuredName).toBe('Zoe Moved');
    expect(afterEdit.people[0].phoneNumbers[0]).toMatchObject({
      type: 'mobile',
      canonicalForm: '+442079460958',
    });
    expect(afterEdit.people[0].emailAddresses).toBeUndefined();

    expect((await submit(`${link}/delete`, {})).status).toBe(303);
    const afterDelete = await h.listAll(h.accessToken, {
      syncToken: afterEdit.nextSyncToken,
      requestSyncToken: true,
    });
    expect(afterDelete.people).toEqual([
      expect.objectContaining({
        resourceName: zoe.resourceName,
        metadata: expect.objectContaining({ deleted: true }),
      }),
    ]);
    expect((await page(contactsPage)).html).not.toContain('Zoe');
    expect((await page(link)).status).toBe(404);
  });

  it('escapes what contacts hold, and refuses cross-site forms and empty contacts', async () => {
    const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>'&`;
    const [contact] = await h.seed(EMAIL, [
      person(hostile, { phoneNumbers: [{ value: hostile, type: hostile }] }),
    ]);
    const listing = await page(contactsPage);
    const edit = await page(`${contactsPage}/${idOf(contact.resourceName)}`);
    for (const text of [listing.html, edit.html]) {
      expect(text).not.toContain('<script>');
      expect(text).not.toContain('<img');
      expect(text).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    }
    expect((await submit(contactsPage, { name: 'X' }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await submit(contactsPage, { name: 'X' }, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await rawRequest(`${h.url}${contactsPage}`, { headers: { host: 'evil.example' } })).status).toBe(
      403,
    );
    expect(
      (await rawRequest(`${h.url}/__emulator${CONTROL}`, { headers: { host: 'evil.example' } })).status,
    ).toBe(403);
    const empty = await submit(contactsPage, { name: '', phone: '', email: '' });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('id="error"');
  });
});

describe('--state', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'emulator-people-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps contacts, groups, settings and sync tokens across a restart', async () => {
    const path = join(dir, 'state.json');
    const first = await startPeople({ statePath: path, stateSaveDelayMs: 10 });
    const firstToken = await first.token(EMAIL);
    await first.seed(EMAIL, [person('Persisted')]);
    await first.api(firstToken, 'POST', '/contactGroups', { body: { contactGroup: { name: 'Kept group' } } });
    await first.control('POST', '/people/settings', { propagationDelayMs: 1_000 });
    const full = await first.listAll(firstToken, { requestSyncToken: true });
    await first.close();
    expect(Object.keys((await readStateFile(path))?.people?.accounts ?? {})).toEqual([EMAIL]);

    const second = await startPeople({ statePath: path, stateSaveDelayMs: 10 });
    try {
      expect((await second.control('GET', '/people/settings')).body).toEqual({ propagationDelayMs: 1_000 });
      const again = await second.listAll(firstToken, {
        syncToken: full.nextSyncToken,
        requestSyncToken: true,
      });
      expect(again.people).toEqual([]);
      const groups = await second.api(firstToken, 'GET', '/contactGroups');
      expect(groups.body.contactGroups.some((group: any) => group.name === 'Kept group')).toBe(true);
      expect((await second.listAll(firstToken)).people.map((item) => item.names[0].unstructuredName)).toEqual(
        ['Persisted'],
      );
    } finally {
      await second.close();
    }
  });
});
