/**
 * people.connections.list: full and incremental listings of the caller's contacts with Google's paging
 * and sync rules.
 *
 * A listing stands at a change number, `upto`: the newest one that has propagated when its first page is
 * asked (a change younger than the propagation delay, and every change after it, is not listed yet).
 * Every page of the listing shows the contacts as they were at `upto`, and leaves out a contact changed
 * since (visibly): it comes with the next incremental sync, whose token is `upto`. A page token needs
 * only the sort key of the last item sent. `nextSyncToken` comes only on the last page.
 */
import { errors } from './errors.js';
import { readMask, readSources } from './fields.js';
import { renderPerson } from './person-output.js';
import { type PeopleStore, versionAt } from './store.js';
import { decodePageToken, decodeSyncToken, digest, encodePageToken, encodeSyncToken } from './tokens.js';
import type { ContactVersion, StoredContact } from './types.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
const SORT_ORDERS = [
  'LAST_MODIFIED_ASCENDING',
  'LAST_MODIFIED_DESCENDING',
  'FIRST_NAME_ASCENDING',
  'LAST_NAME_ASCENDING',
] as const;
type SortOrder = (typeof SORT_ORDERS)[number];

export interface ConnectionsQuery {
  readonly personFields?: unknown;
  readonly pageSize?: unknown;
  readonly pageToken?: unknown;
  readonly sources?: unknown;
  readonly sortOrder?: unknown;
  readonly requestSyncToken?: unknown;
  readonly syncToken?: unknown;
}

type Key = (number | string)[];

/** The first page of a full listing (no page token, no sync token): Google's extra quota applies. */
export function isFirstPageOfFullSync(query: ConnectionsQuery): boolean {
  return text(query.pageToken) === undefined && text(query.syncToken) === undefined;
}

export function listConnections(
  store: PeopleStore,
  account: string,
  query: ConnectionsQuery,
): Record<string, unknown> {
  const mask = readMask(query.personFields, 'personFields', 'people.connections/list');
  const pageSize = parsePageSize(query.pageSize);
  const sources = readSources(query.sources);
  if (!sources.includes('READ_SOURCE_TYPE_CONTACT'))
    throw errors.invalid('sources must include READ_SOURCE_TYPE_CONTACT for connections.list.');
  const sortOrder = parseSortOrder(query.sortOrder);
  const requestSyncToken = parseBoolean(query.requestSyncToken, 'requestSyncToken');
  const syncToken = text(query.syncToken);
  const pageToken = text(query.pageToken);
  const fields = [...mask].sort();
  const chainParams = digest([fields, sources]);
  const pageParams = digest([fields, sources, sortOrder, pageSize, requestSyncToken, syncToken ?? null]);
  const now = store.now();
  const epoch = store.account(account).tokenEpoch;

  let since: number | undefined;
  let chainStart = now;
  if (syncToken !== undefined) {
    const token = decodeSyncToken(syncToken, {
      account,
      epoch,
      currentSeq: store.seq,
      now,
      params: chainParams,
    });
    since = token.seq;
    chainStart = token.chainStart;
  }
  let upto: number;
  let after: Key = [];
  const visible = store.visibleCutoff(account);
  if (pageToken !== undefined) {
    const page = decodePageToken(pageToken, account, pageParams);
    upto = page.upto;
    after = [...page.after];
    since = page.since;
    chainStart = page.chainStart;
  } else {
    upto = visible;
    if (syncToken === undefined) store.forgetOldTombstones(account);
  }

  const incremental = since !== undefined;
  const items: { contact: StoredContact; version: ContactVersion; key: Key }[] = [];
  for (const contact of store.contacts(account)) {
    const version = versionAt(contact, upto);
    if (!version) continue;
    // Changed (visibly) since this listing began: it comes with the next incremental sync instead.
    if (visible > upto && contact.versions.some((v) => v.seq > upto && v.seq <= visible)) continue;
    if (incremental ? version.seq <= (since as number) : version.deleted) continue;
    items.push({
      contact,
      version,
      key: sortKey(version, incremental ? 'LAST_MODIFIED_ASCENDING' : sortOrder),
    });
  }
  items.sort((a, b) => compareKeys(a.key, b.key));
  const start = after.length === 0 ? 0 : items.findIndex((item) => compareKeys(item.key, after) > 0);
  const from = start < 0 ? items.length : start;
  const page = items.slice(from, from + pageSize);
  const answer: Record<string, unknown> = {};
  if (page.length > 0)
    answer.connections = page.map(({ contact, version }) =>
      renderPerson(contact.id, version, mask, { sync: incremental }),
    );
  const last = page.at(-1);
  if (last !== undefined && from + page.length < items.length)
    answer.nextPageToken = encodePageToken({
      account,
      upto,
      after: last.key,
      since,
      chainStart,
      params: pageParams,
    });
  else if (requestSyncToken || incremental)
    answer.nextSyncToken = encodeSyncToken({ account, seq: upto, chainStart, epoch, params: chainParams });
  // Google's JSON leaves zero counts out, like empty lists.
  if (items.length > 0) {
    answer.totalPeople = items.length;
    answer.totalItems = items.length;
  }
  return answer;
}

function parsePageSize(value: unknown): number {
  const given = text(value);
  if (given === undefined || given === '') return DEFAULT_PAGE_SIZE;
  if (!/^-?\d+$/.test(given)) throw errors.invalid(`Invalid value at 'page_size' (TYPE_INT32), "${given}"`);
  const size = Number(given);
  if (size < 0 || size > MAX_PAGE_SIZE)
    throw errors.invalid(`pageSize must be between 1 and ${MAX_PAGE_SIZE}, inclusive.`);
  return size === 0 ? DEFAULT_PAGE_SIZE : size;
}

function parseSortOrder(value: unknown): SortOrder {
  const given = text(value);
  if (given === undefined || given === '') return 'LAST_MODIFIED_ASCENDING';
  if (!(SORT_ORDERS as readonly string[]).includes(given))
    throw errors.invalid(
      `Invalid value at 'sort_order' (type.googleapis.com/google.people.v1.ListConnectionsRequest.SortOrder), "${given}"`,
    );
  return given as SortOrder;
}

export function parseBoolean(value: unknown, name: string): boolean {
  const given = text(value);
  if (given === undefined || given === '' || given === 'false') return false;
  if (given === 'true') return true;
  throw errors.invalid(`Invalid value at '${name}' (TYPE_BOOL), "${given}"`);
}

/** Contacts without the sorted-on name come after those with one; ties in change order. */
function sortKey(version: ContactVersion, order: SortOrder): Key {
  if (order === 'LAST_MODIFIED_ASCENDING') return [version.seq];
  if (order === 'LAST_MODIFIED_DESCENDING') return [-version.seq];
  const name = version.fields.names?.[0];
  const part = name?.[order === 'FIRST_NAME_ASCENDING' ? 'givenName' : 'familyName'];
  const value = typeof part === 'string' ? part.trim().toLowerCase() : '';
  return [value === '' ? 1 : 0, value, version.seq];
}

function compareKeys(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const x = a[index];
    const y = b[index];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

export function text(value: unknown): string | undefined {
  if (Array.isArray(value)) return text(value[0]);
  return typeof value === 'string' ? value : undefined;
}
