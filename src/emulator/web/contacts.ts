/**
 * The Contacts page of an account: its contacts as Google Contacts shows them, and a form to add, edit
 * (name, phone, e-mail, as a person does on a phone) or delete one. Changes go through the same
 * ContactsService as the People API and the control API, so they get new etags, `updateTime` and a
 * place in incremental sync (after the propagation delay) like any change made at Google. Plain forms:
 * POST, then 303 back to the page; the routes guard of routes.ts applies (Host, cross-site POSTs).
 *
 *   GET  /ui/accounts/:email/contacts                      the page
 *   POST /ui/accounts/:email/contacts                      {name, phone, phoneType, email}: adds a contact
 *   GET  /ui/accounts/:email/contacts/:contactId           the form filled with the contact
 *   POST /ui/accounts/:email/contacts/:contactId           {name, phone, phoneType, email}: changes it
 *   POST /ui/accounts/:email/contacts/:contactId/delete
 */
import type { Request, Router } from 'express';
import { ContactsService } from '../people/contacts-service.js';
import type { PersonInput } from '../people/person-input.js';
import { parsePerson } from '../people/person-input.js';
import { current, type PeopleStore } from '../people/store.js';
import type { ContactVersion, FieldItem } from '../people/types.js';
import { FormError } from './event-form.js';
import { h, sendHtml, seg } from './page.js';

const PHONE_TYPES = ['mobile', 'work', 'home', 'main', 'other', 'workFax', 'homeFax'];
/** What the form edits; the other fields of a contact are kept as they are. */
const FORM_FIELDS = ['names', 'phoneNumbers', 'emailAddresses'];

export function contactsPath(email: string): string {
  return `/ui/accounts/${seg(email)}/contacts`;
}

export function contactRoutes(router: Router, store: PeopleStore, prefix: string): void {
  const service = new ContactsService(store);
  const back = (request: Request) => `${prefix}/accounts/${encodeURIComponent(emailOf(request))}/contacts`;

  router.get(`${prefix}/accounts/:email/contacts`, (request, response) => {
    const email = emailOf(request);
    sendHtml(response, 200, `Contacts of ${email}`, contactsPage(store, email));
  });
  router.post(`${prefix}/accounts/:email/contacts`, (request, response) => {
    const email = emailOf(request);
    const input = inputFromForm(request.body ?? {}, undefined);
    if (Object.keys(input.fields).length === 0)
      throw new FormError('A contact needs a name, a phone or an e-mail.');
    service.create(email, input);
    response.redirect(303, back(request));
  });
  router.get(`${prefix}/accounts/:email/contacts/:contactId`, (request, response) => {
    const email = emailOf(request);
    const { contact, version } = service.find(email, contactName(request));
    sendHtml(response, 200, `Edit ${displayName(version)}`, editPage(email, contact.id, version));
  });
  router.post(`${prefix}/accounts/:email/contacts/:contactId`, (request, response) => {
    const email = emailOf(request);
    const found = service.find(email, contactName(request));
    service.update(
      email,
      found.version.resourceName,
      inputFromForm(request.body ?? {}, found.version),
      FORM_FIELDS,
      {
        checkEtag: false,
      },
    );
    response.redirect(303, back(request));
  });
  router.post(`${prefix}/accounts/:email/contacts/:contactId/delete`, (request, response) => {
    service.delete(emailOf(request), contactName(request));
    response.redirect(303, back(request));
  });
}

/**
 * The form's name, phone and e-mail as a Person: each replaces the first item of its field (the others
 * are kept, as a phone's contact editor keeps them); an emptied box removes that item.
 */
function inputFromForm(form: Record<string, unknown>, version: ContactVersion | undefined): PersonInput {
  const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string).trim() : '');
  const phoneType = PHONE_TYPES.includes(text('phoneType')) ? text('phoneType') : 'mobile';
  const replaceFirst = (field: string, item: FieldItem | undefined): FieldItem[] => {
    const rest = (version?.fields[field] ?? []).slice(1);
    return item ? [item, ...rest] : rest;
  };
  const name = text('name');
  const phone = text('phone');
  const email = text('email');
  const firstPhone = version?.fields.phoneNumbers?.[0];
  const firstEmail = version?.fields.emailAddresses?.[0];
  const person = {
    names: name === '' ? [] : [{ unstructuredName: name }],
    phoneNumbers: replaceFirst(
      'phoneNumbers',
      phone === '' ? undefined : { ...firstPhone, value: phone, type: phoneType },
    ),
    emailAddresses: replaceFirst(
      'emailAddresses',
      email === '' ? undefined : { ...firstEmail, value: email },
    ),
  };
  const parsed = parsePerson(person);
  return {
    ...parsed,
    fields: Object.fromEntries(Object.entries(parsed.fields).filter(([, items]) => items.length > 0)),
  };
}

function contactsPage(store: PeopleStore, email: string): string {
  const contacts = store
    .contacts(email)
    .map((contact) => ({ id: contact.id, version: current(contact) }))
    .filter(({ version }) => !version.deleted)
    .sort(
      (a, b) => displayName(a.version).localeCompare(displayName(b.version)) || a.version.seq - b.version.seq,
    );
  const groups = Object.fromEntries(store.groups(email).map((group) => [group.id, group.name]));
  const now = store.now();
  const base = contactsPath(email);
  const rows = contacts
    .map(({ version }) => {
      const link = `${base}/${seg(version.resourceName.slice('people/'.length))}`;
      const pending =
        version.visibleAt > now ? '<br><span class="hint">not yet in listings (propagating)</span>' : '';
      return `<tr class="contact"><td>${h(displayName(version))}${pending}</td>
<td>${values(version, 'phoneNumbers')}</td><td>${values(version, 'emailAddresses')}</td>
<td>${version.groups.map((id) => h(groups[id] ?? id)).join(', ')}</td>
<td><code>${h(version.resourceName)}</code><br><code>${h(version.etag)}</code><br>${h(new Date(version.updateTime).toISOString())}</td>
<td><a href="${link}">Edit</a> <form class="inline" method="post" action="${link}/delete"><button>Delete</button></form></td></tr>`;
    })
    .join('\n');
  return `<h1>Contacts of ${h(email)}</h1>
<p><a href="/">Back</a></p>
<p class="hint">Changes made here are changes a person makes in Google Contacts: new etag and update time,
and in incremental sync once the propagation delay (${h(store.propagationDelayMs)} ms) has passed.</p>
${contacts.length === 0 ? '<p class="hint" id="no-contacts">No contacts.</p>' : `<table><tr><th>Name</th><th>Phones</th><th>E-mails</th><th>Labels</th><th>Resource, etag, updated</th><th></th></tr>\n${rows}</table>`}
<details><summary>New contact</summary><form method="post" action="${base}">
${contactFields()}
<button>Create</button></form></details>`;
}

function editPage(email: string, contactId: string, version: ContactVersion): string {
  const link = `${contactsPath(email)}/${seg(version.resourceName.slice('people/'.length))}`;
  return `<h1>Edit contact</h1>
<p class="hint">${h(email)} · <code>${h(version.resourceName)}</code> · id <code>${h(contactId)}</code> · etag <code>${h(version.etag)}</code></p>
<form method="post" action="${link}">
${contactFields(version)}
<button>Save</button> <a href="${contactsPath(email)}">Cancel</a></form>
<form method="post" action="${link}/delete"><button>Delete</button></form>`;
}

function contactFields(version?: ContactVersion): string {
  const first = (field: string, key: string) => {
    const value = version?.fields[field]?.[0]?.[key];
    return typeof value === 'string' ? value : '';
  };
  const name = first('names', 'unstructuredName') || first('names', 'displayName');
  const type = first('phoneNumbers', 'type') || 'mobile';
  const options = [...new Set([...PHONE_TYPES, type])]
    .map(
      (option) => `<option value="${h(option)}"${option === type ? ' selected' : ''}>${h(option)}</option>`,
    )
    .join('');
  return `<label>Name <input name="name" size="30" value="${h(name)}"></label>
<label>Phone <input name="phone" type="tel" size="20" value="${h(first('phoneNumbers', 'value'))}"></label>
<label>Type <select name="phoneType">${options}</select></label>
<label>E-mail <input name="email" type="email" size="30" value="${h(first('emailAddresses', 'value'))}"></label>`;
}

export function displayName(version: ContactVersion): string {
  const name = version.fields.names?.[0];
  const shown = name?.displayName ?? name?.unstructuredName;
  if (typeof shown === 'string' && shown !== '') return shown;
  const email = version.fields.emailAddresses?.[0]?.value;
  return typeof email === 'string' && email !== '' ? email : '(no name)';
}

function values(version: ContactVersion, field: string): string {
  return (version.fields[field] ?? [])
    .map((item) => {
      const value = typeof item.value === 'string' ? item.value : '';
      const extra = typeof item.canonicalForm === 'string' ? ` (${item.canonicalForm})` : '';
      return `${h(value)}${h(extra)}`;
    })
    .join('<br>');
}

function emailOf(request: Request): string {
  const value = request.params.email;
  const email = typeof value === 'string' ? value.toLowerCase() : '';
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new FormError('An account is an email address.');
  return email;
}

function contactName(request: Request): string {
  const value = request.params.contactId;
  return `people/${typeof value === 'string' ? value : ''}`;
}
