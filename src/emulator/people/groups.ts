/**
 * contactGroups.list, get, create and members.modify: the account's system groups (myContacts, starred,
 * ...) and user groups (`contactGroups/<hex id>`), with Google's parameters and limits. The listing
 * comes in change order; its sync token returns the groups changed since.
 */
import type { ContactsService } from './contacts-service.js';
import { errors } from './errors.js';
import { text } from './listing.js';
import { renderGroup } from './person-output.js';
import {
  decodeGroupPageToken,
  decodeGroupSyncToken,
  encodeGroupPageToken,
  encodeGroupSyncToken,
} from './tokens.js';
import type { FieldItem } from './types.js';

const GROUP_FIELDS = ['clientData', 'groupType', 'memberCount', 'metadata', 'name'];
const DEFAULT_GROUP_FIELDS = ['metadata', 'groupType', 'memberCount', 'name'];
export const DEFAULT_GROUP_PAGE_SIZE = 30;
const MAX_GROUP_PAGE_SIZE = 1000;
const MAX_MEMBERS = 20_000;

export function groupFields(value: unknown): ReadonlySet<string> {
  const given = text(value);
  const paths =
    given === undefined || given.trim() === ''
      ? DEFAULT_GROUP_FIELDS
      : given
          .split(',')
          .map((path) => path.trim())
          .filter(Boolean);
  for (const path of paths)
    if (!GROUP_FIELDS.includes(path))
      throw errors.invalid(
        `Invalid groupFields mask path: "${path}". Valid paths are documented at https://developers.google.com/people/api/rest/v1/contactGroups/list.`,
      );
  return new Set(paths);
}

export function listGroups(
  service: ContactsService,
  account: string,
  query: Record<string, unknown>,
): Record<string, unknown> {
  const store = service.store;
  const fields = groupFields(query.groupFields);
  const sizeText = text(query.pageSize);
  let pageSize = DEFAULT_GROUP_PAGE_SIZE;
  if (sizeText !== undefined && sizeText !== '') {
    if (!/^\d+$/.test(sizeText) || Number(sizeText) > MAX_GROUP_PAGE_SIZE)
      throw errors.invalid(`pageSize must be between 1 and ${MAX_GROUP_PAGE_SIZE}, inclusive.`);
    pageSize = Number(sizeText) || DEFAULT_GROUP_PAGE_SIZE;
  }
  const syncText = text(query.syncToken);
  const pageText = text(query.pageToken);
  let since = syncText === undefined ? undefined : decodeGroupSyncToken(syncText, account, store.seq);
  let offset = 0;
  if (pageText !== undefined) {
    const page = decodeGroupPageToken(pageText, account);
    offset = page.offset;
    since = page.since;
  }
  const groups = store.groups(account).filter((group) => since === undefined || group.seq > since);
  const page = groups.slice(offset, offset + pageSize);
  const answer: Record<string, unknown> = {};
  if (page.length > 0)
    answer.contactGroups = page.map((group) =>
      renderGroup(group, service.members(account, group.id), fields),
    );
  if (groups.length > 0) answer.totalItems = groups.length;
  if (offset + page.length < groups.length)
    answer.nextPageToken = encodeGroupPageToken(account, { offset: offset + page.length, since });
  else answer.nextSyncToken = encodeGroupSyncToken(account, store.seq);
  return answer;
}

export function getGroup(
  service: ContactsService,
  account: string,
  groupId: string,
  query: Record<string, unknown>,
): Record<string, unknown> {
  const group = service.store.group(account, groupId);
  if (!group) throw errors.notFound();
  const maxText = text(query.maxMembers);
  let maxMembers = 0;
  if (maxText !== undefined && maxText !== '') {
    if (!/^\d+$/.test(maxText) || Number(maxText) > MAX_MEMBERS)
      throw errors.invalid(`maxMembers must be between 0 and ${MAX_MEMBERS}.`);
    maxMembers = Number(maxText);
  }
  return renderGroup(group, service.members(account, group.id), groupFields(query.groupFields), maxMembers);
}

/** contactGroups.create: `{contactGroup: {name, clientData?}, readGroupFields?}`; a taken name is 409. */
export function createGroup(
  service: ContactsService,
  account: string,
  body: unknown,
): Record<string, unknown> {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const contactGroup = (record.contactGroup ?? {}) as Record<string, unknown>;
  if (typeof contactGroup.name !== 'string' || contactGroup.name.trim() === '')
    throw errors.invalid('contactGroup.name is required.');
  const clientData = Array.isArray(contactGroup.clientData)
    ? contactGroup.clientData.filter(
        (item): item is FieldItem => typeof item === 'object' && item !== null && !Array.isArray(item),
      )
    : undefined;
  const group = service.createGroup(account, contactGroup.name, clientData);
  return renderGroup(group, [], groupFields(record.readGroupFields));
}

/** members.modify: `{resourceNamesToAdd?, resourceNamesToRemove?}` (at most 1000 together). */
export function modifyMembers(
  service: ContactsService,
  account: string,
  groupId: string,
  body: unknown,
): Record<string, unknown> {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const names = (value: unknown, field: string): string[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
      throw errors.invalid(`${field} must be a list of resource names.`);
    return value as string[];
  };
  const change = service.modifyMembers(
    account,
    groupId,
    names(record.resourceNamesToAdd, 'resourceNamesToAdd'),
    names(record.resourceNamesToRemove, 'resourceNamesToRemove'),
  );
  const answer: Record<string, unknown> = {};
  if (change.notFound.length > 0) answer.notFoundResourceNames = change.notFound;
  if (change.cannotRemoveLast.length > 0)
    answer.canNotRemoveLastContactGroupResourceNames = change.cannotRemoveLast;
  return answer;
}
