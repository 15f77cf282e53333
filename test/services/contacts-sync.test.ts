/**
 * The contacts sync end to end (docs/contracts.md, "Contacts synchronization"): the sidecar, the
 * emulator's People API, and a real trytond whose module route writes parties through Tryton's ORM.
 * Every change in Tryton goes through Tryton's JSON-RPC, every change at Google through the
 * emulator's control API (a Google user on a phone).
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noChanges } from '../../src/services/contacts/counts.js';
import { type ContactsStack, startContactsStack } from '../support/contacts-stack.js';
import { jobsQueuedWhileARoundEnds } from '../support/queued-during-round.js';
import { until } from '../support/wait.js';

let s: ContactsStack;
/**
 * How long a background round may take to show: the module queues it 2 s after the save, the job
 * runner polls every 2 s, and People calls are paced at one a second per account (contract), so a
 * loaded machine needs far more than the usual bound.
 */
const BACKGROUND_MS = 60_000;

beforeAll(async () => {
  s = await startContactsStack({ email: 'sales@example.com' });
}, 240_000);

afterAll(async () => {
  await s?.stop();
});

const mechanisms = async (partyId: number) =>
  (await s.call('model.party.contact_mechanism.search_read', [
    [['party', '=', partyId]],
    0,
    null,
    [['id', 'ASC']],
    ['type', 'value', 'active'],
    { active_test: false },
  ])) as Array<{ type: string; value: string; active: boolean }>;

const byName = async (name: string) =>
  (await s.call('model.party.party.search', [
    [['name', '=', name]],
    0,
    null,
    null,
    { active_test: false },
  ])) as number[];

describe('the contacts sync between Tryton parties and Google Contacts', () => {
  it('takes a party made in Tryton to Google, its phone in international format, and the next round is idle', async () => {
    const party = await s.createParty({
      name: 'Ada Lovelace',
      contact_mechanisms: [
        [
          'create',
          [
            { type: 'email', value: 'ada@example.com' },
            { type: 'phone', value: '+3222345678' },
          ],
        ],
      ],
    });
    // The save queued the account's round (the module's queue function): the background takes it.
    await until(
      () =>
        s.stack.db('google_integration_party_contact').where({ party, credential: s.credentialId }).first(),
      (row) => row?.sync_status === 'synced',
      { what: 'the party pushed by the background round', timeoutMs: BACKGROUND_MS },
    );
    const contact = (await s.contacts()).find(
      (person) => person.names?.[0]?.unstructuredName === 'Ada Lovelace',
    );
    expect(contact?.phoneNumbers?.[0]?.value).toBe('+32 2 234 56 78');
    expect(contact?.phoneNumbers?.[0]?.canonicalForm).toBe('+3222345678');
    expect(contact?.emailAddresses?.[0]?.value).toBe('ada@example.com');
    expect(contact?.clientData).toContainEqual(
      expect.objectContaining({ key: 'tryton_party', value: `${s.stack.database}:${party}` }),
    );
    const [row] = await s.stack
      .db('google_integration_party_contact')
      .where({ party, credential: s.credentialId });
    expect(row).toMatchObject({ resource_name: contact.resourceName, sync_status: 'synced' });

    const writeDate = (await s.stack.db('party_party').where({ id: party }).first('write_date')).write_date;
    expect(await s.measuredRound(s.credentialId)).toEqual({ result: noChanges(), lists: 1, writes: 0 });
    expect((await s.stack.db('party_party').where({ id: party }).first('write_date')).write_date).toEqual(
      writeDate,
    );
  });

  it('brings a contact edited on the phone into the party, and a contact made there as a new party', async () => {
    const [ada] = (await s.contacts()).filter(
      (person) => person.names?.[0]?.unstructuredName === 'Ada Lovelace',
    );
    await s.editAtGoogle(ada.resourceName, {
      names: [{ unstructuredName: 'Ada King' }],
      phoneNumbers: [{ value: '+32 475 12 34 56', type: 'mobile' }],
    });
    await s.addAtGoogle([
      { names: [{ unstructuredName: 'Grace Hopper' }], emailAddresses: [{ value: 'grace@example.com' }] },
    ]);
    const counts = await s.sync();
    expect(counts).toMatchObject({ created: 1, updated: 1 });
    const [party] = await byName('Ada King');
    expect(party).toBeDefined();
    const phones = (await mechanisms(party as number)).filter((m) => m.type !== 'email');
    // Replaced at Google: the old number is archived in Tryton (never deleted), the new one added.
    expect(phones.filter((m) => m.active).map((m) => [m.type, m.value])).toEqual([
      ['mobile', '+32 475 12 34 56'],
    ]);
    expect(phones.some((m) => !m.active && m.value === '+32 2 234 56 78')).toBe(true);
    const [grace] = await byName('Grace Hopper');
    expect((await s.party(grace as number)).active).toBe(true);
    // Tryton gave the new party its code (the party sequence ran: the ORM wrote it).
    expect((await s.stack.db('party_party').where({ id: grace }).first('code')).code).toBeTruthy();
    expect(await s.sync()).toMatchObject({ created: 0, updated: 0, pushed: 0 });
  });

  it('archives the party of a contact deleted at Google, never deleting it', async () => {
    const [grace] = (await s.contacts()).filter(
      (person) => person.names?.[0]?.unstructuredName === 'Grace Hopper',
    );
    await s.deleteAtGoogle(grace.resourceName);
    expect(await s.sync()).toMatchObject({ archived: 1 });
    const [party] = await byName('Grace Hopper');
    expect((await s.party(party as number)).active).toBe(false);
  });

  it('lists everything again when Google says the sync token expired, re-linking without duplicates', async () => {
    const parties = await s.stack.db('party_party').count({ n: '*' }).first();
    const contacts = (await s.contacts()).length;
    await s.stack.control('/people/sync-tokens/expire', { email: s.email });
    const counts = await s.sync();
    expect(counts).toMatchObject({ created: 0, pushed: 0, archived: 0, deleted: 0 });
    expect(await s.stack.db('party_party').count({ n: '*' }).first()).toEqual(parties);
    expect((await s.contacts()).length).toBe(contacts);
  });

  it('deletes the contact of a party archived in Tryton', async () => {
    const party = await s.createParty({
      name: 'Short Lived',
      contact_mechanisms: [['create', [{ type: 'email', value: 'short@example.com' }]]],
    });
    await until(
      () => s.contacts(),
      (people) => people.some((person) => person.names?.[0]?.unstructuredName === 'Short Lived'),
      { what: 'the contact created by the background round', timeoutMs: BACKGROUND_MS },
    );
    await s.call('model.party.party.write', [[party], { active: false }, {}]);
    await until(
      () => s.contacts(),
      (people) => !people.some((person) => person.names?.[0]?.unstructuredName === 'Short Lived'),
      { what: 'the contact deleted by the background round', timeoutMs: BACKGROUND_MS },
    );
  });

  it("queues a round for a save during which the account's round ended (Tryton's repeatable read)", async () => {
    // The keyed job in the account's queue cannot be upserted: one without key and queue is added.
    const added = await jobsQueuedWhileARoundEnds(
      s.stack.db,
      `contacts:${s.credentialId}`,
      'sync_contacts',
      { credential_id: s.credentialId },
      (trx) => trx.raw('SELECT google_integration_queue_contacts(?)', [s.credentialId]),
    );
    expect(added).toEqual([{ key: null, queue_name: null }]);
  });

  it('merges edits of both sides field by field: the later edit wins, the other is kept for Apply', async () => {
    const party = await s.createParty({
      name: 'Both Sides',
      contact_mechanisms: [['create', [{ type: 'email', value: 'both@example.com' }]]],
    });
    const synced = () =>
      s.stack.db('google_integration_party_contact').where({ party, credential: s.credentialId }).first();
    const { resource_name: resourceName } = await until(synced, (row) => row?.sync_status === 'synced', {
      what: 'the party pushed',
      timeoutMs: BACKGROUND_MS,
    });
    await s.editAtGoogle(resourceName, {
      names: [{ unstructuredName: 'Both Sides at Google' }],
      urls: [{ value: 'https://both.example.com' }],
    });
    // Later than Google's edit: Tryton's name wins; Google's website (changed there only) is taken.
    await s.call('model.party.party.write', [[party], { name: 'Both Sides in Tryton' }, {}]);
    const [conflict] = await until(
      () => s.stack.db('google_integration_contact_conflict').where({ party, credential: s.credentialId }),
      (rows) => rows.length === 1,
      { what: 'the conflict of the background round', timeoutMs: BACKGROUND_MS },
    );
    expect(conflict).toMatchObject({ kind: 'edit', winner: 'tryton', fields: 'name', state: 'open' });
    expect(JSON.parse(conflict.lost)).toEqual({ name: 'Both Sides at Google' });
    await s.quiet();
    const atGoogle = async () => (await s.contacts()).find((person) => person.resourceName === resourceName);
    expect((await atGoogle())?.names?.[0]?.unstructuredName).toBe('Both Sides in Tryton');
    const website = await s.call('model.party.contact_mechanism.search', [
      [
        ['party', '=', party],
        ['type', '=', 'website'],
      ],
      0,
      null,
      null,
      {},
    ]);
    expect(website).toHaveLength(1);

    // An admin applies the losing version: Tryton takes it, and pushes it like any edit.
    await s.call('model.google_integration.contact_conflict.apply', [[conflict.id], {}]);
    await until(atGoogle, (person) => person?.names?.[0]?.unstructuredName === 'Both Sides at Google', {
      what: 'the applied version at Google',
      timeoutMs: BACKGROUND_MS,
    });
    expect((await s.party(party)).name).toBe('Both Sides at Google');
    const metrics = await (await fetch(`${s.stack.sidecar.url}/metrics`)).text();
    expect(metrics).toMatch(/tryton_google_contacts_changes_total\{change="conflicts"\} [1-9]/);
  });

  it('changes a contact from what Google holds: what Tryton does not keep stays at Google', async () => {
    const [made] = await s.addAtGoogle([
      {
        names: [{ unstructuredName: 'Katherine Johnson' }],
        emailAddresses: [{ value: 'katherine@example.com', type: 'work' }],
        organizations: [{ name: 'NACA', title: 'Mathematician' }],
        urls: [
          { value: 'https://katherine.example.com', type: 'homePage' },
          { value: 'https://blog.katherine.example.com', type: 'blog' },
        ],
        addresses: [
          {
            type: 'work',
            streetAddress: '1 Langley Boulevard',
            extendedAddress: 'Building 1244',
            city: 'Hampton',
            region: 'VA',
            postalCode: '23681',
            countryCode: 'US',
          },
        ],
      },
    ]);
    expect(await s.sync()).toMatchObject({ created: 1 });
    const [party] = await byName('Katherine Johnson');
    const before = (await s.peopleCalls())['people.getBatchGet'] ?? 0;
    // Tryton changes only what it keeps; the background round pushes it.
    await s.call('model.party.party.write', [[party], { name: 'Katherine G. Johnson' }, {}]);
    const atGoogle = async () =>
      (await s.contacts()).find((person) => person.resourceName === made.resourceName);
    const changed = await until(
      atGoogle,
      (person) => person?.names?.[0]?.unstructuredName === 'Katherine G. Johnson',
      {
        what: "Tryton's name at Google",
        timeoutMs: BACKGROUND_MS,
      },
    );
    // Read as Google held it before the change, not rebuilt from Tryton's values alone.
    expect((await s.peopleCalls())['people.getBatchGet']).toBeGreaterThan(before);
    expect(changed?.addresses).toEqual([
      expect.objectContaining({
        type: 'work',
        streetAddress: '1 Langley Boulevard',
        extendedAddress: 'Building 1244',
        region: 'VA',
        city: 'Hampton',
      }),
    ]);
    expect(changed?.emailAddresses).toEqual([
      expect.objectContaining({ value: 'katherine@example.com', type: 'work' }),
    ]);
    expect(changed?.organizations).toEqual([
      expect.objectContaining({ name: 'NACA', title: 'Mathematician' }),
    ]);
    expect(changed?.urls?.map((url: { value: string }) => url.value)).toEqual([
      'https://katherine.example.com',
      'https://blog.katherine.example.com',
    ]);
    await s.quiet();
    expect(await s.sync()).toMatchObject({ created: 0, updated: 0, pushed: 0 });
  });

  it('holds a round that would delete too much of the account until an admin allows it', async () => {
    const made = await s.addAtGoogle(
      Array.from({ length: 12 }, (_, index) => ({ names: [{ unstructuredName: `Bulk ${index}` }] })),
    );
    expect(await s.sync()).toMatchObject({ created: 12 });
    for (const person of made.slice(0, 10)) await s.deleteAtGoogle(person.resourceName);
    const held = await s.sync();
    expect(held).toMatchObject({ held: 10, archived: 0 });
    const credential = await s.stack.row(s.credentialId);
    expect(credential).toMatchObject({ contacts_status: 'held', contacts_held_deletions: 10 });
    expect(credential.contacts_last_error).toMatch(/Allow Deletions/);
    expect(await byName('Bulk 0')).toHaveLength(1);
    expect((await s.party((await byName('Bulk 0'))[0] as number)).active).toBe(true);
    // The same deletions come again: the round kept the token it started from.
    expect(await s.sync()).toMatchObject({ held: 10 });

    await s.call('model.google_integration.google_credentials.allow_deletions', [[s.credentialId], {}]);
    expect(await s.sync()).toMatchObject({ archived: 10, held: 0 });
    expect((await s.stack.row(s.credentialId)).contacts_status).toBe('ok');
    expect((await s.stack.row(s.credentialId)).contacts_allowed_deletions).toBe(0);
  });

  it('answers service_not_enabled for a credential without Contacts, and tryton_unreachable without TRYTOND_URL', async () => {
    const calendarOnly = await s.stack.authorizedCredential('calendar.only@example.com');
    const refused = await s.stack.rpc('contacts.sync', { credential_id: calendarOnly });
    expect(refused.error).toMatchObject({ code: -32011, data: { type: 'service_not_enabled' } });

    await s.quiet();
    // A change at Google: the round must write a party, so it must reach Tryton.
    await s.addAtGoogle([{ names: [{ unstructuredName: 'Needs Tryton' }] }]);
    const other = await s.stack.startAnotherSidecar({ TRYTOND_URL: '', SIDECAR_PORT: '0' });
    const { call } = await import('../support/rpc.js');
    const answer = await call(other.url, 'contacts.sync', {
      database: s.stack.database,
      credential_id: s.credentialId,
    });
    expect(answer.error).toMatchObject({ code: -32012, data: { type: 'tryton_unreachable' } });
    expect(answer.error?.message).toMatch(/TRYTOND_URL/);
    await other.stop();
    expect(await s.sync()).toMatchObject({ created: 1 });
  });

  it('gives up on a trytond that does not answer within the timeout, holding nothing meanwhile', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as { port: number };
    const other = await s.stack.startAnotherSidecar({
      TRYTOND_URL: `http://127.0.0.1:${port}`,
      TRYTOND_TIMEOUT: '0.5',
      SIDECAR_PORT: '0',
    });
    await s.quiet();
    await s.addAtGoogle([{ names: [{ unstructuredName: 'Waiting For Tryton' }] }]);
    const { call } = await import('../support/rpc.js');
    const started = performance.now();
    const answer = await call(other.url, 'contacts.sync', {
      database: s.stack.database,
      credential_id: s.credentialId,
    });
    expect(answer.error).toMatchObject({ code: -32012, data: { type: 'tryton_unreachable' } });
    expect(answer.error?.message).toMatch(/no answer within 0.5 s/);
    expect(performance.now() - started).toBeLessThan(5_000);
    await other.stop();
    for (const socket of sockets) socket.destroy();
    silent.close();
    // Nothing was taken: the next round (with trytond reachable) brings the contact in.
    expect(await s.sync()).toMatchObject({ created: 1 });
    expect(await byName('Waiting For Tryton')).toHaveLength(1);
  });
});
