/**
 * The Google services a credential can serve and the scopes each needs (docs/contracts.md, "Services
 * of a credential"). The module keeps the same table for the credential's service status
 * (tryton-module/credentials.py); a consent asks for the scopes of the services a credential lists.
 */
import type { CredentialRow } from '../db/credentials-repository.js';

export const CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar';
export const CONTACTS_SCOPE = 'https://www.googleapis.com/auth/contacts';

export const SERVICE_SCOPES = {
  calendar: [CALENDAR_SCOPE],
  contacts: [CONTACTS_SCOPE],
} as const satisfies Record<string, readonly string[]>;

export type ServiceKey = keyof typeof SERVICE_SCOPES;

const isServiceKey = (value: unknown): value is ServiceKey =>
  typeof value === 'string' && Object.hasOwn(SERVICE_SCOPES, value);

/**
 * The services a credential lists. A row Tryton never wrote the column of (inserted by SQL, or from
 * before the column) serves the calendar, the module's default.
 */
export function servicesOf(row: Pick<CredentialRow, 'services'>): ServiceKey[] {
  if (row.services === null || row.services === undefined) return ['calendar'];
  try {
    const listed: unknown = JSON.parse(row.services);
    return Array.isArray(listed) ? listed.filter(isServiceKey) : [];
  } catch {
    return [];
  }
}

/** The scopes the services a credential lists need, for its consent. */
export function scopesOfServices(row: Pick<CredentialRow, 'services'>): string[] {
  return servicesOf(row).flatMap((key) => SERVICE_SCOPES[key]);
}
