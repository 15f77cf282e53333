/**
 * The contact values and Google's person, both ways (docs/contracts.md, "Contacts synchronization"):
 * values compare by meaning, not spelling, so a round never writes a no-op change; and the
 * field-level merge the calendar uses decides contacts too. Pure, in memory.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Address,
  type ContactValues,
  type Phone,
  contactHash,
  contactValuesSchema,
  EMPTY_VALUES,
  sameContactValues,
} from '../../src/services/contacts/contact-values.js';
import { decideContact } from '../../src/services/contacts/decide-contact.js';
import {
  changedAt,
  e164,
  newPerson,
  personOfValues,
  stampedParty,
  valuesOfPerson,
} from '../../src/services/contacts/person-mapping.js';
import { loadPhoneNumbers } from '../../src/services/contacts/phone-numbers.js';

const ada: ContactValues = {
  name: 'Ada Lovelace',
  organization: 'Analytical Engines',
  emails: ['ada@example.com', 'countess@example.org'],
  phones: [
    { type: 'phone', value: '+32 2 123 45 67', e164: '+3221234567' },
    { type: 'mobile', value: '+32 475 12 34 56', e164: '+32475123456' },
  ],
  website: 'https://ada.example.com',
  addresses: [{ street: 'Rue Neuve 1', post_box: '', postal_code: '1000', city: 'Brussels', country: 'BE' }],
  groups: ['Customers', 'Region / North'],
};
const [workPhone] = ada.phones as [Phone];
const [address] = ada.addresses as [Address];
const groups = new Map([
  ['contactGroups/1a', 'Customers'],
  ['contactGroups/2b', 'Region / North'],
]);

beforeAll(loadPhoneNumbers);

describe('contact values', () => {
  it('compare by meaning: set order, case of e-mails, phone spelling, blanks', () => {
    const respelled: ContactValues = {
      ...ada,
      name: ' Ada Lovelace ',
      emails: ['COUNTESS@example.org', 'ada@example.com'],
      phones: [
        { type: 'mobile', value: '0475 12 34 56', e164: '+32475123456' },
        { type: 'phone', value: '+3221234567', e164: '+3221234567' },
      ],
      groups: ['Region / North', 'Customers'],
      addresses: [{ ...address, country: 'be' } as ContactValues['addresses'][number]],
    };
    expect(sameContactValues(ada, respelled)).toBe(true);
    expect(contactHash(ada)).toBe(contactHash(respelled));
    expect(sameContactValues(ada, { ...ada, phones: [workPhone] })).toBe(false);
    expect(contactHash(ada)).not.toBe(contactHash({ ...ada, groups: ['Customers'] }));
  });

  it("read the route's JSON strictly, trimming texts and taking null as empty", () => {
    expect(contactValuesSchema.parse({ ...ada, name: null, website: '  w  ' })).toMatchObject({
      name: '',
      website: 'w',
    });
    expect(
      contactValuesSchema.safeParse({ ...ada, phones: [{ type: 'pager', value: '1', e164: '1' }] }).success,
    ).toBe(false);
  });
});

describe("Google's person", () => {
  it('round-trips the synchronized fields', () => {
    const person = {
      ...newPerson(ada, 'db1:7', new Map([...groups].map(([id, name]) => [name, id]))),
      resourceName: 'people/c1',
    };
    person.phoneNumbers = (person.phoneNumbers ?? []).map((phone) => ({
      ...phone,
      canonicalForm: e164(phone.value ?? ''),
    }));
    expect(sameContactValues(valuesOfPerson(person, groups), ada)).toBe(true);
    expect(stampedParty(person, 'db1')).toBe(7);
    expect(stampedParty(person, 'db2')).toBeUndefined();
    expect(person.memberships?.[0]?.contactGroupMembership?.contactGroupResourceName).toBe(
      'contactGroups/myContacts',
    );
  });

  it("reads Google's phone types, display names and system groups as Tryton keeps them", () => {
    const values = valuesOfPerson(
      {
        names: [{ displayName: 'Grace Hopper' }],
        phoneNumbers: [
          { value: '+1 202 555 0101', type: 'home' },
          { value: '+1 202 555 0102', type: 'workMobile' },
          { value: '+1 202 555 0103', type: 'homeFax' },
          { value: 'ask the desk', type: 'other' },
        ],
        memberships: [
          { contactGroupMembership: { contactGroupResourceName: 'contactGroups/myContacts' } },
          { contactGroupMembership: { contactGroupResourceName: 'contactGroups/1a' } },
        ],
        addresses: [{ streetAddress: 'Main St 1', region: 'DC', countryCode: 'us' }],
      },
      groups,
    );
    expect(values.name).toBe('Grace Hopper');
    expect(values.phones.map((phone) => [phone.type, phone.e164])).toEqual([
      ['phone', '+12025550101'],
      ['mobile', '+12025550102'],
      ['fax', '+12025550103'],
      ['phone', ''],
    ]);
    expect(values.groups).toEqual(['Customers']);
    expect(values.addresses).toEqual([
      { street: 'Main St 1', post_box: '', postal_code: '', city: '', country: 'US' },
    ]);
  });

  it('writes only the synchronized fields, empty lists clearing them', () => {
    const person = personOfValues(EMPTY_VALUES);
    expect(Object.keys(person).sort()).toEqual(
      ['addresses', 'emailAddresses', 'names', 'organizations', 'phoneNumbers', 'urls'].sort(),
    );
    expect(person.names).toEqual([]);
  });

  it("takes the CONTACT source time as the time of Google's edit", () => {
    expect(
      changedAt({
        metadata: {
          sources: [
            { type: 'PROFILE', updateTime: '2026-01-01T00:00:00Z' },
            { type: 'CONTACT', updateTime: '2026-12-03T08:00:00Z' },
          ],
        },
      })?.toISOString(),
    ).toBe('2026-12-03T08:00:00.000Z');
  });
});

describe('the merge of contacts (the calendar decision over contact fields)', () => {
  const base = ada;
  it('takes a field changed on one side only, and keeps a conflict when both changed it', () => {
    const local = { ...ada, phones: [workPhone], name: 'Ada King' };
    const remote = { ...ada, website: 'https://new.example.com', name: 'Ada, Countess of Lovelace' };
    const decision = decideContact({
      base,
      local: { kind: 'present', values: local, pending: true, changedAt: new Date('2026-12-03T09:00:00Z') },
      remote: { kind: 'present', values: remote, changedAt: new Date('2026-12-03T08:00:00Z') },
    });
    expect(decision.action).toBe('write-google');
    if (decision.action !== 'write-google') return;
    expect(decision.values.name).toBe('Ada King');
    expect(decision.values.website).toBe('https://new.example.com');
    expect(decision.values.phones).toHaveLength(1);
    expect(decision.conflict).toMatchObject({ kind: 'edit', winner: 'tryton', fields: ['name'] });
    expect(decision.trytonToo).toBe(true);
  });

  it('archives on a deletion at Google, keeping an edited version in a conflict', () => {
    const decision = decideContact({
      base,
      local: { kind: 'present', values: { ...ada, name: 'Edited' }, pending: true, changedAt: null },
      remote: { kind: 'deleted' },
    });
    expect(decision).toMatchObject({
      action: 'delete-tryton',
      conflict: { kind: 'delete', winner: 'google' },
    });
  });

  it('writes nothing when the values differ only in spelling', () => {
    const decision = decideContact({
      base,
      local: { kind: 'present', values: ada, pending: false, changedAt: null },
      remote: { kind: 'present', values: { ...ada, emails: [...ada.emails].reverse() }, changedAt: null },
    });
    expect(decision.action).toBe('none');
  });
});
