/**
 * A contact's synchronized values (docs/contracts.md, "Contacts synchronization", *What is
 * synchronized*): the one JSON shape the module's route answers and takes, and that Google's people
 * are read into, so the merge compares like with like. Values are compared, never their spelling:
 * e-mails and groups as sets, phones by type and E.164, addresses in order, texts trimmed. Pure.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const CONTACT_FIELDS = [
  'name',
  'organization',
  'emails',
  'phones',
  'website',
  'addresses',
  'groups',
] as const;
export type ContactField = (typeof CONTACT_FIELDS)[number];

export const PHONE_TYPES = ['phone', 'mobile', 'fax'] as const;
export type PhoneType = (typeof PHONE_TYPES)[number];

const text = z
  .string()
  .nullish()
  .transform((value) => (value ?? '').trim());

const phoneSchema = z.object({ type: z.enum(PHONE_TYPES), value: text, e164: text });
const addressSchema = z.object({
  street: text,
  post_box: text,
  postal_code: text,
  city: text,
  country: text.transform((value) => value.toUpperCase()),
});

/** What the module's route answers as a party's values (the contract's JSON). */
export const contactValuesSchema = z.object({
  name: text,
  organization: text,
  emails: z.array(z.string()),
  phones: z.array(phoneSchema),
  website: text,
  addresses: z.array(addressSchema),
  groups: z.array(z.string()),
});

export type Phone = z.infer<typeof phoneSchema>;
export type Address = z.infer<typeof addressSchema>;
export type ContactValues = z.infer<typeof contactValuesSchema>;

export const EMPTY_VALUES: ContactValues = {
  name: '',
  organization: '',
  emails: [],
  phones: [],
  website: '',
  addresses: [],
  groups: [],
};

/** What a field's value compares as: the same key means the same value. */
function comparable(field: ContactField, value: unknown): unknown {
  switch (field) {
    case 'emails':
      return sortedSet((value as string[]).map((email) => email.trim().toLowerCase()));
    case 'groups':
      return sortedSet((value as string[]).map((group) => group.trim()));
    case 'phones':
      return sortedSet((value as Phone[]).map((phone) => `${phone.type}|${phone.e164 || phone.value}`));
    case 'addresses':
      return (value as Address[]).map((address) => [
        address.street.trim(),
        address.post_box.trim(),
        address.postal_code.trim(),
        address.city.trim(),
        address.country.trim().toUpperCase(),
      ]);
    default:
      return String(value ?? '').trim();
  }
}

function sortedSet(values: string[]): string[] {
  return [...new Set(values.filter((value) => value !== ''))].sort();
}

export function sameContactValue(field: ContactField, a: unknown, b: unknown): boolean {
  return JSON.stringify(comparable(field, a)) === JSON.stringify(comparable(field, b));
}

export function sameContactValues(a: ContactValues, b: ContactValues): boolean {
  return CONTACT_FIELDS.every((field) => sameContactValue(field, a[field], b[field]));
}

/** A digest of what the values compare as: an item whose digest is its link's changed nothing. */
export function contactHash(values: ContactValues): string {
  const canonical = CONTACT_FIELDS.map((field) => comparable(field, values[field]));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url').slice(0, 22);
}
