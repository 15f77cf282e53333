/**
 * The shapes People state is stored in: plain JSON only, so the whole state is written to the state file
 * and read back as it is (`PeopleStore.toJSON` / `PeopleStore.load`).
 *
 * A contact is kept as its versions, oldest first, the last being the current one. Listings show the
 * newest version old enough to have propagated (Google's listings lag its writes), so the versions a
 * listing may still need are kept until a newer one has propagated (store.ts prunes the rest).
 */

/** One item of a Person field (a name, an e-mail address, ...), as stored: no per-item metadata. */
export type FieldItem = Record<string, unknown>;

/** A Person's stored fields by their API name (`names`, `emailAddresses`, ...); memberships apart. */
export type PersonFields = Record<string, FieldItem[]>;

export interface ContactVersion {
  /** Store-wide change number: what sync and page tokens point into, and the listing order. */
  readonly seq: number;
  /** When the change becomes visible to connections.list: the change's time plus the propagation delay. */
  readonly visibleAt: number;
  /** The time of the change (`metadata.sources[].updateTime`). */
  readonly updateTime: number;
  readonly etag: string;
  readonly sourceEtag: string;
  readonly resourceName: string;
  readonly previousResourceNames: readonly string[];
  readonly deleted: boolean;
  readonly fields: PersonFields;
  /** Contact group ids (`myContacts`, `starred`, a user group's hex id). */
  readonly groups: readonly string[];
}

export interface StoredContact {
  /** The contact's id: decimal in its first resource name (`people/c<id>`), hex as its source id. */
  readonly id: string;
  readonly versions: ContactVersion[];
}

export type GroupType = 'USER_CONTACT_GROUP' | 'SYSTEM_CONTACT_GROUP';

export interface StoredGroup {
  /** `myContacts`, `starred`, ... for system groups; a hex id for user groups. */
  readonly id: string;
  readonly groupType: GroupType;
  name: string;
  clientData?: FieldItem[];
  etag: string;
  updated: number;
  seq: number;
}

export interface PeopleAccount {
  /** Contacts by id (tombstones included until they are old enough to be forgotten). */
  readonly contacts: Record<string, StoredContact>;
  readonly groups: Record<string, StoredGroup>;
  /** Sync tokens minted under an older epoch answer EXPIRED_SYNC_TOKEN: how the control API expires them. */
  tokenEpoch: number;
  /**
   * The latest `visibleAt` given so far: a change never becomes visible before an earlier one of the
   * same account, so what a listing shows is always every change up to some change number.
   */
  visibleUntil: number;
}

/**
 * People quotas per user (OAuth client and account), by Google's categories: off by default. Limits are
 * calls per sliding minute; 0 switches a category off.
 */
export interface PeopleQuota {
  enabled: boolean;
  criticalReadsPerMinute: number;
  criticalWritesPerMinute: number;
  deletesPerMinute: number;
  groupReadsPerMinute: number;
  groupWritesPerMinute: number;
  /** The first page of a full listing has its own quota at Google, fixed and not raisable. */
  fullSyncFirstPagesPerMinute: number;
}

export interface PeopleData {
  seq: number;
  accounts: Record<string, PeopleAccount>;
  /** How long a change stays out of connections.list (Google: "several minutes"); default 0. */
  propagationDelayMs: number;
  quota: PeopleQuota;
  /** Times of accepted calls per `<category>\n<client>\n<account>`, within the last minute. */
  usage: Record<string, number[]>;
}
