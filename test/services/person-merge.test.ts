/**
 * An update of a contact changes the synchronized values over what Google holds (docs/contracts.md,
 * "What is synchronized"): the fields it replaces whole keep what Tryton does not store, and reading
 * the change back gives the values pushed. Pure, in memory.
 */
import type { people_v1 } from '@googleapis/people';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContactValues } from '../../src/services/contacts/contact-values.js';
import { sameContactValues } from '../../src/services/contacts/contact-values.js';
import { personOfValues, valuesOfPerson } from '../../src/services/contacts/person-mapping.js';
import { changedPerson } from '../../src/services/contacts/person-merge.js';
import { loadPhoneNumbers } from '../../src/services/contacts/phone-numbers.js';

const metadata = { primary: true, source: { type: 'CONTACT', id: 'c1' } };
const office: people_v1.Schema$Address = {
  metadata,
  type: 'work',
  streetAddress: '1 Navy Way',
  extendedAddress: 'Building 4',
  city: 'Arlington',
  region: 'VA',
  postalCode: '22202',
  countryCode: 'US',
  country: 'United States',
  formattedValue: '1 Navy Way\nBuilding 4\nArlington, VA 22202\nUnited States',
};
/** A contact as a phone's address book fills it: more than Tryton keeps in every synchronized field. */
const held: people_v1.Schema$Person = {
  resourceName: 'people/c1',
  etag: '%Eg0BAgMEBQYHCAkKCwwNGgQBAgUH',
  names: [
    {
      metadata,
      unstructuredName: 'Dr. Grace Hopper',
      honorificPrefix: 'Dr.',
      givenName: 'Grace',
      familyName: 'Hopper',
      displayName: 'Dr. Grace Hopper',
    },
  ],
  organizations: [{ metadata, name: 'Navy', title: 'Rear Admiral', department: 'Computing' }],
  emailAddresses: [
    { metadata, value: 'Grace@Example.com', type: 'home', displayName: 'Grace' },
    { metadata, value: 'hopper@navy.example', type: 'work' },
  ],
  phoneNumbers: [
    { metadata, value: '(202) 555-0143', canonicalForm: '+12025550143', type: 'main', formattedType: 'Main' },
    { metadata, value: '+1 202 555 0199', canonicalForm: '+12025550199', type: 'mobile' },
  ],
  urls: [
    { metadata, value: 'https://grace.example', type: 'homePage' },
    { metadata, value: 'https://blog.grace.example', type: 'blog' },
  ],
  addresses: [office, { metadata, type: 'home', region: 'NY' }],
};

let values: ContactValues;

beforeAll(async () => {
  await loadPhoneNumbers();
  values = valuesOfPerson(held, new Map());
});

describe('a change over what Google holds', () => {
  it('sends back what Google holds when nothing synchronized changed', () => {
    const person = changedPerson(held, values);
    expect(person.names).toBe(held.names);
    expect(person.organizations).toBe(held.organizations);
    expect(person.emailAddresses).toEqual(held.emailAddresses);
    expect(person.phoneNumbers).toEqual(held.phoneNumbers);
    expect(person.urls).toBe(held.urls);
    expect(person.addresses).toEqual(held.addresses);
  });

  it("keeps an address's region, extended address and type, composing its text again", () => {
    const moved = {
      ...values,
      addresses: [{ ...(values.addresses[0] as ContactValues['addresses'][number]), street: '2 Navy Way' }],
    };
    const [address, regionOnly, ...rest] = changedPerson(held, moved).addresses ?? [];
    // The one-text form goes (Google composes it again); everything else stays.
    const { formattedValue: _composed, ...kept } = office;
    expect(address).toEqual({ ...kept, streetAddress: '2 Navy Way', poBox: null });
    // Not one Tryton takes (no synchronized part): kept, after the synchronized ones.
    expect(regionOnly).toEqual({ metadata, type: 'home', region: 'NY' });
    expect(rest).toEqual([]);
  });

  it("drops the country's name with a changed country code", () => {
    const abroad = {
      ...values,
      addresses: [{ ...(values.addresses[0] as ContactValues['addresses'][number]), country: 'CA' }],
    };
    const [address] = changedPerson(held, abroad).addresses ?? [];
    expect(address?.countryCode).toBe('CA');
    expect(address).not.toHaveProperty('country');
    expect(address?.region).toBe('VA');
  });

  it('keeps the type and spelling of e-mails and phones that stay, types new ones', () => {
    const person = changedPerson(held, {
      ...values,
      emails: ['grace@example.com', 'cobol@example.org'],
      phones: [
        { type: 'phone', value: '+1 202-555-0143', e164: '+12025550143' },
        { type: 'fax', value: '+1 202 555 0100', e164: '+12025550100' },
      ],
    });
    expect(person.emailAddresses).toEqual([held.emailAddresses?.[0], { value: 'cobol@example.org' }]);
    expect(person.phoneNumbers).toEqual([
      held.phoneNumbers?.[0],
      { value: '+1 202 555 0100', type: 'workFax' },
    ]);
  });

  it("changes the organization's name alone, and its title stays when the name is cleared", () => {
    expect(changedPerson(held, { ...values, organization: 'US Navy' }).organizations).toEqual([
      { metadata, name: 'US Navy', title: 'Rear Admiral', department: 'Computing' },
    ]);
    expect(changedPerson(held, { ...values, organization: '' }).organizations).toEqual([
      { metadata, title: 'Rear Admiral', department: 'Computing' },
    ]);
    const nameOnly = { ...held, organizations: [{ metadata, name: 'Navy' }] };
    expect(changedPerson(nameOnly, { ...values, organization: '' }).organizations).toEqual([]);
  });

  it('changes or removes the first URL only', () => {
    expect(changedPerson(held, { ...values, website: 'https://hopper.example' }).urls).toEqual([
      { metadata, value: 'https://hopper.example', type: 'homePage' },
      held.urls?.[1],
    ]);
    expect(changedPerson(held, { ...values, website: '' }).urls).toEqual([held.urls?.[1]]);
  });

  it("sends the name's parts again only when the name changed", () => {
    expect(changedPerson(held, { ...values, name: 'Grace Brewster Hopper' }).names).toEqual([
      { unstructuredName: 'Grace Brewster Hopper' },
    ]);
  });

  it('reads back as the values pushed, whatever changed', () => {
    const pushed: ContactValues = {
      ...values,
      name: 'Grace Brewster Hopper',
      organization: '',
      emails: ['cobol@example.org'],
      phones: [{ type: 'mobile', value: '+1 202 555 0199', e164: '+12025550199' }],
      website: '',
      addresses: [],
    };
    const person = changedPerson(held, pushed);
    // What Google would answer: the one-text forms it composes are not synchronized values.
    expect(
      sameContactValues(valuesOfPerson(person, new Map()), {
        ...pushed,
        website: 'https://blog.grace.example',
      }),
    ).toBe(true);
  });

  it('is the values alone when Google holds nothing known', () => {
    expect(changedPerson(undefined, values)).toEqual(personOfValues(values));
  });
});
