/**
 * The synchronized fields of a contact changed to `values` from what Google holds (docs/contracts.md,
 * "What is synchronized"). An update replaces each field it names whole (`updatePersonFields`), so
 * sending the values alone would erase what Tryton does not keep: an address's region, extended
 * address and type, an e-mail's or a phone's type and label, an organization's title, the URLs after
 * the first. Each field starts from Google's entries instead, and only the synchronized parts change.
 * Pure.
 */
import type { people_v1 } from '@googleapis/people';
import type { Address, ContactValues, Phone } from './contact-values.js';
import {
  addressOf,
  clean,
  e164,
  isSynchronized,
  personOfValues,
  phoneType,
  WRITE_PHONE_TYPE,
} from './person-mapping.js';

type Person = people_v1.Schema$Person;

/** What an update sends: `values` over `held`, the contact as Google holds it (none: the values alone). */
export function changedPerson(held: Person | undefined, values: ContactValues): Person {
  const written = personOfValues(values);
  if (!held) return written;
  return {
    names: sameName(held, values.name) ? (held.names ?? []) : (written.names ?? []),
    organizations: organizations(held.organizations ?? [], values.organization),
    emailAddresses: emails(held.emailAddresses ?? [], values.emails),
    phoneNumbers: phones(held.phoneNumbers ?? [], values.phones),
    urls: urls(held.urls ?? [], values.website),
    addresses: addresses(held.addresses ?? [], values.addresses, written.addresses ?? []),
  };
}

/** The name's parts (given, family, prefixes) are sent again only when the name changed. */
function sameName(held: Person, name: string): boolean {
  const first = held.names?.[0];
  return (clean(first?.unstructuredName) || clean(first?.displayName)) === name;
}

/** The first organization's name changes; its title and department, and the others, stay. */
function organizations(held: people_v1.Schema$Organization[], name: string): people_v1.Schema$Organization[] {
  const [first, ...others] = held;
  if (clean(first?.name) === name) return held;
  if (name !== '') return [{ ...first, name }, ...others];
  if (!first) return others;
  const { name: _cleared, ...rest } = first;
  return hasContent(rest) ? [rest, ...others] : others;
}

function emails(
  held: people_v1.Schema$EmailAddress[],
  values: readonly string[],
): people_v1.Schema$EmailAddress[] {
  const left = [...held];
  return values.map(
    (value) => take(left, (email) => clean(email.value).toLowerCase() === value.toLowerCase()) ?? { value },
  );
}

/** A phone Google holds with the same type and number is kept as it is (its label, its spelling). */
function phones(
  held: people_v1.Schema$PhoneNumber[],
  values: readonly Phone[],
): people_v1.Schema$PhoneNumber[] {
  const left = [...held];
  return values.map(
    (phone) =>
      take(
        left,
        (number) =>
          phoneType(number.type) === phone.type &&
          e164(clean(number.value), number.canonicalForm) === phone.e164,
      ) ?? { value: phone.value, type: WRITE_PHONE_TYPE[phone.type] },
  );
}

/** The website is the first URL: changed or removed alone, the others stay. */
function urls(held: people_v1.Schema$Url[], website: string): people_v1.Schema$Url[] {
  const [first, ...others] = held;
  if (clean(first?.value) === website) return held;
  return website === '' ? others : [{ ...first, value: website }, ...others];
}

/**
 * Addresses in order, matched with Google's that have a synchronized part; one whose parts change
 * keeps its other fields, its one-text form and country name dropped so that Google composes them
 * again. Google's addresses without a synchronized part (a region alone) stay, after the others.
 */
function addresses(
  held: people_v1.Schema$Address[],
  values: readonly Address[],
  written: readonly people_v1.Schema$Address[],
): people_v1.Schema$Address[] {
  const synchronized = held.filter((address) => isSynchronized(addressOf(address)));
  const others = held.filter((address) => !isSynchronized(addressOf(address)));
  const changed = values.map((address, index) => {
    const before = synchronized[index];
    const parts = written[index] ?? {};
    if (!before) return parts;
    if (sameAddress(addressOf(before), address)) return before;
    const { formattedValue: _text, country, ...kept } = before;
    const sameCountry = clean(before.countryCode).toUpperCase() === address.country;
    return { ...kept, ...(sameCountry && country ? { country } : {}), ...parts };
  });
  return [...changed, ...others];
}

function sameAddress(a: Address, b: Address): boolean {
  return (Object.keys(a) as (keyof Address)[]).every((key) => a[key] === b[key]);
}

/** The first entry of `left` that `matches`, taken out of it. */
function take<T>(left: T[], matches: (entry: T) => boolean): T | undefined {
  const index = left.findIndex(matches);
  return index === -1 ? undefined : left.splice(index, 1)[0];
}

/** Whether an entry holds a value beyond Google's bookkeeping (metadata, type, its translation). */
function hasContent(entry: Record<string, unknown>): boolean {
  return Object.entries(entry).some(
    ([key, value]) =>
      !['metadata', 'type', 'formattedType'].includes(key) &&
      value !== null &&
      value !== undefined &&
      value !== '',
  );
}
