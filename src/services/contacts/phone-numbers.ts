/**
 * libphonenumber-js, loaded by the first contacts round rather than at start: its metadata is about
 * 4 MiB of resident memory that a sidecar serving only tokens and calendars never needs (`npm run
 * bench`, section 3). Loading is idempotent; parsing before it is a programming error.
 */
import type { PhoneNumber } from 'libphonenumber-js';

type Parse = typeof import('libphonenumber-js')['parsePhoneNumberFromString'];
let parse: Parse | undefined;

export async function loadPhoneNumbers(): Promise<void> {
  parse ??= (await import('libphonenumber-js')).parsePhoneNumberFromString;
}

export function parsePhoneNumber(value: string): PhoneNumber | undefined {
  if (!parse) throw new Error('libphonenumber-js is not loaded: await loadPhoneNumbers() first');
  return parse(value);
}
