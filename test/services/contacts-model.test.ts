/**
 * Model-based property test of the contacts sync (fast-check `commands`) over both real sides:
 * parties created, renamed, re-numbered, archived and merged (Tryton's Replace wizard) through
 * Tryton's ORM (trytond's JSON-RPC, as the web client does), and contacts created, edited, deleted,
 * renamed (linked to a profile) and moved between groups at Google through the emulator; expired
 * sync tokens, Google's propagation delay, 5xx and rate-limit answers; rounds asked for by Sync Now
 * while the rounds Tryton's saves queue run in the background.
 *
 * After the faults end and two quiet rounds: every contact of the account is linked to exactly one
 * active party and every linked party to exactly one contact (no duplicate on either side); both hold
 * the same name, e-mails and phones; every party in scope has its contact; a contact deleted at
 * Google left its party archived, a party archived or merged away left no contact; and one more round
 * makes one list call and writes nothing on either side. Each run uses an account, a party category
 * (the credential's scope) and a credential of its own. Seeded: FUZZ_SEED / CONTACTS_RUNS override.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noChanges } from '../../src/services/contacts/counts.js';
import { type ContactsStack, startContactsStack } from '../support/contacts-stack.js';
import { emulatorControl } from '../support/emulator-client.js';
import { TrytonError } from '../support/trytond.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.CONTACTS_RUNS ?? 10);
const DELAY_MS = 120_000;

let s: ContactsStack;
let admin: number;
let runs = 0;
const rounds = { ok: 0, failed: 0 };
/** What the commands did (a command that found nothing to act on does nothing), to show runs are not empty. */
const done: Record<string, number> = {};
const count = (what: string) => {
  done[what] = (done[what] ?? 0) + 1;
};

beforeAll(async () => {
  s = await startContactsStack({ email: 'model.main@example.com' });
  [admin] = await s.call('model.res.user.search', [[['login', '=', 'admin']], 0, 1, null, {}]);
}, 240_000);

afterAll(async () => {
  await s?.stop();
});

/** One run's world: its account, category and credential, and what the commands did. */
interface Real {
  readonly email: string;
  readonly credential: number;
  readonly category: number;
  readonly group: string;
  /** Parties made in Tryton, by creation order. */
  readonly parties: number[];
  /** Contacts made at Google (their current resource names). */
  readonly contacts: string[];
  /** Parties whose contact was deleted at Google, and parties archived or merged away in Tryton. */
  readonly deletedAtGoogle: Set<number>;
  readonly goneInTryton: Set<number>;
  delayed: boolean;
}
type Model = Record<string, never>;
type Command = fc.AsyncCommand<Model, Real>;

const accountPath = (real: Real) => `/people/accounts/${encodeURIComponent(real.email)}`;

const control = (method: string, path: string, body?: unknown): Promise<any> =>
  emulatorControl(s.stack.emulator.url)(path, method, body);

/** A change of a contact the commands may have deleted already: null when it is gone (404). */
const ifPresent = <T>(change: Promise<T>): Promise<T | null> =>
  change.catch((error: Error) => {
    if (/: 404 /.test(error.message)) return null;
    throw error;
  });

/** The party's contact at Google through this run's credential, from Tryton's row. */
async function resourceOf(real: Real, party: number): Promise<string | undefined> {
  const row = await s.stack
    .db('google_integration_party_contact')
    .where({ party, credential: real.credential })
    .first('resource_name');
  return row?.resource_name ?? undefined;
}

/** The party linked to a contact, from Tryton's rows. */
async function partyOf(real: Real, resourceName: string): Promise<number | undefined> {
  const row = await s.stack
    .db('google_integration_party_contact')
    .where({ resource_name: resourceName, credential: real.credential })
    .first('party');
  return row?.party ?? undefined;
}

async function pickResource(real: Real, pick: number): Promise<string | undefined> {
  const candidates = [
    ...real.contacts,
    ...(await Promise.all(real.parties.map((party) => resourceOf(real, party)))).filter(
      (name): name is string => !!name,
    ),
  ];
  return candidates.length === 0 ? undefined : candidates[pick % candidates.length];
}

const active = async (party: number) =>
  ((await s.call('model.party.party.read', [[party], ['active'], { active_test: false }])) as any[])[0]
    ?.active === true;

class TrytonCreate implements Command {
  constructor(
    readonly name: string,
    readonly phone: boolean,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const index = real.parties.length;
    const mechanisms = [{ type: 'email', value: `${this.name.toLowerCase()}.${index}@example.com` }];
    if (this.phone)
      mechanisms.push({ type: 'phone', value: `+3222${String(345600 + index).padStart(6, '0')}` });
    real.parties.push(
      await s.createParty({
        name: `${this.name} ${index}`,
        categories: [['add', [real.category]]],
        contact_mechanisms: [['create', mechanisms]],
      }),
    );
  }
  toString = () => `TrytonCreate(${this.name}, phone: ${this.phone})`;
}

class TrytonRename implements Command {
  constructor(
    readonly pick: number,
    readonly name: string,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const party = real.parties[this.pick % Math.max(1, real.parties.length)];
    if (party === undefined || !(await active(party))) return;
    await s.call('model.party.party.write', [[party], { name: this.name }, {}]);
  }
  toString = () => `TrytonRename(#${this.pick}, ${this.name})`;
}

class TrytonPhone implements Command {
  constructor(
    readonly pick: number,
    readonly number: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const party = real.parties[this.pick % Math.max(1, real.parties.length)];
    if (party === undefined || !(await active(party))) return;
    const value = `+32475${String(this.number).padStart(6, '0')}`;
    const [phone] = (await s.call('model.party.contact_mechanism.search', [
      [
        ['party', '=', party],
        ['type', 'in', ['phone', 'mobile']],
      ],
      0,
      1,
      null,
      {},
    ])) as number[];
    if (phone) await s.call('model.party.contact_mechanism.write', [[phone], { type: 'mobile', value }, {}]);
    else await s.call('model.party.contact_mechanism.create', [[{ party, type: 'mobile', value }], {}]);
  }
  toString = () => `TrytonPhone(#${this.pick}, ${this.number})`;
}

class TrytonArchive implements Command {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const party = real.parties[this.pick % Math.max(1, real.parties.length)];
    if (party === undefined || !(await active(party))) return;
    await s.call('model.party.party.write', [[party], { active: false }, {}]);
    real.goneInTryton.add(party);
    count('archived in Tryton');
  }
  toString = () => `TrytonArchive(#${this.pick})`;
}

/** Tryton's Replace wizard: the source archived, replaced by the destination. */
class TrytonMerge implements Command {
  constructor(
    readonly source: number,
    readonly destination: number,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const source = real.parties[this.source % Math.max(1, real.parties.length)];
    const destination = real.parties[this.destination % Math.max(1, real.parties.length)];
    if (source === undefined || destination === undefined || source === destination) return;
    if (!(await active(source)) || !(await active(destination))) return;
    // The wizard warns when the names differ; the user confirms, as in the client.
    await s.call('model.res.user.warning.create', [
      [{ user: admin, name: `party.replace name ${source} ${destination}`, always: false }],
      {},
    ]);
    const [session] = await s.call('wizard.party.replace.create', [{}]);
    try {
      await s.call('wizard.party.replace.execute', [
        session,
        { ask: { source, destination } },
        'replace',
        { active_model: 'party.party', active_id: source, active_ids: [source] },
      ]);
    } finally {
      await s.call('wizard.party.replace.delete', [session, {}]);
    }
    real.goneInTryton.add(source);
    count('merged in Tryton');
  }
  toString = () => `TrytonMerge(#${this.source} -> #${this.destination})`;
}

class GoogleCreate implements Command {
  constructor(readonly name: string) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const index = real.contacts.length;
    const answer = await control('POST', `${accountPath(real)}/contacts`, {
      contacts: [
        {
          names: [{ unstructuredName: `${this.name} G${index}` }],
          emailAddresses: [{ value: `${this.name.toLowerCase()}.g${index}@example.org` }],
        },
      ],
      delayed: real.delayed,
    });
    real.contacts.push(answer.items[0].resourceName);
  }
  toString = () => `GoogleCreate(${this.name})`;
}

class GoogleEdit implements Command {
  constructor(
    readonly pick: number,
    readonly name: string,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const resourceName = await pickResource(real, this.pick);
    if (!resourceName) return;
    const path = `${accountPath(real)}/contacts/${encodeURIComponent(resourceName)}`;
    if ((await ifPresent(control('PATCH', path, { names: [{ unstructuredName: this.name }] }))) === null)
      return;
    count('edited at Google');
  }
  toString = () => `GoogleEdit(#${this.pick}, ${this.name})`;
}

class GoogleDelete implements Command {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const resourceName = await pickResource(real, this.pick);
    if (!resourceName) return;
    const answer = await ifPresent(
      control('DELETE', `${accountPath(real)}/contacts/${encodeURIComponent(resourceName)}`),
    );
    if (answer === null) return;
    const party = await partyOf(real, resourceName);
    if (party !== undefined) real.deletedAtGoogle.add(party);
    count('deleted at Google');
    const index = real.contacts.indexOf(resourceName);
    if (index >= 0) real.contacts.splice(index, 1);
  }
  toString = () => `GoogleDelete(#${this.pick})`;
}

/** The contact linked to a profile: a new resource name, the old one in previousResourceNames. */
class GoogleRename implements Command {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const resourceName = await pickResource(real, this.pick);
    if (!resourceName) return;
    const answer = await ifPresent(
      control('POST', `${accountPath(real)}/contacts/${encodeURIComponent(resourceName)}/rename`, {}),
    );
    if (answer === null) return;
    const index = real.contacts.indexOf(resourceName);
    if (index >= 0) real.contacts[index] = answer.resourceName;
    count('renamed at Google');
  }
  toString = () => `GoogleRename(#${this.pick})`;
}

/** A contact put into (or taken out of) the run's user group, which is a party category in Tryton. */
class GoogleGroup implements Command {
  constructor(
    readonly pick: number,
    readonly join: boolean,
  ) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    const resourceName = await pickResource(real, this.pick);
    if (!resourceName) return;
    const memberships = [
      { contactGroupMembership: { contactGroupResourceName: 'contactGroups/myContacts' } },
    ];
    if (this.join) memberships.push({ contactGroupMembership: { contactGroupResourceName: real.group } });
    const path = `${accountPath(real)}/contacts/${encodeURIComponent(resourceName)}`;
    if ((await ifPresent(control('PATCH', path, { memberships }))) === null) return;
    count('groups changed at Google');
  }
  toString = () => `GoogleGroup(#${this.pick}, ${this.join ? 'join' : 'leave'})`;
}

class ExpireToken implements Command {
  check = () => true;
  async run(_model: Model, real: Real) {
    await control('POST', '/people/sync-tokens/expire', { email: real.email });
  }
  toString = () => 'ExpireToken';
}

/** Google's listings lag its writes by two minutes from now on (or no longer). */
class Propagation implements Command {
  constructor(readonly on: boolean) {}
  check = () => true;
  async run(_model: Model, real: Real) {
    real.delayed = this.on;
    await control('POST', '/people/settings', { propagationDelayMs: this.on ? DELAY_MS : 0 });
  }
  toString = () => `Propagation(${this.on ? 'delayed' : 'immediate'})`;
}

class Fault implements Command {
  constructor(
    readonly status: 429 | 500 | 503,
    readonly count: number,
  ) {}
  check = () => true;
  async run() {
    await control('POST', '/failures', { endpoint: 'people', status: this.status, count: this.count });
  }
  toString = () => `Fault(${this.status} x${this.count})`;
}

class Round implements Command {
  check = () => true;
  async run(_model: Model, real: Real) {
    const answer = await s.syncOf(real.credential);
    if (answer.error) rounds.failed++;
    else rounds.ok++;
  }
  toString = () => 'Round';
}

const names = fc.constantFrom('Ada', 'Grace', 'Edsger', 'Barbara', 'Alan', 'Margaret');
const pick = fc.nat(20);
const commands = [
  fc.tuple(names, fc.boolean()).map(([name, phone]) => new TrytonCreate(name, phone)),
  fc.tuple(pick, names).map(([index, name]) => new TrytonRename(index, `${name} renamed in Tryton`)),
  fc.tuple(pick, fc.nat(999_999)).map(([index, number]) => new TrytonPhone(index, number)),
  pick.map((index) => new TrytonArchive(index)),
  fc.tuple(pick, pick).map(([source, destination]) => new TrytonMerge(source, destination)),
  names.map((name) => new GoogleCreate(name)),
  fc.tuple(pick, names).map(([index, name]) => new GoogleEdit(index, `${name} edited at Google`)),
  pick.map((index) => new GoogleDelete(index)),
  pick.map((index) => new GoogleRename(index)),
  fc.tuple(pick, fc.boolean()).map(([index, join]) => new GoogleGroup(index, join)),
  fc.constant(new ExpireToken()),
  fc.boolean().map((on) => new Propagation(on)),
  fc
    .tuple(fc.constantFrom<429 | 500 | 503>(429, 500, 503), fc.integer({ min: 1, max: 2 }))
    .map(([status, count]) => new Fault(status, count)),
  fc.constant(new Round()),
  fc.constant(new Round()),
  fc.constant(new Round()),
];

async function newRun(): Promise<Real> {
  runs++;
  const email = `model.run${runs}@example.com`;
  const [category] = await s.call('model.party.category.create', [[{ name: `Model run ${runs}` }], {}]);
  const credential = await s.addCredential(email, {
    contacts_scope: 'categories',
    contacts_categories: [['add', [category]]],
    // The guard is tested on its own (contacts-sync.test.ts): here every deletion goes through.
    contacts_deletion_limit: 100,
  });
  const group = await control('POST', `${accountPath({ email } as Real)}/groups`, {
    name: `Model group ${runs}`,
  });
  const real: Real = {
    email,
    credential,
    category,
    group: group.resourceName,
    parties: [],
    contacts: [],
    deletedAtGoogle: new Set(),
    goneInTryton: new Set(),
    delayed: false,
  };
  // Something on both sides to act on from the first command: two parties, two contacts, a round.
  await new TrytonCreate('Seed', true).run({}, real);
  await new TrytonCreate('Seed', false).run({}, real);
  await new GoogleCreate('Seeded').run({}, real);
  await new GoogleCreate('Seeded').run({}, real);
  await new Round().run({}, real);
  return real;
}

/** The faults end, what Google delayed becomes visible, and the background rounds are done. */
async function settle(real: Real): Promise<void> {
  await control('DELETE', '/failures');
  await control('POST', '/people/settings', { propagationDelayMs: 0 });
  if (real.delayed || (await control('GET', `${accountPath(real)}/contacts`)).pending.length > 0)
    await control('POST', '/clock', { advance_ms: DELAY_MS + 10_000 });
  await s.quiet();
  for (let round = 0; round < 2; round++) {
    const answer = await s.syncOf(real.credential);
    if (answer.error) throw new Error(`a quiet round failed: ${JSON.stringify(answer.error)}`);
  }
  await s.quiet();
}

interface Side {
  readonly name: string;
  readonly emails: string[];
  readonly phones: string[];
}

async function googleSide(real: Real): Promise<Map<string, Side>> {
  const body = await control('GET', `${accountPath(real)}/contacts`);
  return new Map(
    (body.items as any[]).map((person) => [
      person.resourceName,
      {
        name: person.names?.[0]?.unstructuredName ?? person.names?.[0]?.displayName ?? '',
        emails: (person.emailAddresses ?? []).map((email: any) => String(email.value).toLowerCase()).sort(),
        phones: (person.phoneNumbers ?? []).map((phone: any) => phone.canonicalForm ?? phone.value).sort(),
      },
    ]),
  );
}

async function trytonSide(party: number): Promise<Side & { active: boolean }> {
  const [row] = await s.call('model.party.party.read', [[party], ['name', 'active'], { active_test: false }]);
  const mechanisms = (await s.call('model.party.contact_mechanism.search_read', [
    [
      ['party', '=', party],
      ['active', '=', true],
    ],
    0,
    null,
    null,
    ['type', 'value', 'value_compact'],
    {},
  ])) as Array<{ type: string; value: string; value_compact: string }>;
  return {
    name: row.name ?? '',
    active: row.active,
    emails: mechanisms
      .filter((m) => m.type === 'email')
      .map((m) => m.value.toLowerCase())
      .sort(),
    phones: mechanisms
      .filter((m) => ['phone', 'mobile', 'fax'].includes(m.type))
      .map((m) => m.value_compact)
      .sort(),
  };
}

/** Writes both sides hold: Tryton's parties' write dates, and Google's contacts as listed. */
async function fingerprint(real: Real): Promise<string> {
  const rows = await s.stack.db('google_integration_party_contact').where({ credential: real.credential });
  const parties = await s.stack
    .db('party_party')
    .whereIn(
      'id',
      rows.map((row) => row.party).filter((party) => party !== null),
    )
    .select('id', 'write_date')
    .orderBy('id');
  const google = await control('GET', `${accountPath(real)}/contacts`);
  return JSON.stringify({ parties, google: google.items.map((person: any) => person.etag) });
}

describe('the contacts sync, model-based', () => {
  it(`ends with Tryton and Google alike, no duplicate, deletions as the rules say (${RUNS} seeded runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 16, size: 'large' }), async (sequence) => {
        const real = await newRun();
        try {
          await fc.asyncModelRun(() => ({ model: {}, real }), sequence);
        } catch (error) {
          // A command Tryton refused (e.g. a merge the wizard will not do) is not the sync's business.
          if (!(error instanceof TrytonError)) throw error;
        }
        await settle(real);
        const google = await googleSide(real);
        const rows = (await s.stack
          .db('google_integration_party_contact')
          .where({ credential: real.credential })
          .select('party', 'resource_name', 'sync_status')) as Array<{
          party: number | null;
          resource_name: string | null;
          sync_status: string;
        }>;
        const linked = rows.filter((row) => row.resource_name !== null && row.party !== null);
        // Every contact is linked to one party, every link names a contact: no duplicate either side.
        expect(linked.map((row) => row.resource_name).sort()).toEqual([...google.keys()].sort());
        expect(new Set(linked.map((row) => row.party)).size).toBe(linked.length);
        expect(rows.filter((row) => row.sync_status === 'pending_push')).toEqual([]);
        for (const row of linked) {
          const party = await trytonSide(row.party as number);
          expect(party.active, `party ${row.party} linked but archived`).toBe(true);
          const { active: _active, ...values } = party;
          expect(values, `party ${row.party} and ${row.resource_name}`).toEqual(
            google.get(row.resource_name as string),
          );
        }
        // Every active party in scope has its contact.
        for (const party of real.parties) {
          if (!(await active(party))) continue;
          expect(
            linked.some((row) => row.party === party),
            `party ${party} in scope has no contact`,
          ).toBe(true);
        }
        // Deleted at Google: archived in Tryton. Archived or merged away in Tryton: no contact left.
        for (const party of real.deletedAtGoogle) expect(await active(party), `party ${party}`).toBe(false);
        for (const party of real.goneInTryton)
          expect(
            linked.some((row) => row.party === party),
            `party ${party} gone in Tryton still has a contact`,
          ).toBe(false);
        // One more round: one list call, nothing written on either side.
        const before = await fingerprint(real);
        expect(await s.measuredRound(real.credential)).toEqual({ result: noChanges(), lists: 1, writes: 0 });
        expect(await fingerprint(real)).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `contacts model: ${RUNS} runs, ${rounds.ok} rounds succeeded, ${rounds.failed} failed under faults; ` +
        Object.entries(done)
          .map(([what, times]) => `${times} ${what}`)
          .join(', '),
    );
  }, 1_800_000);
});
