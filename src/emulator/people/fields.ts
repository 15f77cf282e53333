/**
 * Person field names and the masks that name them (`personFields`, `readMask`, `updatePersonFields`,
 * `updateMask`): comma-separated, `person.` prefix allowed, checked against Google's lists. Which fields
 * can be written and which hold at most one value per contact follows the People API reference.
 */
import { errors } from './errors.js';

/** Every field `personFields` may name (people.get / connections.list). */
export const READABLE_FIELDS = [
  'addresses',
  'ageRanges',
  'biographies',
  'birthdays',
  'calendarUrls',
  'clientData',
  'coverPhotos',
  'emailAddresses',
  'events',
  'externalIds',
  'genders',
  'imClients',
  'interests',
  'locales',
  'locations',
  'memberships',
  'metadata',
  'miscKeywords',
  'names',
  'nicknames',
  'occupations',
  'organizations',
  'phoneNumbers',
  'photos',
  'relations',
  'sipAddresses',
  'skills',
  'urls',
  'userDefined',
] as const;

/** READABLE_FIELDS as a set: what an absent read mask reads. */
export const READABLE: ReadonlySet<string> = new Set(READABLE_FIELDS);

/** Output-only fields a client may send back as it read them; they are ignored on writes. */
export const READ_ONLY_FIELDS: ReadonlySet<string> = new Set([
  'ageRange',
  'ageRanges',
  'coverPhotos',
  'photos',
  'skills',
  'braggingRights',
  'relationshipInterests',
  'relationshipStatuses',
  'residences',
  'taglines',
]);

/**
 * What createContact stores and `updatePersonFields` may name: every readable field but `metadata` and the
 * output-only ones.
 */
export const WRITABLE_FIELDS: ReadonlySet<string> = new Set(
  READABLE_FIELDS.filter((field) => field !== 'metadata' && !READ_ONLY_FIELDS.has(field)),
);

/** "400 if more than one value" (createContact): a contact has at most one of each. */
export const SINGLETON_FIELDS = ['names', 'biographies', 'birthdays', 'genders'] as const;

/** A field mask as a set of field names; `undefined` when absent or empty. */
function parseMask(value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const paths = value
    .split(',')
    .map((path) => path.trim())
    .filter((path) => path.length > 0)
    .map((path) => path.replace(/^person\./, ''));
  return paths.length === 0 ? undefined : [...new Set(paths)];
}

/**
 * A read mask (`personFields` / `readMask`): required where `doc` is given (the reference page the
 * message points at), else all fields when absent.
 */
export function readMask(value: unknown, name: string, doc?: string): ReadonlySet<string> {
  const paths = parseMask(value);
  if (paths === undefined) {
    if (doc !== undefined) throw errors.maskRequired(name, doc);
    return READABLE;
  }
  for (const path of paths) if (!READABLE.has(path)) throw errors.invalidMaskPath(name, path);
  return new Set(paths);
}

/** An update mask (`updatePersonFields` / `updateMask`): required, writable fields only. */
export function updateMask(value: unknown, name: string, doc: string): string[] {
  const paths = parseMask(value);
  if (paths === undefined) throw errors.maskRequired(name, doc);
  for (const path of paths)
    if (!WRITABLE_FIELDS.has(path))
      throw errors.invalid(
        READABLE.has(path)
          ? `${name} mask path "${path}" is not writable.`
          : `Invalid ${name} mask path: "${path}". Valid paths are documented at https://developers.google.com/people/api/rest/v1/${doc}.`,
      );
  return paths;
}

export const READ_SOURCE_TYPES = [
  'READ_SOURCE_TYPE_CONTACT',
  'READ_SOURCE_TYPE_PROFILE',
  'READ_SOURCE_TYPE_DOMAIN_CONTACT',
  'READ_SOURCE_TYPE_OTHER_CONTACT',
] as const;

/** `sources` (repeated): checked and sorted, so equal sets compare equal across pages. */
export function readSources(value: unknown): string[] {
  const given = (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (item): item is string => typeof item === 'string' && item !== '',
  );
  for (const source of given)
    if (!(READ_SOURCE_TYPES as readonly string[]).includes(source))
      throw errors.invalid(
        `Invalid value at 'sources' (type.googleapis.com/google.people.v1.ReadSourceType), "${source}"`,
      );
  const sources = given.length === 0 ? ['READ_SOURCE_TYPE_CONTACT', 'READ_SOURCE_TYPE_PROFILE'] : given;
  return [...new Set(sources)].sort();
}
