/**
 * Calendar state of the emulated Google: per account its calendarList, the calendars, their events and
 * the store-wide change counter that sync tokens point into. It stores, looks up and stamps changes;
 * the API rules live in the services. Every change, whether through the API or the control API, goes
 * through `stamp`, which is what makes both kinds look the same to a syncing client.
 */
import { randomBytes } from 'node:crypto';
import { parseInstanceId } from './series.js';
import type {
  AccessRole,
  CalendarData,
  ChangeWhilePaging,
  ListEntry,
  QuotaConfig,
  RawOverride,
  SentUpdate,
  StoredCalendar,
  StoredEvent,
  Tombstone,
} from './types.js';

export const DEFAULT_QUOTA: QuotaConfig = {
  enabled: false,
  perUserPerMinute: 600,
  perProjectPerMinute: 10_000,
  perProjectPerDay: 0,
  userLimitStatus: 403,
};

/** Google's palette for calendarList colorIds 1..24; the emulator hands them out in turn. */
const COLORS = [
  '#ac725e',
  '#d06b64',
  '#f83a22',
  '#fa573c',
  '#ff7537',
  '#ffad46',
  '#42d692',
  '#16a765',
  '#7bd148',
  '#b3dc6c',
  '#fbe983',
  '#fad165',
  '#92e1c0',
  '#9fe1e7',
  '#9fc6e7',
  '#4986e7',
  '#9a9cff',
  '#b99aff',
  '#c2c2c2',
  '#cabdbf',
  '#cca6ac',
  '#f691b2',
  '#cd74e6',
  '#a47ae2',
];

/**
 * What changed, as push notifications (channels.ts) need to know it: the events of a calendar, an
 * account's calendarList, a calendar leaving one account's list (`account`) or every list (deleted), or
 * everything (reset). Told synchronously, one call per change; listeners coalesce.
 */
export type StoreChange =
  | { readonly kind: 'events'; readonly calendarId: string }
  | { readonly kind: 'calendarList'; readonly account: string }
  | { readonly kind: 'calendarGone'; readonly calendarId: string; readonly account?: string }
  | { readonly kind: 'reset' };

export interface NewCalendar {
  readonly id?: string | undefined;
  readonly summary?: string | undefined;
  readonly description?: string | undefined;
  readonly timeZone?: string | undefined;
  readonly summaryOverride?: string | undefined;
  readonly colorId?: string | undefined;
}

function emptyData(): CalendarData {
  return {
    seq: 0,
    accounts: {},
    calendars: {},
    events: {},
    tombstones: {},
    quota: { ...DEFAULT_QUOTA },
    usage: { user: {}, project: {}, projectDay: {} },
    maxPageSize: null,
    changeWhilePaging: null,
    raw: {},
    sentUpdates: [],
  };
}

export class CalendarStore {
  private data: CalendarData = emptyData();
  private loads = 0;
  private readonly listeners: ((change: StoreChange) => void)[] = [];
  readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Calls `listener` on every change made from now on (not on `load`). */
  onChange(listener: (change: StoreChange) => void): void {
    this.listeners.push(listener);
  }

  private changed(change: StoreChange): void {
    for (const listener of this.listeners) listener(change);
  }

  reset(): void {
    this.data = emptyData();
    this.loads++;
    this.changed({ kind: 'reset' });
  }

  /**
   * Changes whenever what a listing shows may have changed: every change takes a new change number
   * (stamp), and a reset or a load replaces the whole state.
   */
  get revision(): string {
    return `${this.loads}:${this.data.seq}`;
  }

  /** The whole state as plain JSON (what the state file holds, persistence.ts). */
  toJSON(): CalendarData {
    return structuredClone(this.data);
  }

  /** Settings added since the first state files (raw overrides, changeWhilePaging) default when absent. */
  load(data: CalendarData): void {
    this.data = { ...emptyData(), ...structuredClone(data) };
    this.loads++;
  }

  get seq(): number {
    return this.data.seq;
  }

  get quota(): QuotaConfig {
    return this.data.quota;
  }

  get usage(): CalendarData['usage'] {
    return this.data.usage;
  }

  get sentUpdates(): SentUpdate[] {
    return this.data.sentUpdates;
  }

  get maxPageSize(): number | null {
    return this.data.maxPageSize;
  }

  set maxPageSize(value: number | null) {
    this.data.maxPageSize = value;
  }

  get changeWhilePaging(): ChangeWhilePaging | null {
    return this.data.changeWhilePaging;
  }

  set changeWhilePaging(value: ChangeWhilePaging | null) {
    this.data.changeWhilePaging = value;
  }

  /** A new change number, with `updated` and an etag in Google's form (`"<digits>"`, changing every time). */
  stamp(): { changed: number; updated: number; etag: string } {
    this.data.seq += 1;
    const updated = this.now();
    return { changed: this.data.seq, updated, etag: etagFor(updated, this.data.seq) };
  }

  knownAccounts(): string[] {
    return Object.keys(this.data.accounts);
  }

  /** The account's list, with its primary calendar (id = the email) created on first use. */
  entries(email: string): ListEntry[] {
    const account = email.toLowerCase();
    if (!this.data.accounts[account]) {
      this.data.accounts[account] = [];
      this.createCalendar(account, { id: account, summary: account }, true);
    }
    return this.data.accounts[account] ?? [];
  }

  entry(email: string, calendarId: string): ListEntry | undefined {
    return this.entries(email).find((entry) => entry.calendarId === calendarId);
  }

  calendar(id: string): StoredCalendar | undefined {
    return this.data.calendars[id];
  }

  createCalendar(owner: string, spec: NewCalendar, primary = false): StoredCalendar {
    const id = spec.id ?? `${randomBytes(20).toString('hex').slice(0, 26)}@group.calendar.google.com`;
    const calendar: StoredCalendar = {
      id,
      owner,
      summary: spec.summary ?? id,
      timeZone: spec.timeZone ?? 'UTC',
      etag: this.stamp().etag,
      tokenEpoch: 0,
      ...(spec.description === undefined ? {} : { description: spec.description }),
    };
    this.data.calendars[id] = calendar;
    this.data.events[id] = {};
    this.data.tombstones[id] = [];
    this.addEntry(owner, id, 'owner', {
      primary,
      summaryOverride: spec.summaryOverride,
      colorId: spec.colorId,
    });
    return calendar;
  }

  addEntry(
    email: string,
    calendarId: string,
    accessRole: AccessRole,
    options: { primary?: boolean; summaryOverride?: string | undefined; colorId?: string | undefined } = {},
  ): ListEntry {
    const list = this.entries(email);
    const existing = list.findIndex((entry) => entry.calendarId === calendarId);
    const colorIndex = options.colorId
      ? Number(options.colorId) - 1
      : (existing >= 0 ? existing : list.length) % COLORS.length;
    const entry: ListEntry = {
      calendarId,
      accessRole,
      primary: options.primary ?? false,
      colorId: String(colorIndex + 1),
      backgroundColor: COLORS[colorIndex] ?? '#9fc6e7',
      foregroundColor: '#000000',
      hidden: false,
      selected: true,
      etag: this.stamp().etag,
      ...(options.summaryOverride === undefined ? {} : { summaryOverride: options.summaryOverride }),
    };
    if (existing >= 0) list[existing] = entry;
    else list.push(entry);
    this.changed({ kind: 'calendarList', account: email.toLowerCase() });
    return entry;
  }

  removeEntry(email: string, calendarId: string): boolean {
    const list = this.entries(email);
    const index = list.findIndex((entry) => entry.calendarId === calendarId);
    if (index < 0 || list[index]?.primary) return false;
    list.splice(index, 1);
    const account = email.toLowerCase();
    this.changed({ kind: 'calendarList', account });
    this.changed({ kind: 'calendarGone', calendarId, account });
    return true;
  }

  /** Deletes a calendar with its events; it leaves every account's calendarList. */
  deleteCalendar(calendarId: string): void {
    delete this.data.calendars[calendarId];
    delete this.data.events[calendarId];
    delete this.data.tombstones[calendarId];
    delete this.data.raw[calendarId];
    for (const [email, list] of Object.entries(this.data.accounts)) {
      const kept = list.filter((entry) => entry.calendarId !== calendarId);
      if (kept.length !== list.length) this.changed({ kind: 'calendarList', account: email });
      this.data.accounts[email] = kept;
    }
    this.changed({ kind: 'calendarGone', calendarId });
  }

  /**
   * A calendar's own fields (summary, description, time zone) changed: a new etag, and every
   * calendarList showing it changed too.
   */
  touchCalendar(calendar: StoredCalendar): void {
    calendar.etag = this.stamp().etag;
    for (const [email, list] of Object.entries(this.data.accounts))
      if (list.some((entry) => entry.calendarId === calendar.id))
        this.changed({ kind: 'calendarList', account: email });
  }

  events(calendarId: string): Record<string, StoredEvent> {
    const events = this.data.events[calendarId];
    if (!events) throw new Error(`no calendar ${calendarId}`);
    return events;
  }

  tombstones(calendarId: string): Tombstone[] {
    return this.data.tombstones[calendarId] ?? [];
  }

  /**
   * Stores or replaces an event; a deleted event stays stored as cancelled, so its id stays taken. A
   * regular write drops the event's raw override, and a series' write those of its occurrences that are
   * not stored (it rewrites them all).
   */
  putEvent(calendarId: string, event: StoredEvent): void {
    const events = this.events(calendarId);
    events[event.id] = event;
    this.changed({ kind: 'events', calendarId });
    const raw = this.data.raw[calendarId];
    if (!raw) return;
    for (const id of Object.keys(raw))
      if (id === event.id || (parseInstanceId(id)?.seriesId === event.id && !events[id])) delete raw[id];
  }

  rawOverride(calendarId: string, eventId: string): RawOverride | undefined {
    return this.data.raw[calendarId]?.[eventId];
  }

  /**
   * Sets an event's raw override (replacing any earlier one) under a new change number, so incremental
   * syncs report it; a stored event takes the stamp too (new etag and `updated`). Not a regular write:
   * the event's content stays as it was.
   */
  setRawOverride(calendarId: string, eventId: string, fields: Record<string, unknown>): RawOverride {
    const stamp = this.stamp();
    const events = this.events(calendarId);
    const stored = events[eventId];
    if (stored) events[eventId] = { ...stored, ...stamp };
    const override = { fields: structuredClone(fields), ...stamp };
    this.data.raw[calendarId] = { ...this.data.raw[calendarId], [eventId]: override };
    this.changed({ kind: 'events', calendarId });
    return override;
  }

  addTombstones(calendarId: string, tombstones: readonly Tombstone[]): void {
    this.data.tombstones[calendarId]?.push(...tombstones);
    if (tombstones.length > 0) this.changed({ kind: 'events', calendarId });
  }

  /** Makes every sync token of the calendar (or of all calendars) answer 410. */
  invalidateSyncTokens(calendarId?: string): number {
    const calendars =
      calendarId === undefined ? Object.values(this.data.calendars) : [this.data.calendars[calendarId]];
    let count = 0;
    for (const calendar of calendars) {
      if (!calendar) continue;
      calendar.tokenEpoch += 1;
      count += 1;
    }
    return count;
  }
}

/** Google's etags are quoted decimal strings; time then change number keeps them distinct and increasing. */
function etagFor(updated: number, changed: number): string {
  return `"${updated}${String(changed % 1000).padStart(3, '0')}"`;
}
