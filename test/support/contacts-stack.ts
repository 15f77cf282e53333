/**
 * A stack for the contacts sync (docs/contracts.md, "Contacts synchronization"): the sidecar and the
 * emulator on a Tryton database where party is activated, and a real trytond serving that database,
 * which the sidecar reaches through TRYTOND_URL for the module's route. The credential is created
 * through Tryton's ORM (so the module makes the application key, as when an admin saves it) with
 * Calendar and Contacts, then taken through Google's consent. Parties are read and written through
 * Tryton's JSON-RPC, as a user of the web client does.
 */
import { CONTACTS_SCOPE } from '../../src/services/catalog.js';
import { consent, followRedirect } from './consent.js';
import { emulatorControl } from './emulator-client.js';
import { type Stack, startStack } from './stack.js';
import {
  freePort,
  scratchFolder,
  startTrytond,
  type TrytonSession,
  TrytonSession as Session,
  type TrytondProcess,
  writeTrytondConfig,
} from './trytond.js';
import { trytonTemplate } from './tryton.js';
import { until } from './wait.js';

export interface ContactsStack {
  readonly stack: Stack;
  readonly tryton: TrytonSession;
  readonly trytondUrl: string;
  readonly trytond: TrytondProcess;
  readonly credentialId: number;
  readonly email: string;
  /** One round now, as Tryton's Sync Contacts Now asks for it. */
  sync(): Promise<Record<string, number>>;
  /** The party's synchronized fields as Tryton's ORM reads them. */
  party(id: number): Promise<Record<string, any>>;
  /** `model.<model>.<method>` with the admin's session. */
  call(method: string, params: unknown[]): Promise<any>;
  /** The account's contacts at the emulator, as Google holds them (every field). */
  contacts(): Promise<any[]>;
  /** A Google user's own changes (on a phone): add, edit (the fields given replace), delete. */
  addAtGoogle(people: Record<string, unknown>[]): Promise<any[]>;
  editAtGoogle(resourceName: string, person: Record<string, unknown>): Promise<any>;
  deleteAtGoogle(resourceName: string): Promise<void>;
  /** People calls the emulator answered so far, by operation. */
  peopleCalls(): Promise<Record<string, number>>;
  /** A party through Tryton's ORM. */
  createParty(values: Record<string, unknown>): Promise<number>;
  /** Waits until no contacts round is queued or running in the background (the module queues them). */
  quiet(): Promise<void>;
  /** Another credential of another account, saved in Tryton and authorized; `values` its fields. */
  addCredential(email: string, values?: Record<string, unknown>): Promise<number>;
  /** One round of that credential now. */
  syncOf(credentialId: number): Promise<{ result?: Record<string, number>; error?: unknown }>;
  /** One round of that credential, with what it cost at Google: list calls, and calls that write. */
  measuredRound(credentialId: number): Promise<{ result: unknown; lists: number; writes: number }>;
  stop(): Promise<void>;
}

export async function startContactsStack(
  options: { email?: string; env?: Record<string, string>; credential?: Record<string, unknown> } = {},
): Promise<ContactsStack> {
  const email = options.email ?? 'contacts.owner@example.com';
  const trytondUrl = `http://127.0.0.1:${await freePort()}`;
  const stack = await startStack({
    template: await trytonTemplate(),
    env: { TRYTOND_URL: trytondUrl, SIDECAR_SYNC_INTERVAL: '3600', ...options.env },
  });
  const scratch = scratchFolder('gi-contacts-');
  let trytond: TrytondProcess | undefined;
  try {
    trytond = await startTrytond(
      writeTrytondConfig(scratch.folder, { url: trytondUrl, sidecarUrl: stack.sidecar.url }),
      stack.database,
      trytondUrl,
    );
    const tryton = await Session.login(trytondUrl, stack.database);
    await stack.jobsStarted();
    const addCredential = async (account: string, values: Record<string, unknown> = {}) => {
      const [id] = (await tryton.call('model.google_integration.google_credentials.create', [
        [
          {
            name: `Contacts of ${account}`,
            client_id: stack.clientId,
            client_secret: stack.clientSecret,
            redirect_uri: `${stack.sidecar.url}/${stack.database}/google/callback`,
            services: ['calendar', 'contacts'],
            sync_enabled: false,
            ...values,
          },
        ],
        {},
      ])) as [number];
      const { result, error } = await stack.rpc('credentials.request_authorization', { credential_id: id });
      if (error) throw new Error(`request_authorization: ${JSON.stringify(error)}`);
      if (!new URL(result.authorization_url).searchParams.get('scope')?.includes(CONTACTS_SCOPE))
        throw new Error('the consent does not ask for the contacts scope');
      const { redirect } = await consent(result.authorization_url, { email: account });
      const page = await followRedirect(redirect);
      if (page.status !== 200) throw new Error(`callback answered ${page.status}`);
      return id;
    };
    const credentialId = await addCredential(email, options.credential);
    const running = trytond;
    const control = emulatorControl(stack.emulator.url);
    const contactsPath = `/people/accounts/${encodeURIComponent(email)}/contacts`;
    return {
      stack,
      tryton,
      trytondUrl,
      trytond: running,
      credentialId,
      email,
      addCredential,
      async syncOf(id) {
        return stack.rpc('contacts.sync', { credential_id: id });
      },
      async measuredRound(id) {
        const calls = async () => ((await stack.control('/stats')).people ?? {}) as Record<string, number>;
        const before = await calls();
        const answer = await stack.rpc('contacts.sync', { credential_id: id });
        const after = await calls();
        const delta = (keep: (operation: string) => boolean) =>
          Object.keys(after)
            .filter(keep)
            .reduce((sum, operation) => sum + (after[operation] ?? 0) - (before[operation] ?? 0), 0);
        return {
          result: answer.result ?? answer.error,
          lists: delta((operation) => operation === 'people.connections.list'),
          writes: delta((operation) => !/\.(list|get)$/.test(operation)),
        };
      },
      async sync() {
        const answer = await stack.rpc('contacts.sync', { credential_id: credentialId });
        if (answer.error) throw new Error(`contacts.sync: ${JSON.stringify(answer.error)}`);
        return answer.result;
      },
      async party(id) {
        const [row] = await tryton.call('model.party.party.read', [
          [id],
          ['name', 'active', 'google_organization', 'contact_mechanisms', 'addresses', 'categories'],
          { active_test: false },
        ]);
        return row;
      },
      call: (method, params) => tryton.call(method, params),
      async contacts() {
        return (await stack.control(`/people/accounts/${encodeURIComponent(email)}/contacts`)).items;
      },
      async addAtGoogle(people) {
        return (
          await stack.control(`/people/accounts/${encodeURIComponent(email)}/contacts`, { contacts: people })
        ).items;
      },
      async editAtGoogle(resourceName, person) {
        return control(`${contactsPath}/${encodeURIComponent(resourceName)}`, 'PATCH', person);
      },
      async deleteAtGoogle(resourceName) {
        await control(`${contactsPath}/${encodeURIComponent(resourceName)}`, 'DELETE');
      },
      async peopleCalls() {
        return ((await stack.control('/stats')).people ?? {}) as Record<string, number>;
      },
      async quiet() {
        await until(
          async () =>
            (
              await stack.db.raw(
                `SELECT count(*)::int AS n FROM google_integration_jobs.jobs WHERE task_identifier = 'sync_contacts' AND attempts < max_attempts`,
              )
            ).rows[0].n as number,
          (jobs) => jobs === 0,
          { what: 'no contacts round queued', timeoutMs: 60_000 },
        );
      },
      async createParty(values) {
        const [id] = await tryton.call('model.party.party.create', [[values], {}]);
        return id as number;
      },
      async stop() {
        await running.stop();
        scratch.remove();
        await stack.stop();
      },
    };
  } catch (error) {
    await trytond?.stop();
    scratch.remove();
    await stack.stop();
    throw error;
  }
}
