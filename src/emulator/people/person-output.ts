/**
 * A stored contact version rendered as Google's Person resource: `resourceName` and `etag` always, then
 * only the fields the read mask names, each item with Google's per-item metadata (the CONTACT source,
 * `primary` on the first). Empty lists are left out, as Google's JSON leaves out empty repeated fields.
 * Deleted contacts render as the tombstone incremental sync returns.
 */
import { SYSTEM_GROUPS } from './store.js';
import type { ContactVersion, FieldItem, StoredGroup } from './types.js';

export interface RenderOptions {
  /** Incremental listings (a sync token) are the only answers carrying `previousResourceNames`. */
  readonly sync?: boolean;
}

/** The source id Google gives a contact: its id in hex. */
export function sourceId(contactId: string): string {
  return BigInt(contactId).toString(16);
}

export function renderPerson(
  contactId: string,
  version: ContactVersion,
  mask: ReadonlySet<string>,
  options: RenderOptions = {},
): Record<string, unknown> {
  const id = sourceId(contactId);
  const source = { type: 'CONTACT', id };
  if (version.deleted)
    return {
      resourceName: version.resourceName,
      etag: version.etag,
      metadata: {
        sources: [{ ...source, etag: version.sourceEtag, updateTime: iso(version.updateTime) }],
        ...(options.sync && version.previousResourceNames.length > 0
          ? { previousResourceNames: [...version.previousResourceNames] }
          : {}),
        deleted: true,
        objectType: 'PERSON',
      },
    };
  const person: Record<string, unknown> = { resourceName: version.resourceName, etag: version.etag };
  if (mask.has('metadata'))
    person.metadata = {
      sources: [{ ...source, etag: version.sourceEtag, updateTime: iso(version.updateTime) }],
      ...(options.sync && version.previousResourceNames.length > 0
        ? { previousResourceNames: [...version.previousResourceNames] }
        : {}),
      objectType: 'PERSON',
    };
  for (const [field, items] of Object.entries(version.fields)) {
    if (!mask.has(field) || items.length === 0) continue;
    person[field] = items.map((item, index) => withMetadata(item, source, index === 0));
  }
  if (mask.has('memberships') && version.groups.length > 0)
    person.memberships = version.groups.map((groupId) => ({
      metadata: { source },
      contactGroupMembership: {
        contactGroupId: groupId,
        contactGroupResourceName: `contactGroups/${groupId}`,
      },
    }));
  return person;
}

function withMetadata(item: FieldItem, source: { type: string; id: string }, primary: boolean): FieldItem {
  return { metadata: { ...(primary ? { primary: true } : {}), source }, ...structuredClone(item) };
}

export const DEFAULT_GROUP_FIELDS: ReadonlySet<string> = new Set([
  'metadata',
  'groupType',
  'memberCount',
  'name',
]);

/** A contact group as Google renders it; `members` adds memberResourceNames (contactGroups.get). */
export function renderGroup(
  group: StoredGroup,
  memberNames: readonly string[],
  fields: ReadonlySet<string> = DEFAULT_GROUP_FIELDS,
  maxMembers = 0,
): Record<string, unknown> {
  const rendered: Record<string, unknown> = {
    resourceName: `contactGroups/${group.id}`,
    etag: group.etag,
  };
  if (fields.has('metadata')) rendered.metadata = { updateTime: iso(group.updated) };
  if (fields.has('groupType')) rendered.groupType = group.groupType;
  if (fields.has('name')) {
    const system = group.groupType === 'SYSTEM_CONTACT_GROUP';
    // System groups are named by their id, and shown under a translated name.
    rendered.name = system ? group.id : group.name;
    rendered.formattedName = system ? (SYSTEM_GROUPS[group.id] ?? group.name) : group.name;
  }
  if (fields.has('clientData') && group.clientData && group.clientData.length > 0)
    rendered.clientData = structuredClone(group.clientData);
  if (maxMembers > 0 && memberNames.length > 0)
    rendered.memberResourceNames = memberNames.slice(0, maxMembers);
  if (fields.has('memberCount') && memberNames.length > 0) rendered.memberCount = memberNames.length;
  return rendered;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
