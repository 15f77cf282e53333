/**
 * People state of the emulated Google: per account its contacts (as versions, see types.ts) and contact
 * groups, the store-wide change counter that sync and page tokens point into, the propagation delay and
 * the quotas. It stores, looks up, stamps and prunes; the API rules live in contacts-service.ts and the
 * routes. Every change, through the API, the control API or the web page, takes a new change number
 * here, which is what makes them look the same to a syncing client.
 */
import { randomBytes } from 'node:crypto';
import type {
  ContactVersion,
  PeopleAccount,
  PeopleData,
  PeopleQuota,
  StoredContact,
  StoredGroup,
} from './types.js';

/** Off by default; the limits are one project's console values (docs/emulator.md). */
export const DEFAULT_PEOPLE_QUOTA: PeopleQuota = {
  enabled: false,
  criticalReadsPerMinute: 60,
  criticalWritesPerMinute: 30,
  deletesPerMinute: 30,
  groupReadsPerMinute: 90,
  groupWritesPerMinute: 30,
  fullSyncFirstPagesPerMinute: 0,
};

/** The system groups every account has, with the names Google gives them. */
export const SYSTEM_GROUPS: Readonly<Record<string, string>> = {
  myContacts: 'My Contacts',
  starred: 'Starred',
  friends: 'Friends',
  family: 'Family',
  coworkers: 'Coworkers',
  chatBuddies: 'Chat contacts',
  all: 'All Contacts',
  blocked: 'Blocked',
};

/** Tombstones older than this are forgotten: no sync token older than it still works. */
const TOMBSTONE_KEEP_MS = 8 * 86_400_000;

function emptyData(): PeopleData {
  return {
    seq: 0,
    accounts: {},
    propagationDelayMs: 0,
    quota: { ...DEFAULT_PEOPLE_QUOTA },
    usage: {},
  };
}

export interface NewVersion {
  readonly resourceName: string;
  readonly previousResourceNames: readonly string[];
  readonly deleted: boolean;
  readonly fields: ContactVersion['fields'];
  readonly groups: readonly string[];
}

export class PeopleStore {
  private data: PeopleData = emptyData();
  /** resourceName -> contact id per account, rebuilt on load (not stored). */
  private names = new Map<string, Map<string, string>>();
  readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  reset(): void {
    this.data = emptyData();
    this.names.clear();
  }

  toJSON(): PeopleData {
    return structuredClone(this.data);
  }

  load(data: PeopleData): void {
    this.data = { ...emptyData(), ...structuredClone(data) };
    this.data.quota = { ...DEFAULT_PEOPLE_QUOTA, ...this.data.quota };
    this.names.clear();
  }

  get seq(): number {
    return this.data.seq;
  }

  get quota(): PeopleQuota {
    return this.data.quota;
  }

  get usage(): Record<string, number[]> {
    return this.data.usage;
  }

  get propagationDelayMs(): number {
    return this.data.propagationDelayMs;
  }

  set propagationDelayMs(value: number) {
    this.data.propagationDelayMs = value;
  }

  knownAccounts(): string[] {
    return Object.keys(this.data.accounts);
  }

  hasAccount(email: string): boolean {
    return this.data.accounts[email.toLowerCase()] !== undefined;
  }

  /** The account's contacts and groups, its system groups created on first use. */
  account(email: string): PeopleAccount {
    const key = email.toLowerCase();
    let account = this.data.accounts[key];
    if (!account) {
      account = { contacts: {}, groups: {}, tokenEpoch: 0, visibleUntil: 0 };
      this.data.accounts[key] = account;
      for (const [id, name] of Object.entries(SYSTEM_GROUPS))
        account.groups[id] = { id, groupType: 'SYSTEM_CONTACT_GROUP', name, ...this.groupStamp() };
    }
    return account;
  }

  /** A new change number, with an etag in Google's form for groups. */
  private groupStamp(): { etag: string; updated: number; seq: number } {
    this.data.seq += 1;
    return { etag: groupEtag(this.data.seq), updated: this.now(), seq: this.data.seq };
  }

  contacts(email: string): StoredContact[] {
    return Object.values(this.account(email).contacts);
  }

  contact(email: string, id: string): StoredContact | undefined {
    return this.account(email).contacts[id];
  }

  /** The contact a resource name names now (not a former name, not a forgotten tombstone). */
  contactByName(email: string, resourceName: string): StoredContact | undefined {
    const account = email.toLowerCase();
    let index = this.names.get(account);
    if (!index) {
      index = new Map();
      for (const contact of this.contacts(account)) index.set(current(contact).resourceName, contact.id);
      this.names.set(account, index);
    }
    const id = index.get(resourceName);
    const contact = id === undefined ? undefined : this.contact(account, id);
    return contact && current(contact).resourceName === resourceName ? contact : undefined;
  }

  /** A new contact id: a positive 63-bit number, as Google's are. */
  newContactId(): string {
    return (randomBytes(8).readBigUInt64BE() >> 1n).toString();
  }

  /**
   * Stores a new version of a contact (a new one when `id` is unknown) under a new change number, with
   * new etags and `updateTime`. `visibleNow` skips the propagation delay (seeded contacts).
   */
  write(email: string, id: string, version: NewVersion, visibleNow = false): StoredContact {
    const account = this.account(email);
    this.data.seq += 1;
    const now = this.now();
    const seq = this.data.seq;
    const stored: ContactVersion = {
      ...version,
      seq,
      updateTime: now,
      visibleAt: Math.max(account.visibleUntil, visibleNow ? now : now + this.data.propagationDelayMs),
      etag: personEtag(id, seq),
      sourceEtag: sourceEtag(id, seq),
    };
    account.visibleUntil = stored.visibleAt;
    const contact = account.contacts[id] ?? { id, versions: [] };
    contact.versions.push(stored);
    account.contacts[id] = contact;
    this.prune(contact, now);
    this.names.get(email.toLowerCase())?.set(stored.resourceName, id);
    return contact;
  }

  /** Drops versions no listing can show any more: those before the newest one already visible. */
  private prune(contact: StoredContact, now: number): void {
    let newestVisible = -1;
    contact.versions.forEach((version, index) => {
      if (version.visibleAt <= now) newestVisible = index;
    });
    if (newestVisible > 0) contact.versions.splice(0, newestVisible);
  }

  /** Forgets the account's tombstones that no valid sync token can still ask about. */
  forgetOldTombstones(email: string): void {
    const account = this.account(email);
    const now = this.now();
    for (const [id, contact] of Object.entries(account.contacts)) {
      this.prune(contact, now);
      const last = current(contact);
      if (contact.versions.length === 1 && last.deleted && last.visibleAt < now - TOMBSTONE_KEEP_MS)
        delete account.contacts[id];
    }
  }

  groups(email: string): StoredGroup[] {
    return Object.values(this.account(email).groups).sort((a, b) => a.seq - b.seq);
  }

  group(email: string, id: string): StoredGroup | undefined {
    return this.account(email).groups[id];
  }

  createGroup(email: string, name: string, clientData?: StoredGroup['clientData']): StoredGroup {
    const id = randomBytes(8).toString('hex');
    const group: StoredGroup = {
      id,
      groupType: 'USER_CONTACT_GROUP',
      name,
      ...(clientData === undefined ? {} : { clientData }),
      ...this.groupStamp(),
    };
    this.account(email).groups[id] = group;
    return group;
  }

  /** A group's members changed: a new etag and update time, as Google gives the group. */
  touchGroup(group: StoredGroup): void {
    Object.assign(group, this.groupStamp());
  }

  /**
   * The newest change number a listing may include now: every change of the account up to it has
   * propagated. Changes are numbered in time order, so the first one not yet visible bounds it.
   */
  visibleCutoff(email: string): number {
    const now = this.now();
    let cutoff = this.data.seq;
    for (const contact of this.contacts(email))
      for (const version of contact.versions)
        if (version.visibleAt > now && version.seq - 1 < cutoff) cutoff = version.seq - 1;
    return cutoff;
  }

  /** Makes every sync token (of one account, or of all) answer EXPIRED_SYNC_TOKEN. */
  expireSyncTokens(email?: string): number {
    const accounts =
      email === undefined ? Object.values(this.data.accounts) : [this.data.accounts[email.toLowerCase()]];
    let count = 0;
    for (const account of accounts) {
      if (!account) continue;
      account.tokenEpoch += 1;
      count += 1;
    }
    return count;
  }
}

/** The contact as it is now (its newest version, visible or not). */
export function current(contact: StoredContact): ContactVersion {
  return contact.versions.at(-1) as ContactVersion;
}

/** The newest version with a change number up to `cutoff`, if any is still kept. */
export function versionAt(contact: StoredContact, cutoff: number): ContactVersion | undefined {
  for (let index = contact.versions.length - 1; index >= 0; index -= 1) {
    const version = contact.versions[index] as ContactVersion;
    if (version.seq <= cutoff) return version;
  }
  return undefined;
}

/** Google's person etags start with `%`, source etags with `#`; both change with every version. */
function personEtag(id: string, seq: number): string {
  return `%${Buffer.from(`p${id}.${seq}`).toString('base64url')}`;
}

function sourceEtag(id: string, seq: number): string {
  return `#${Buffer.from(`s${id}.${seq}`).toString('base64url')}`;
}

function groupEtag(seq: number): string {
  return Buffer.from(`g${seq}`).toString('base64url');
}
