/**
 * A Person resource as a client sends it, turned into what is stored: per-item metadata and output-only
 * values dropped, then Google's derived values computed (a name's `displayName` and its parts, a phone
 * number's E.164 `canonicalForm`, an address's `formattedValue`, `formattedType`s). Memberships are read
 * apart, as contact group ids. Unknown fields answer 400 as Google's JSON parser does.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { errors } from './errors.js';
import { READ_ONLY_FIELDS, SINGLETON_FIELDS, WRITABLE_FIELDS } from './fields.js';
import type { FieldItem, PersonFields } from './types.js';

export interface PersonInput {
  readonly fields: PersonFields;
  /** Contact group ids named by `memberships`; undefined when the field was not sent. */
  readonly groups: string[] | undefined;
  readonly resourceName: string | undefined;
  readonly etag: string | undefined;
  /** `metadata.sources[].etag` of the CONTACT source, when sent. */
  readonly sourceEtag: string | undefined;
}

/** Values Google computes; a client sending them back (as it read them) has them recomputed. */
const OUTPUT_ONLY: Record<string, readonly string[]> = {
  names: ['displayName', 'displayNameLastFirst'],
  phoneNumbers: ['canonicalForm', 'formattedType'],
};
const GROUP_PREFIX = 'contactGroups/';

export function parsePerson(body: unknown): PersonInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw errors.parse('Expected a Person object.');
  const fields: PersonFields = {};
  let groups: string[] | undefined;
  let sourceEtag: string | undefined;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (name === 'resourceName' || name === 'etag') {
      if (value !== undefined && value !== null && typeof value !== 'string')
        throw errors.parse(`Invalid value at 'person.${name}', expected a string.`);
      continue;
    }
    if (name === 'metadata') {
      sourceEtag = contactSourceEtag(value);
      continue;
    }
    if (READ_ONLY_FIELDS.has(name) || value === null || value === undefined) continue;
    if (!WRITABLE_FIELDS.has(name))
      throw errors.parse(`Unknown name "${name}" at 'person': Cannot find field.`);
    if (!Array.isArray(value)) throw errors.parse(`Invalid value at 'person.${name}', expected a list.`);
    const items = value.map((item, index) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item))
        throw errors.parse(`Invalid value at 'person.${name}[${index}]', expected an object.`);
      return item as FieldItem;
    });
    if (name === 'memberships') groups = items.map(groupOf);
    else fields[name] = items.map((item) => normalize(name, item));
  }
  for (const name of SINGLETON_FIELDS)
    if ((fields[name]?.length ?? 0) > 1)
      throw errors.invalid(`Cannot have more than one person.${name} per source.`);
  const record = body as Record<string, unknown>;
  return {
    fields,
    groups,
    resourceName: typeof record.resourceName === 'string' ? record.resourceName : undefined,
    etag: typeof record.etag === 'string' && record.etag !== '' ? record.etag : undefined,
    sourceEtag,
  };
}

function contactSourceEtag(metadata: unknown): string | undefined {
  const sources = (metadata as { sources?: unknown } | null)?.sources;
  if (!Array.isArray(sources)) return undefined;
  for (const source of sources) {
    const { type, etag } = (source ?? {}) as { type?: unknown; etag?: unknown };
    if ((type === undefined || type === 'CONTACT') && typeof etag === 'string' && etag !== '') return etag;
  }
  return undefined;
}

function groupOf(item: FieldItem): string {
  const membership = item.contactGroupMembership as
    | { contactGroupResourceName?: unknown; contactGroupId?: unknown }
    | undefined;
  const name = membership?.contactGroupResourceName;
  if (typeof name === 'string' && name.startsWith(GROUP_PREFIX) && name.length > GROUP_PREFIX.length)
    return name.slice(GROUP_PREFIX.length);
  const id = membership?.contactGroupId;
  if (typeof id === 'string' && id !== '') return id;
  throw errors.invalid('Membership must set contactGroupMembership.contactGroupResourceName.');
}

function normalize(field: string, item: FieldItem): FieldItem {
  const kept: FieldItem = {};
  const dropped = OUTPUT_ONLY[field] ?? [];
  for (const [key, value] of Object.entries(item))
    if (key !== 'metadata' && !dropped.includes(key) && value !== null && value !== undefined)
      kept[key] = value;
  if (typeof kept.type === 'string' && kept.type !== '' && field !== 'clientData')
    kept.formattedType = formattedType(kept.type);
  else delete kept.formattedType;
  if (field === 'names') return withNameParts(kept);
  if (field === 'phoneNumbers') return withCanonicalForm(kept);
  if (field === 'addresses') return withFormattedValue(kept);
  return kept;
}

const TYPES: Record<string, string> = {
  home: 'Home',
  work: 'Work',
  other: 'Other',
  mobile: 'Mobile',
  homeFax: 'Home Fax',
  workFax: 'Work Fax',
  otherFax: 'Other Fax',
  pager: 'Pager',
  workMobile: 'Work Mobile',
  workPager: 'Work Pager',
  main: 'Main',
  googleVoice: 'Google Voice',
  blog: 'Blog',
  homePage: 'Home Page',
  profile: 'Profile',
  appInstallPage: 'App Install Page',
};

/** Google's translation of a known type; a custom label stays as typed. */
function formattedType(type: string): string {
  return TYPES[type] ?? type;
}

const NAME_PARTS = ['honorificPrefix', 'givenName', 'middleName', 'familyName', 'honorificSuffix'] as const;

/**
 * Google parses an unstructured name into given and family name (the last word is the family name) and
 * composes the unstructured name from the parts when only they are sent; displayName follows the parts.
 */
function withNameParts(name: FieldItem): FieldItem {
  const text = (key: string) => (typeof name[key] === 'string' ? (name[key] as string).trim() : '');
  const structured = NAME_PARTS.some((part) => text(part) !== '');
  const unstructured = text('unstructuredName');
  const result: FieldItem = { ...name };
  if (!structured && unstructured !== '') {
    const words = unstructured.split(/\s+/);
    if (words.length === 1) result.givenName = words[0];
    else {
      result.givenName = words.slice(0, -1).join(' ');
      result.familyName = words.at(-1);
    }
  }
  const part = (key: string) => (typeof result[key] === 'string' ? (result[key] as string).trim() : '');
  const display = NAME_PARTS.map(part).filter(Boolean).join(' ');
  if (unstructured === '' && display !== '') result.unstructuredName = display;
  if (display !== '' || unstructured !== '') result.displayName = display || unstructured;
  const lastFirst = [
    part('familyName'),
    [part('honorificPrefix'), part('givenName'), part('middleName')].filter(Boolean).join(' '),
  ]
    .filter(Boolean)
    .join(', ');
  const suffix = part('honorificSuffix');
  if (lastFirst !== '' || display !== '')
    result.displayNameLastFirst = `${lastFirst || display}${suffix && lastFirst ? `, ${suffix}` : ''}`;
  return result;
}

/** E.164 of the value: numbers without `+` are read as US numbers; none when not a valid number. */
export function canonicalForm(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const parsed = parsePhoneNumberFromString(trimmed, trimmed.startsWith('+') ? undefined : 'US');
  return parsed?.isValid() ? parsed.number : undefined;
}

function withCanonicalForm(phone: FieldItem): FieldItem {
  const canonical = typeof phone.value === 'string' ? canonicalForm(phone.value) : undefined;
  return canonical === undefined ? phone : { ...phone, canonicalForm: canonical };
}

/** Google builds the one-text form of an address from its parts unless the client gave one. */
function withFormattedValue(address: FieldItem): FieldItem {
  if (typeof address.formattedValue === 'string' && address.formattedValue.trim() !== '') return address;
  const text = (key: string) => (typeof address[key] === 'string' ? (address[key] as string).trim() : '');
  const regionLine = [text('region'), text('postalCode')].filter(Boolean).join(' ');
  const cityLine = [text('city'), regionLine].filter(Boolean).join(', ');
  const lines = [
    text('streetAddress'),
    text('extendedAddress'),
    text('poBox') && `PO Box ${text('poBox')}`,
    cityLine,
    text('country') || text('countryCode'),
  ].filter(Boolean);
  if (lines.length === 0) return address;
  return { ...address, formattedValue: lines.join('\n') };
}
