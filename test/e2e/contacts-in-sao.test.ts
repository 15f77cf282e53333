/**
 * End to end, in a real browser: a party made in the Tryton web client (sao, served by trytond 8.0)
 * reaches Google Contacts (the offline emulator) with its phone in international format, and a name a
 * Google user changes on their phone comes back to the party (docs/contracts.md, "Contacts
 * synchronization").
 *
 * 1. In sao, Parties > Parties, a new party: a name, an e-mail and a phone typed in compact
 *    international form; saved. Tryton formats the phone (+32 2 234 56 78) and the module queues the
 *    account's round in that save's transaction: the test only waits for the contact at the emulator.
 * 2. A Google user edits the contact's name on the emulator's Contacts page (its web page, in a browser
 *    the size of a phone, tapping like a person does).
 * 3. Back in sao: the credentials' *Sync Contacts Now* runs a round (contacts.sync through the module);
 *    the party, reloaded, shows the new name.
 *
 * The credentials list Contacts: saved through Tryton's ORM, so the module makes the application key
 * of its route, and authorized through the emulator's consent (support/contacts.ts). The sidecar
 * reaches trytond (the stack's `sidecarReachesTryton`). Needs Chromium and, in e2e/sao/, sao and
 * playwright-core: `bash scripts/e2e-setup.sh` installs them. Screenshots go to
 * .cache/e2e/contacts-in-sao/ (and failure.png/.html on failure).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait.js';
import {
  browserFailure,
  launchChromium,
  logIn,
  openMenuEntry,
  STEP_MS,
  screenshotFolder,
} from './support/browser.js';
import { contactsAccount, contactsPage, googleContacts } from './support/contacts.js';
import { startTrytonStack, type TrytonStack } from './support/tryton-stack.js';

const ACCOUNT = 'sales.contacts@example.com';
const CREDENTIALS = 'Contacts of the sales team';
const NAME = 'Ada Lovelace';
const RENAMED = 'Ada King';
const EMAIL = 'ada@example.com';
/** Typed compact; valid for Python's phonenumbers and libphonenumber (+32 2 1… is not). */
const TYPED_PHONE = '+3222345678';
const INTERNATIONAL = '+32 2 234 56 78';
/**
 * The contract: a save queues the round at once (run 2 s later, so one save of several records makes
 * one round). The limit leaves room for a loaded machine; the time it took is printed.
 */
const PUSH_MS = 30_000;

describe('parties and Google Contacts, in the Tryton web client', () => {
  let stack: TrytonStack | undefined;
  let browser: any;

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('a party saved in sao reaches Google, and a name changed on a phone comes back to it', async () => {
    const shots = screenshotFolder('contacts-in-sao');

    const browserStarting = launchChromium();
    stack = await startTrytonStack({ sidecarReachesTryton: true });
    browser = await browserStarting;
    const current = stack;
    const { credentialId } = await contactsAccount(current, ACCOUNT, CREDENTIALS);
    expect(await googleContacts(current, ACCOUNT)).toEqual([]);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error: Error) => problems.push(`page error: ${error.message}`));
    let step = 0;
    const shot = async (target: any, name: string) => {
      step += 1;
      await target.screenshot({ path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`) });
    };
    const poll = { timeout: STEP_MS };

    try {
      await logIn(page, current);
      // Parties > Parties: the menu entry has its menu's name.
      const menu = page.locator('#menu');
      const parties = menu.locator('tr').filter({ has: page.getByText('Parties', { exact: true }) });
      await parties.first().locator('.expander').click();
      await parties.nth(1).locator('td').filter({ hasText: 'Parties' }).first().dblclick();
      // Tabs are told apart by their pane's id: the active pane changes as tabs open.
      const activeTab = page.locator('#tabcontent > .tab-pane.active');
      await expect.poll(() => activeTab.getAttribute('id'), poll).not.toBeNull();
      const tabId = await activeTab.getAttribute('id');
      const partyTab = page.locator(`#${tabId}`);
      await partyTab.locator('.treeview').waitFor({ state: 'visible' });
      await partyTab.locator('button#new_').click();

      const form = partyTab.locator('.form');
      // The party's name is the form's first field of that name (its address and mechanisms have one).
      const partyName = form.locator('[name="name"]').first();
      // Typed, then Tab to the next field, as a person does (sao takes a value when its field is left):
      // typed again when sao redrew the form meanwhile (the new record's defaults come from trytond after
      // the form shows, and redraw it).
      await expect
        .poll(async () => {
          if ((await partyName.inputValue()) === NAME) return true;
          await partyName.fill(NAME);
          await partyName.press('Tab');
          return false;
        }, poll)
        .toBe(true);

      // Contact Mechanisms: an editable list; New adds a row whose cells are edited in place.
      const mechanisms = form
        .locator('.form-one2many')
        .filter({ has: page.locator('.form-one2many-string', { hasText: 'Contact Mechanisms' }) });
      const rows = mechanisms.locator('tbody > tr');
      const addMechanism = async (type: string, value: string) => {
        const before = await rows.count();
        await mechanisms.locator('button[title="New"]').click();
        await expect.poll(() => rows.count(), poll).toBe(before + 1);
        const row = rows.nth(before);
        const select = row.locator('select[name="type"]');
        // Chosen, then Tab to the value, as a person does: the edited row takes a cell's value when the
        // cell is left.
        await expect.poll(() => select.locator('option:checked').textContent(), poll).toBe('Phone');
        if (type !== 'Phone') await select.selectOption({ label: type });
        await select.press('Tab');
        const input = row.locator('input[name="value"]');
        await input.fill(value);
        await input.press('Tab');
      };
      await addMechanism('Email', EMAIL);
      await addMechanism('Phone', TYPED_PHONE);
      await expect.poll(() => partyName.inputValue(), poll).toBe(NAME);
      await shot(page, 'new-party');
      const saving = Date.now();
      await partyTab.locator('button#save').click();
      await partyTab.locator('.infobar').getByText('Record saved.').waitFor({ state: 'visible' });
      // Tryton stored the phone in international format: the list shows it so once saved.
      const shown = async () =>
        (await rows.evaluateAll((trs: any[]) =>
          trs.map((tr) => [...tr.querySelectorAll('td .widget')].map((cell: any) => cell.textContent.trim())),
        )) as string[][];
      await expect
        .poll(
          async () => (await shown()).map((cells) => cells.filter((text) => text !== '').slice(0, 2)),
          poll,
        )
        .toEqual([
          ['Email', EMAIL],
          ['Phone', INTERNATIONAL],
        ]);
      await shot(page, 'saved');

      // Google has it within seconds, nobody pressing anything: the save queued the round.
      const pushed = await until(
        () => googleContacts(current, ACCOUNT),
        (people) => people.some((person) => person.names?.[0]?.unstructuredName === NAME),
        { timeoutMs: PUSH_MS, what: `the party at Google (${PUSH_MS} ms after the save)` },
      );
      console.info(`the party was at Google ${Date.now() - saving} ms after Save was clicked`);
      expect(pushed).toHaveLength(1);
      const [contact] = pushed;
      expect(contact.phoneNumbers).toEqual([
        expect.objectContaining({ value: INTERNATIONAL, canonicalForm: TYPED_PHONE, type: 'work' }),
      ]);
      expect(contact.emailAddresses).toEqual([expect.objectContaining({ value: EMAIL })]);
      const [partyId] = (await current.db('party_party').where({ name: NAME }).pluck('id')) as number[];
      // The round settled in Tryton: the party is linked to that contact.
      await until(
        () => current.db('google_integration_party_contact').where({ party: partyId }).first(),
        (row) => row?.sync_status === 'synced',
        { timeoutMs: PUSH_MS, what: 'the party synchronized in Tryton' },
      );
      expect(
        await current.db('google_integration_party_contact').where({ party: partyId }).first(),
      ).toMatchObject({ credential: credentialId, resource_name: contact.resourceName });

      // A Google user renames the contact on their phone: the emulator's Contacts page.
      const phone = await browser.newContext({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        locale: 'en-US',
      });
      phone.setDefaultTimeout(STEP_MS);
      const google = await phone.newPage();
      google.on('pageerror', (error: Error) => problems.push(`contacts page error: ${error.message}`));
      await google.goto(contactsPage(current, ACCOUNT));
      const listed = google.locator('tr.contact', { hasText: NAME });
      await listed.getByText(INTERNATIONAL).waitFor({ state: 'visible' });
      await shot(google, 'google-contacts');
      await listed.getByRole('link', { name: 'Edit' }).tap();
      const name = google.locator('input[name="name"]');
      await expect.poll(() => name.inputValue(), poll).toBe(NAME);
      await name.fill(RENAMED);
      await shot(google, 'google-edit');
      await google.getByRole('button', { name: 'Save' }).tap();
      await google.locator('tr.contact', { hasText: RENAMED }).waitFor({ state: 'visible' });
      await shot(google, 'google-renamed');
      expect((await googleContacts(current, ACCOUNT))[0]?.names?.[0]?.unstructuredName).toBe(RENAMED);

      // Back in sao: the credentials' Sync Contacts Now.
      await openMenuEntry(page, 'Credentials');
      // The tab opens once trytond answered: until then the party's is the active one.
      await expect.poll(() => activeTab.getAttribute('id'), poll).not.toBe(tabId);
      const credentialsId = await activeTab.getAttribute('id');
      const credentials = page.locator(`#${credentialsId}`);
      await credentials.locator('.treeview tbody tr', { hasText: CREDENTIALS }).dblclick();
      const credentialForm = credentials.locator('.form');
      await credentialForm
        .locator('.form-notebook > .nav-tabs')
        .getByRole('tab', { name: 'Contacts', exact: true })
        .click();
      const syncNow = credentialForm.locator('button[name="sync_contacts"]');
      await syncNow.waitFor({ state: 'visible' });
      await syncNow.click();
      // The button answers once the round ran; the form reloads with what it did.
      await expect
        .poll(() => credentialForm.locator('[name="contacts_last_counts"]').inputValue(), poll)
        .toBe('1 updated');
      await shot(page, 'synced');

      // The party, reloaded, has the name given on the phone.
      await page.locator(`#tablist a[href="#${tabId}"]`).click();
      await partyTab.locator('button#reload').click();
      await expect.poll(() => partyName.inputValue(), poll).toBe(RENAMED);
      await expect
        .poll(
          async () => (await shown()).map((cells) => cells.filter((text) => text !== '').slice(0, 2)),
          poll,
        )
        .toEqual([
          ['Email', EMAIL],
          ['Phone', INTERNATIONAL],
        ]);
      await partyName.scrollIntoViewIfNeeded();
      await shot(page, 'renamed-in-tryton');
      expect(problems).toEqual([]);
    } catch (error) {
      throw await browserFailure(error, page, shots, problems, current);
    }
  }, 400_000);
});
