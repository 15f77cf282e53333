/**
 * What a browser test of the contacts sync adds to the e2e stack (tryton-stack.ts, started with
 * `sidecarReachesTryton` so the sidecar reaches the module's route): credentials listing Contacts,
 * saved through Tryton's ORM by the admin (the module makes the route's application key then, as when
 * the admin saves them in the form) and authorized through the emulator's consent, as
 * test/support/contacts-stack.ts does; and the account's contacts as the emulator holds them.
 */
import { CONTACTS_SCOPE } from '../../../src/services/catalog.js';
import { consent, followRedirect } from '../../support/consent.js';
import { call } from '../../support/rpc.js';
import { TrytonSession } from '../../support/trytond.js';
import type { TrytonStack } from './tryton-stack.js';

export interface ContactsAccount {
  readonly credentialId: number;
  /** The credentials' name in Tryton. */
  readonly name: string;
  /** Tryton's admin over JSON-RPC. */
  readonly admin: TrytonSession;
}

/**
 * Credentials of the Google account `email` listing Calendar and Contacts, their background
 * synchronization off (a round runs when Tryton queues one, or on Sync Contacts Now), authorized.
 */
export async function contactsAccount(
  stack: TrytonStack,
  email: string,
  name: string,
): Promise<ContactsAccount> {
  const admin = await TrytonSession.login(stack.trytonUrl, stack.database);
  const [credentialId] = (await admin.call('model.google_integration.google_credentials.create', [
    [
      {
        name,
        client_id: stack.clientId,
        client_secret: stack.clientSecret,
        redirect_uri: stack.redirectUri,
        services: ['calendar', 'contacts'],
        sync_enabled: false,
      },
    ],
    {},
  ])) as [number];
  const answer = await call(stack.sidecarUrl, 'credentials.request_authorization', {
    database: stack.database,
    credential_id: credentialId,
  });
  if (answer.error) throw new Error(`request_authorization: ${answer.error.message}`);
  const url = answer.result.authorization_url as string;
  if (!new URL(url).searchParams.get('scope')?.includes(CONTACTS_SCOPE))
    throw new Error('the consent does not ask for the contacts scope');
  const page = await followRedirect((await consent(url, { email })).redirect);
  if (page.status !== 200) throw new Error(`callback answered ${page.status}`);
  return { credentialId, name, admin };
}

/** The account's contacts at the emulator, every field, as Google holds them. */
export async function googleContacts(stack: TrytonStack, email: string): Promise<any[]> {
  const url = `${stack.emulator.url}/__emulator/people/accounts/${encodeURIComponent(email)}/contacts`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { items: any[] }).items;
}

/** The emulator's web page of the account's contacts (Google Contacts, as a person sees it). */
export function contactsPage(stack: TrytonStack, email: string): string {
  return `${stack.emulator.url}/ui/accounts/${encodeURIComponent(email)}/contacts`;
}
