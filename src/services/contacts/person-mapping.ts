/**
 * Google's `people` resource and the contact values (contact-values.ts), both ways
 * (docs/contracts.md, "Contacts synchronization", the mapping table). Reading keeps only what Tryton
 * stores; writing sends only the synchronized fields, so whatever else a contact holds at Google
 * (photos, notes, birthdays) stays as it is, and an update changes them over what Google holds
 * (person-merge.ts). Pure.
 */
import type { people_v1 } from '@googleapis/people';
import { storableText } from '../calendar/texts.js';
import type { Address, ContactValues, Phone, PhoneType } from './contact-values.js';
import { parsePhoneNumber } from './phone-numbers.js';

/** What a listing asks for; changing it needs a planned full listing (the sync token remembers it). */
export const PERSON_FIELDS =
  'metadata,names,emailAddresses,phoneNumbers,addresses,organizations,urls,memberships,clientData';
/** The fields an update replaces; memberships go through contactGroups.members.modify instead. */
export const UPDATE_FIELDS = 'names,emailAddresses,phoneNumbers,addresses,organizations,urls';
/** The system group every contact the sidecar creates belongs to, as Google's own app does. */
export const MY_CONTACTS = 'contactGroups/myContacts';
/** The clientData key stamping the Tryton party of a contact the sidecar created. */
export const STAMP_KEY = 'tryton_party';

export const WRITE_PHONE_TYPE: Readonly<Record<PhoneType, string>> = {
  phone: 'work',
  mobile: 'mobile',
  fax: 'workFax',
};

export const clean = (value: string | null | undefined): string => (storableText(value) ?? '').trim();

export function phoneType(googleType: string | null | undefined): PhoneType {
  const type = (googleType ?? '').toLowerCase();
  if (type.includes('fax')) return 'fax';
  if (type.includes('mobile')) return 'mobile';
  return 'phone';
}

/**
 * E.164 as Tryton's value_compact holds it: Google's canonical form, else parsed, else the digits
 * (the contacts round loads the parser first, phone-numbers.ts).
 */
export function e164(value: string, canonicalForm?: string | null): string {
  if (canonicalForm) return canonicalForm;
  const parsed = parsePhoneNumber(value);
  if (parsed?.isValid()) return parsed.number;
  return value.replace(/[^\d+]/g, '');
}

/** The values of a person as Google holds them; `groupNames` names the account's user groups. */
export function valuesOfPerson(
  person: people_v1.Schema$Person,
  groupNames: ReadonlyMap<string, string>,
): ContactValues {
  const name = person.names?.[0];
  const phones: Phone[] = (person.phoneNumbers ?? [])
    .filter((phone) => clean(phone.value) !== '')
    .map((phone) => ({
      type: phoneType(phone.type),
      value: clean(phone.value),
      e164: e164(clean(phone.value), phone.canonicalForm),
    }));
  const addresses = (person.addresses ?? []).map(addressOf);
  const groups = (person.memberships ?? [])
    .map((membership) => membership.contactGroupMembership?.contactGroupResourceName ?? '')
    .map((resourceName) => groupNames.get(resourceName))
    .filter((group): group is string => group !== undefined);
  return {
    name: clean(name?.unstructuredName) || clean(name?.displayName),
    organization: clean(person.organizations?.[0]?.name),
    emails: (person.emailAddresses ?? []).map((email) => clean(email.value)).filter((email) => email !== ''),
    phones,
    website: clean(person.urls?.[0]?.value),
    addresses: addresses.filter(isSynchronized),
    groups,
  };
}

/** The synchronized parts of one of Google's addresses. */
export function addressOf(address: people_v1.Schema$Address): Address {
  return {
    street: clean(address.streetAddress),
    post_box: clean(address.poBox),
    postal_code: clean(address.postalCode),
    city: clean(address.city),
    country: clean(address.countryCode).toUpperCase(),
  };
}

/** An address Tryton takes: one with a synchronized part (a region alone is not). */
export function isSynchronized(address: Address): boolean {
  return Object.values(address).some((part) => part !== '');
}

/** The synchronized fields of a person carrying `values` (for a creation or an update). */
export function personOfValues(values: ContactValues): people_v1.Schema$Person {
  return {
    names: values.name ? [{ unstructuredName: values.name }] : [],
    organizations: values.organization ? [{ name: values.organization }] : [],
    emailAddresses: values.emails.map((value) => ({ value })),
    phoneNumbers: values.phones.map((phone) => ({ value: phone.value, type: WRITE_PHONE_TYPE[phone.type] })),
    urls: values.website ? [{ value: values.website }] : [],
    addresses: values.addresses.map((address) => ({
      streetAddress: address.street || null,
      poBox: address.post_box || null,
      postalCode: address.postal_code || null,
      city: address.city || null,
      countryCode: address.country || null,
    })),
  };
}

/** A new contact: its values, the party's stamp, and its groups (myContacts and the user groups). */
export function newPerson(
  values: ContactValues,
  stamp: string,
  groupIds: ReadonlyMap<string, string>,
): people_v1.Schema$Person {
  const groups = values.groups
    .map((group) => groupIds.get(group))
    .filter((id): id is string => id !== undefined);
  return {
    ...personOfValues(values),
    clientData: [{ key: STAMP_KEY, value: stamp }],
    memberships: [MY_CONTACTS, ...groups].map((contactGroupResourceName) => ({
      contactGroupMembership: { contactGroupResourceName },
    })),
  };
}

/** The Tryton party a contact was created for in `database`, from its stamp. */
export function stampedParty(person: people_v1.Schema$Person, database: string): number | undefined {
  const value = person.clientData?.find((data) => data.key === STAMP_KEY)?.value ?? '';
  const prefix = `${database}:`;
  if (!value.startsWith(prefix)) return undefined;
  const id = Number(value.slice(prefix.length));
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** When Google last changed the contact (its CONTACT source), for "the later edit wins". */
export function changedAt(person: people_v1.Schema$Person): Date | null {
  const source =
    person.metadata?.sources?.find((item) => item.type === 'CONTACT') ?? person.metadata?.sources?.[0];
  const time = source?.updateTime ? new Date(source.updateTime) : null;
  return time && !Number.isNaN(time.getTime()) ? time : null;
}
