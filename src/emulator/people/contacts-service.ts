/**
 * What can be done to contacts and contact groups, with Google's rules, for the API, the control API and
 * the web page alike: create (always a member of myContacts), update (the masked fields replaced, the
 * etag checked), delete (a tombstone stays for incremental sync), rename (linked to a profile: a new
 * resource name, the old one kept in previousResourceNames), and group membership changes. Each change
 * is a new version of the contact (store.ts): new etags, updateTime and change number.
 */
import { randomInt } from 'node:crypto';
import { errors } from './errors.js';
import type { PersonInput } from './person-input.js';
import { current, type PeopleStore } from './store.js';
import type { ContactVersion, PersonFields, StoredContact, StoredGroup } from './types.js';

/** Among system groups, only these take members (Google's rule for members.modify and memberships). */
const OPEN_SYSTEM_GROUPS = ['myContacts', 'starred'];
export const MAX_MEMBER_CHANGES = 1000;
const RESOURCE_NAME = /^people\/[A-Za-z0-9_-]+$/;

export interface Found {
  readonly contact: StoredContact;
  readonly version: ContactVersion;
}

export interface MembersChange {
  readonly notFound: string[];
  readonly cannotRemoveLast: string[];
}

export class ContactsService {
  constructor(readonly store: PeopleStore) {}

  /** A contact by its current resource name; 404 when unknown, renamed away from, or deleted. */
  find(email: string, resourceName: string): Found {
    if (!RESOURCE_NAME.test(resourceName))
      throw errors.invalid(`Resource name "${resourceName}" is not a valid person resource name.`);
    const contact = this.store.contactByName(email, resourceName);
    const version = contact ? current(contact) : undefined;
    if (!contact || !version || version.deleted) throw errors.notFound();
    return { contact, version };
  }

  /** Checks a creation without writing it (batch creations are checked whole first). */
  validateCreate(email: string, input: PersonInput): void {
    this.checkGroups(email, input.groups ?? []);
  }

  create(email: string, input: PersonInput, options: { visibleNow?: boolean } = {}): Found {
    const groups = [...new Set([...(input.groups ?? []), 'myContacts'])];
    this.checkGroups(email, groups);
    const id = this.store.newContactId();
    const contact = this.store.write(
      email,
      id,
      {
        resourceName: `people/c${id}`,
        previousResourceNames: [],
        deleted: false,
        fields: withoutEmpty(input.fields),
        groups,
      },
      options.visibleNow,
    );
    return { contact, version: current(contact) };
  }

  /** Refuses a write that names no etag, or one that is not the contact's current etag. */
  checkEtag(version: ContactVersion, input: PersonInput): void {
    if (input.sourceEtag !== undefined) {
      if (input.sourceEtag !== version.sourceEtag) throw errors.staleEtag(true);
    } else if (input.etag !== undefined) {
      if (input.etag !== version.etag) throw errors.staleEtag(false);
    } else throw errors.etagRequired();
  }

  /**
   * The masked fields replaced by the input's (a masked field the input leaves out is cleared); with
   * `checkEtag`, the input must carry the current etag (the API), else not (a person's own edit).
   */
  update(
    email: string,
    resourceName: string,
    input: PersonInput,
    mask: readonly string[],
    options: { checkEtag: boolean },
  ): Found {
    const found = this.find(email, resourceName);
    if (options.checkEtag) this.checkEtag(found.version, input);
    return this.apply(email, found, input, mask);
  }

  /** Checks an update without writing it (batch updates are checked whole first). */
  validateUpdate(email: string, found: Found, input: PersonInput, mask: readonly string[]): void {
    if (input.resourceName !== undefined && input.resourceName !== found.version.resourceName)
      throw errors.invalid('person.resourceName must match the resource name of the contact being updated.');
    if (mask.includes('memberships')) {
      const groups = input.groups ?? [];
      if (groups.length === 0)
        throw errors.invalid('A contact must always have at least one contact group membership.');
      this.checkGroups(email, groups);
    }
  }

  apply(email: string, found: Found, input: PersonInput, mask: readonly string[]): Found {
    this.validateUpdate(email, found, input, mask);
    const fields: PersonFields = structuredClone(found.version.fields);
    for (const field of mask) {
      if (field === 'memberships') continue;
      const items = input.fields[field];
      if (items && items.length > 0) fields[field] = items;
      else delete fields[field];
    }
    const groups = mask.includes('memberships') ? [...new Set(input.groups)] : [...found.version.groups];
    const contact = this.store.write(email, found.contact.id, {
      resourceName: found.version.resourceName,
      previousResourceNames: found.version.previousResourceNames,
      deleted: false,
      fields,
      groups,
    });
    this.touchGroups(email, [...found.version.groups, ...groups], found.version.groups, groups);
    return { contact, version: current(contact) };
  }

  delete(email: string, resourceName: string): void {
    const found = this.find(email, resourceName);
    this.tombstone(email, found);
  }

  tombstone(email: string, found: Found): void {
    this.store.write(email, found.contact.id, {
      resourceName: found.version.resourceName,
      previousResourceNames: found.version.previousResourceNames,
      deleted: true,
      fields: {},
      groups: [],
    });
    this.touchGroups(email, found.version.groups, found.version.groups, []);
  }

  /**
   * The contact linked to a profile: a new resource name (a profile's, `people/<21 digits>`, unless
   * given), the former one added to previousResourceNames.
   */
  rename(email: string, resourceName: string, newName?: string): Found {
    const found = this.find(email, resourceName);
    const next = newName ?? `people/1${Array.from({ length: 20 }, () => randomInt(10)).join('')}`;
    if (!RESOURCE_NAME.test(next) || next === 'people/me')
      throw errors.invalid(`Resource name "${next}" is not a valid person resource name.`);
    if (next === resourceName || this.store.contactByName(email, next))
      throw errors.invalid(`Resource name "${next}" is taken.`);
    const contact = this.store.write(email, found.contact.id, {
      resourceName: next,
      previousResourceNames: [...found.version.previousResourceNames, resourceName],
      deleted: false,
      fields: found.version.fields,
      groups: found.version.groups,
    });
    return { contact, version: current(contact) };
  }

  /** Adds and removes members of a group (members.modify); a contact keeps at least one membership. */
  modifyMembers(
    email: string,
    groupId: string,
    add: readonly string[],
    remove: readonly string[],
  ): MembersChange {
    const group = this.store.group(email, groupId);
    if (!group) throw errors.notFound();
    if (add.length + remove.length > MAX_MEMBER_CHANGES)
      throw errors.invalid(
        `Too many resource names in the request: at most ${MAX_MEMBER_CHANGES} can be added and removed.`,
      );
    if (add.length > 0 && !acceptsMembers(group))
      throw errors.invalid(`Cannot add contacts to system contact group "contactGroups/${group.id}".`);
    const notFound: string[] = [];
    const cannotRemoveLast: string[] = [];
    const changes = new Map<string, { found: Found; groups: string[] }>();
    const lookup = (resourceName: string) => {
      const known = [...changes.values()].find(
        (change) => change.found.version.resourceName === resourceName,
      );
      if (known) return known;
      const contact = this.store.contactByName(email, resourceName);
      const version = contact ? current(contact) : undefined;
      if (!contact || !version || version.deleted) return undefined;
      const change = { found: { contact, version }, groups: [...version.groups] };
      changes.set(contact.id, change);
      return change;
    };
    for (const name of add) {
      const change = lookup(name);
      if (!change) notFound.push(name);
      else if (!change.groups.includes(groupId)) change.groups.push(groupId);
    }
    for (const name of remove) {
      const change = lookup(name);
      if (!change) notFound.push(name);
      else if (change.groups.includes(groupId)) {
        if (change.groups.length === 1) cannotRemoveLast.push(name);
        else change.groups = change.groups.filter((id) => id !== groupId);
      }
    }
    let changed = false;
    for (const { found, groups } of changes.values()) {
      if (sameGroups(groups, found.version.groups)) continue;
      this.store.write(email, found.contact.id, {
        resourceName: found.version.resourceName,
        previousResourceNames: found.version.previousResourceNames,
        deleted: false,
        fields: found.version.fields,
        groups,
      });
      changed = true;
    }
    if (changed) this.store.touchGroup(group);
    return { notFound: [...new Set(notFound)], cannotRemoveLast };
  }

  createGroup(email: string, name: string, clientData?: StoredGroup['clientData']): StoredGroup {
    const trimmed = name.trim();
    if (trimmed === '') throw errors.invalid('Contact group name must not be empty.');
    if (
      this.store
        .groups(email)
        .some((group) => group.groupType === 'USER_CONTACT_GROUP' && group.name === trimmed)
    )
      throw errors.groupExists();
    return this.store.createGroup(email, trimmed, clientData);
  }

  /** The current resource names of a group's members, oldest change first. */
  members(email: string, groupId: string): string[] {
    return this.store
      .contacts(email)
      .map(current)
      .filter((version) => !version.deleted && version.groups.includes(groupId))
      .sort((a, b) => a.seq - b.seq)
      .map((version) => version.resourceName);
  }

  private checkGroups(email: string, groups: readonly string[]): void {
    for (const id of groups) {
      const group = this.store.group(email, id);
      if (!group) throw errors.invalid(`Contact group "contactGroups/${id}" does not exist.`);
      if (!acceptsMembers(group))
        throw errors.invalid(`Cannot add contacts to system contact group "contactGroups/${id}".`);
    }
  }

  /** Groups whose member list changed get a new etag and update time. */
  private touchGroups(
    email: string,
    candidates: readonly string[],
    before: readonly string[],
    after: readonly string[],
  ): void {
    for (const id of new Set(candidates)) {
      if (before.includes(id) === after.includes(id)) continue;
      const group = this.store.group(email, id);
      if (group) this.store.touchGroup(group);
    }
  }
}

function acceptsMembers(group: StoredGroup): boolean {
  return group.groupType === 'USER_CONTACT_GROUP' || OPEN_SYSTEM_GROUPS.includes(group.id);
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id) => b.includes(id));
}

function withoutEmpty(fields: PersonFields): PersonFields {
  return Object.fromEntries(Object.entries(fields).filter(([, items]) => items.length > 0));
}
