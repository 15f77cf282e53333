/**
 * events.list and events.instances: full and incremental listings with Google's paging rules.
 *
 * Consistency across pages without storing snapshots: the first page fixes `upto`, the change number the
 * listing stands at, and every page leaves out items changed after it; the default order is the change
 * order, so a page token only needs the sort key of the last item sent. An event changed while a client
 * pages is therefore left out of this listing and reported by the next incremental sync, whose token is
 * `upto`; so is an occurrence edited meanwhile (its exception is newer than `upto`), rather than shown
 * as it was. `nextSyncToken` comes only on the last page; `nextPageToken` on every other one.
 */
import { errors } from './errors.js';
import { type RenderContext, renderEvent } from './event-output.js';
import { withRaw, withRawStamp } from './raw.js';
import { exceptionsBySeries, expand, horizonFor, isSeries, whenMs } from './series.js';
import type { CalendarStore } from './store.js';
import { decodePageToken, decodeSyncToken, encodePageToken, encodeSyncToken } from './tokens.js';
import type { StoredCalendar, StoredEvent, Tombstone } from './types.js';
import { isAllDay } from './types.js';
import { civilFromUtc, formatUtcMillis, instantOf, isValidZone, parseDate, parseDateTime } from './tz.js';

export const DEFAULT_MAX_RESULTS = 250;
export const MAX_MAX_RESULTS = 2500;

/** Parameters Google refuses together with syncToken (they would make the increment ill-defined). */
const NOT_WITH_SYNC_TOKEN = [
  'iCalUID',
  'orderBy',
  'privateExtendedProperty',
  'q',
  'sharedExtendedProperty',
  'timeMin',
  'timeMax',
  'updatedMin',
] as const;

export type Query = Record<string, unknown>;

interface ListParams {
  readonly maxResults: number;
  readonly pageToken: string | undefined;
  readonly syncToken: string | undefined;
  readonly showDeleted: boolean;
  readonly singleEvents: boolean;
  readonly orderBy: 'startTime' | 'updated' | undefined;
  readonly timeMin: number | undefined;
  readonly timeMax: number | undefined;
  readonly updatedMin: number | undefined;
  readonly q: string | undefined;
  readonly iCalUID: string | undefined;
  readonly privateProperties: readonly [string, string][];
  readonly sharedProperties: readonly [string, string][];
  readonly zone: string;
}

interface Item {
  readonly event: StoredEvent;
  readonly key: (number | string)[];
}

export interface EventsPage {
  readonly answer: Record<string, unknown>;
  /** When there is a next page: up to `peek` items it and the following pages would carry. */
  readonly following: readonly StoredEvent[];
}

export function listEvents(
  store: CalendarStore,
  calendar: StoredCalendar,
  query: Query,
  context: Omit<RenderContext, 'zone' | 'listing'>,
  peek = 0,
): EventsPage {
  const params = parseParams(query, calendar, { allowSyncToken: true });
  let since: number | undefined;
  let upto = store.seq;
  let after: readonly (number | string)[] = [];
  if (params.syncToken !== undefined) {
    since = decodeSyncToken(params.syncToken, calendar.id, calendar.tokenEpoch, store.seq).seq;
  }
  if (params.pageToken !== undefined) {
    const page = decodePageToken(params.pageToken, calendar.id);
    upto = page.upto;
    after = page.after;
    since = page.since ?? since;
  }
  const { events, items } = sortedListing(store, calendar, params, since, upto);
  const start = firstAfter(items, after);
  const size = Math.min(params.maxResults, store.maxPageSize ?? MAX_MAX_RESULTS);
  const page = items.slice(start, start + size);
  const render = { ...context, zone: params.zone, listing: true };
  const answer: Record<string, unknown> = {
    kind: 'calendar#events',
    etag: `"p${store.seq}"`,
    summary: calendar.summary,
    ...(calendar.description === undefined ? {} : { description: calendar.description }),
    updated: formatUtcMillis(
      events.reduce((latest, event) => Math.max(latest, event.updated), 0) || store.now(),
    ),
    timeZone: calendar.timeZone,
    accessRole: context.accessRole,
    defaultReminders: [],
  };
  const last = page.at(-1);
  const more = items.length - start > page.length && last !== undefined;
  if (more) answer.nextPageToken = encodePageToken({ calendarId: calendar.id, upto, after: last.key, since });
  else
    answer.nextSyncToken = encodeSyncToken({
      calendarId: calendar.id,
      seq: upto,
      epoch: calendar.tokenEpoch,
    });
  answer.items = page.map((item) => withRaw(store, calendar.id, item.event, renderEvent(item.event, render)));
  const next = start + page.length;
  return { answer, following: more ? items.slice(next, next + peek).map((item) => item.event) : [] };
}

interface Listing {
  readonly events: readonly StoredEvent[];
  readonly items: readonly Item[];
}

/** How long the pages of one listing may reuse it (series are expanded up to a horizon from now). */
const LISTING_REUSE_MS = 30_000;
const lastListings = new WeakMap<CalendarStore, { key: string; at: number; listing: Listing }>();

/**
 * Every item of a listing, in order. A client pages through one listing with page tokens, and each
 * page needs the whole listing to find its place: the last one computed is kept while nothing in
 * the store changed, so that the pages of a 10,000-event calendar expand its series once, not once
 * per page. Any change gives the store a new revision, and the listing is computed again.
 */
function sortedListing(
  store: CalendarStore,
  calendar: StoredCalendar,
  params: ListParams,
  since: number | undefined,
  upto: number,
): Listing {
  const key = JSON.stringify([
    store.revision,
    calendar.id,
    since,
    upto,
    { ...params, pageToken: null, maxResults: null },
  ]);
  const kept = lastListings.get(store);
  if (kept && kept.key === key && Math.abs(store.now() - kept.at) < LISTING_REUSE_MS) return kept.listing;
  const all = Object.values(store.events(calendar.id));
  const events = all.filter((event) => event.changed <= upto);
  // Stored after `upto`: an exception made while the client pages hides its occurrence too.
  const later = new Set(all.filter((event) => event.changed > upto).map((event) => event.id));
  const stamp = (event: StoredEvent) => withRawStamp(store, calendar.id, event);
  const candidates = (
    since === undefined
      ? fullCandidates(events, params, store.now(), stamp)
      : incrementalCandidates(events, store.tombstones(calendar.id), since, upto, params, store.now(), stamp)
  ).filter((event) => event.changed <= upto && !later.has(event.id));
  const listing = { events, items: sortItems(candidates, params) };
  lastListings.set(store, { key, at: store.now(), listing });
  return listing;
}

/** The index of the first item after `after` (items are sorted by key). */
function firstAfter(items: readonly Item[], after: readonly (number | string)[]): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareKeys((items[middle] as Item).key, after) > 0) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** events.instances: the occurrences of one series, exceptions in place, ordered by start. */
export function listInstances(
  store: CalendarStore,
  calendar: StoredCalendar,
  master: StoredEvent,
  query: Query,
  context: Omit<RenderContext, 'zone' | 'listing'>,
): Record<string, unknown> {
  for (const name of ['syncToken', 'orderBy', 'singleEvents', 'q'])
    if (query[name] !== undefined) throw errors.invalidParameter(name);
  const params = parseParams(query, calendar, { allowSyncToken: false });
  const upto =
    params.pageToken === undefined ? store.seq : decodePageToken(params.pageToken, calendar.id).upto;
  const after = params.pageToken === undefined ? [] : decodePageToken(params.pageToken, calendar.id).after;
  const exceptions = exceptionsBySeries(Object.values(store.events(calendar.id))).get(master.id) ?? [];
  let instances =
    master.status === 'cancelled'
      ? []
      : expand(master, exceptions, horizonFor(master, store.now(), params.timeMax)).map((event) =>
          withRawStamp(store, calendar.id, event),
        );
  instances = instances.filter(
    (event) =>
      (params.showDeleted || event.status !== 'cancelled') &&
      inWindow(event, params) &&
      event.changed <= upto,
  );
  const originalStart =
    typeof query.originalStart === 'string' ? parseDateTime(query.originalStart) : undefined;
  if (originalStart !== undefined)
    instances = instances.filter((event) => whenMs(event.originalStart ?? event.start) === originalStart);
  const items = sortItems(instances, { ...params, orderBy: 'startTime' }).filter(
    (item) => compareKeys(item.key, after) > 0,
  );
  const page = items.slice(0, Math.min(params.maxResults, store.maxPageSize ?? MAX_MAX_RESULTS));
  const answer: Record<string, unknown> = {
    kind: 'calendar#events',
    etag: `"p${store.seq}"`,
    summary: calendar.summary,
    updated: formatUtcMillis(master.updated),
    timeZone: calendar.timeZone,
    accessRole: context.accessRole,
    defaultReminders: [],
  };
  const last = page.at(-1);
  if (items.length > page.length && last)
    answer.nextPageToken = encodePageToken({
      calendarId: calendar.id,
      upto,
      after: last.key,
      since: undefined,
    });
  answer.items = page.map((item) =>
    withRaw(
      store,
      calendar.id,
      item.event,
      renderEvent(item.event, { ...context, zone: params.zone, listing: true }),
    ),
  );
  return answer;
}

/** `stamp` gives occurrences computed from a series their raw override's change (raw.ts). */
function fullCandidates(
  events: readonly StoredEvent[],
  params: ListParams,
  now: number,
  stamp: (event: StoredEvent) => StoredEvent,
): StoredEvent[] {
  const out: StoredEvent[] = [];
  const grouped = exceptionsBySeries(events);
  const byId = new Map(events.map((event) => [event.id, event]));
  for (const event of events) {
    if (params.singleEvents) {
      if (event.recurringEventId !== undefined && byId.has(event.recurringEventId)) continue;
      if (isSeries(event)) {
        if (event.status === 'cancelled') continue;
        out.push(
          ...expand(event, grouped.get(event.id) ?? [], horizonFor(event, now, params.timeMax)).map(stamp),
        );
        continue;
      }
    }
    out.push(event);
  }
  return out.filter((event) => {
    if (!matchesFilters(event, params)) return false;
    const deletedSinceUpdatedMin = params.updatedMin !== undefined && event.status === 'cancelled';
    // Google lists cancelled occurrences of a live series when neither showDeleted nor singleEvents is set.
    const cancelledException =
      !params.singleEvents &&
      event.recurringEventId !== undefined &&
      byId.get(event.recurringEventId)?.status !== 'cancelled';
    if (event.status === 'cancelled' && !params.showDeleted && !deletedSinceUpdatedMin && !cancelledException)
      return false;
    if (isSeries(event)) return seriesInWindow(event, params, now);
    return inWindow(event, params);
  });
}

/**
 * Everything changed in (since, upto]. With singleEvents a changed series reports all its occurrences,
 * and occurrences it lost (tombstones) come as cancelled; the series itself is reported (cancelled) only
 * once deleted, so clients keyed on either the series id or the instance ids both learn of the deletion.
 */
function incrementalCandidates(
  events: readonly StoredEvent[],
  tombstones: readonly Tombstone[],
  since: number,
  upto: number,
  params: ListParams,
  now: number,
  stamp: (event: StoredEvent) => StoredEvent,
): StoredEvent[] {
  const changed = (event: { changed: number }) => event.changed > since && event.changed <= upto;
  if (!params.singleEvents) return events.filter(changed);
  const out = new Map<string, StoredEvent>();
  const grouped = exceptionsBySeries(events);
  const byId = new Map(events.map((event) => [event.id, event]));
  for (const event of events) {
    if (isSeries(event)) {
      if (event.status === 'cancelled') {
        if (changed(event)) out.set(event.id, event);
        for (const exception of grouped.get(event.id) ?? [])
          if (changed(exception)) out.set(exception.id, exception);
        continue;
      }
      const seriesChanged = changed(event);
      const instances = expand(event, grouped.get(event.id) ?? [], horizonFor(event, now, undefined));
      for (const instance of instances.map(stamp))
        if (seriesChanged || changed(instance)) out.set(instance.id, instance);
    } else if (
      changed(event) &&
      (event.recurringEventId === undefined || !byId.has(event.recurringEventId))
    ) {
      out.set(event.id, event);
    }
  }
  for (const tombstone of tombstones) {
    if (!changed(tombstone) || out.has(tombstone.id) || byId.has(tombstone.id)) continue;
    const master = byId.get(tombstone.recurringEventId);
    if (!master) continue;
    out.set(tombstone.id, {
      ...master,
      id: tombstone.id,
      status: 'cancelled',
      recurringEventId: tombstone.recurringEventId,
      originalStart: tombstone.originalStart,
      changed: tombstone.changed,
      updated: tombstone.updated,
      etag: tombstone.etag,
    });
  }
  return [...out.values()];
}

function sortItems(events: readonly StoredEvent[], params: Pick<ListParams, 'orderBy' | 'zone'>): Item[] {
  const keyOf = (event: StoredEvent): (number | string)[] => {
    if (params.orderBy === 'startTime') return [startMs(event, params.zone), event.id];
    if (params.orderBy === 'updated') return [event.updated, event.id];
    return [event.changed, event.id];
  };
  return events.map((event) => ({ event, key: keyOf(event) })).sort((a, b) => compareKeys(a.key, b.key));
}

function compareKeys(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    const left = a[index];
    const right = b[index];
    if (left === right) continue;
    if (left === undefined) return -1;
    if (right === undefined) return 1;
    return left < right ? -1 : 1;
  }
  return 0;
}

/** All-day dates start at midnight in the listing's zone: what timeMin/timeMax compare them with. */
function startMs(event: StoredEvent, zone: string): number {
  return isAllDay(event.start) ? midnight(event.start.date, zone) : event.start.dateTime;
}

function endMs(event: StoredEvent, zone: string): number {
  return isAllDay(event.end) ? midnight(event.end.date, zone) : event.end.dateTime;
}

function midnight(date: string, zone: string): number {
  return instantOf(civilFromUtc(parseDate(date) ?? 0), zone);
}

/** timeMin bounds the end (exclusive), timeMax the start (exclusive), as Google documents. */
function inWindow(event: StoredEvent, params: ListParams): boolean {
  if (params.timeMin !== undefined && !(endMs(event, params.zone) > params.timeMin)) {
    // A zero-length event at timeMin still overlaps the instant.
    if (
      !(
        startMs(event, params.zone) === endMs(event, params.zone) &&
        startMs(event, params.zone) >= params.timeMin
      )
    )
      return false;
  }
  if (params.timeMax !== undefined && !(startMs(event, params.zone) < params.timeMax)) return false;
  return true;
}

/** A series (listed as one item without singleEvents) is in the window when one occurrence is. */
function seriesInWindow(master: StoredEvent, params: ListParams, now: number): boolean {
  if (params.timeMin === undefined && params.timeMax === undefined) return true;
  return expand(master, [], horizonFor(master, now, params.timeMax)).some((instance) =>
    inWindow(instance, params),
  );
}

function matchesFilters(event: StoredEvent, params: ListParams): boolean {
  if (params.updatedMin !== undefined && event.updated < params.updatedMin) return false;
  if (params.iCalUID !== undefined && event.iCalUID !== params.iCalUID) return false;
  for (const [key, value] of params.privateProperties)
    if (event.extendedProperties?.private?.[key] !== value) return false;
  for (const [key, value] of params.sharedProperties)
    if (event.extendedProperties?.shared?.[key] !== value) return false;
  if (params.q !== undefined) {
    const text = [
      event.summary,
      event.description,
      event.location,
      ...(event.attendees ?? []).map((a) => a.email),
    ]
      .filter((part) => part !== undefined)
      .join(' ')
      .toLowerCase();
    if (
      !params.q
        .toLowerCase()
        .split(/\s+/)
        .filter(Boolean)
        .every((word) => text.includes(word))
    )
      return false;
  }
  return true;
}

function parseParams(
  query: Query,
  calendar: StoredCalendar,
  options: { allowSyncToken: boolean },
): ListParams {
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw errors.invalidParameter(name);
    return value;
  };
  const list = (name: string): string[] => {
    const value = query[name];
    if (value === undefined) return [];
    const values = Array.isArray(value) ? value : [value];
    if (!values.every((item) => typeof item === 'string')) throw errors.invalidParameter(name);
    return values as string[];
  };
  const bool = (name: string): boolean | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (value !== 'true' && value !== 'false') throw errors.invalidParameter(name);
    return value === 'true';
  };
  const syncToken = options.allowSyncToken ? text('syncToken') : undefined;
  if (syncToken !== undefined) {
    for (const name of NOT_WITH_SYNC_TOKEN)
      if (query[name] !== undefined)
        throw errors.invalid(`The parameter ${name} cannot be used with a syncToken.`, name);
    if (bool('showDeleted') === false)
      throw errors.invalid('showDeleted cannot be false with a syncToken.', 'showDeleted');
  }
  const maxText = text('maxResults');
  let maxResults = DEFAULT_MAX_RESULTS;
  if (maxText !== undefined) {
    if (!/^\d+$/.test(maxText) || Number(maxText) < 1) throw errors.invalidParameter('maxResults');
    maxResults = Math.min(Number(maxText), MAX_MAX_RESULTS);
  }
  const orderBy = text('orderBy');
  if (orderBy !== undefined && orderBy !== 'startTime' && orderBy !== 'updated')
    throw errors.invalidParameter('orderBy');
  const singleEvents = bool('singleEvents') ?? false;
  if (orderBy === 'startTime' && !singleEvents)
    throw errors.badRequest('The requested ordering is not available for the particular query.');
  const instant = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    const ms = parseDateTime(value);
    if (ms === undefined) throw errors.badRequest('Bad Request');
    return ms;
  };
  const timeMin = instant('timeMin');
  const timeMax = instant('timeMax');
  if (timeMin !== undefined && timeMax !== undefined && timeMax <= timeMin)
    throw errors.timeRangeEmpty('timeMax');
  const zone = text('timeZone') ?? calendar.timeZone;
  const pairs = (name: string): [string, string][] =>
    list(name).map((item) => {
      const equals = item.indexOf('=');
      if (equals <= 0) throw errors.invalidParameter(name);
      return [item.slice(0, equals), item.slice(equals + 1)];
    });
  return {
    maxResults,
    pageToken: text('pageToken'),
    syncToken,
    showDeleted: syncToken !== undefined ? true : (bool('showDeleted') ?? false),
    singleEvents,
    orderBy,
    timeMin,
    timeMax,
    updatedMin: instant('updatedMin'),
    q: text('q'),
    iCalUID: text('iCalUID'),
    privateProperties: pairs('privateExtendedProperty'),
    sharedProperties: pairs('sharedExtendedProperty'),
    zone: isValidZoneOr(zone, calendar.timeZone),
  };
}

/** An unknown `timeZone` parameter falls back to the calendar's zone rather than failing the listing. */
function isValidZoneOr(zone: string, fallback: string): string {
  return isValidZone(zone) ? zone : fallback;
}
