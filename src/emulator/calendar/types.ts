/**
 * The shapes Calendar state is stored in. Plain JSON values only (no Maps, Dates or classes), so the whole
 * state can be written out and read back as it is (`CalendarStore.toJSON` / `CalendarStore.load`).
 */

export type AccessRole = 'owner' | 'writer' | 'reader' | 'freeBusyReader';
export const ACCESS_ROLES: readonly AccessRole[] = ['freeBusyReader', 'reader', 'writer', 'owner'];

export type EventStatus = 'confirmed' | 'tentative' | 'cancelled';

/** A start or end: an all-day date (`YYYY-MM-DD`), or an instant with the zone the event names, if any. */
export type When = { readonly date: string } | { readonly dateTime: number; readonly timeZone?: string };

export function isAllDay(when: When): when is { readonly date: string } {
  return 'date' in when;
}

export interface StoredCalendar {
  readonly id: string;
  readonly owner: string;
  summary: string;
  description?: string;
  location?: string;
  timeZone: string;
  etag: string;
  /** Sync tokens minted under an older epoch answer 410: how invalidation works. */
  tokenEpoch: number;
}

/** One calendar as one account sees it (calendarList). */
export interface ListEntry {
  readonly calendarId: string;
  accessRole: AccessRole;
  primary: boolean;
  summaryOverride?: string;
  colorId: string;
  backgroundColor: string;
  foregroundColor: string;
  hidden: boolean;
  selected: boolean;
  etag: string;
}

export interface Attendee {
  email: string;
  displayName?: string;
  optional?: boolean;
  resource?: boolean;
  responseStatus: string;
  comment?: string;
  additionalGuests?: number;
}

export interface StoredEvent {
  readonly id: string;
  status: EventStatus;
  summary?: string;
  description?: string;
  location?: string;
  colorId?: string;
  visibility?: string;
  transparency?: string;
  start: When;
  end: When;
  recurrence?: string[];
  /** Set on an exception (a modified or cancelled occurrence): the series it belongs to. */
  recurringEventId?: string;
  originalStart?: When;
  attendees?: Attendee[];
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  /** Other writable fields (reminders, guestsCan*, source, ...), kept verbatim and given back. */
  extra: Record<string, unknown>;
  iCalUID: string;
  sequence: number;
  created: number;
  updated: number;
  etag: string;
  organizer: { email: string; displayName?: string };
  creator: { email: string };
  /** Position in the store-wide change order: what sync tokens and the default list order use. */
  changed: number;
}

/**
 * An occurrence that stopped existing because its series changed (rule, start, deletion). Incremental
 * syncs with singleEvents=true report it as cancelled so a client holding instances can drop it.
 */
export interface Tombstone {
  readonly id: string;
  readonly recurringEventId: string;
  readonly originalStart: When;
  readonly changed: number;
  readonly updated: number;
  readonly etag: string;
}

export interface QuotaConfig {
  enabled: boolean;
  perUserPerMinute: number;
  perProjectPerMinute: number;
  /** Per project per day; 0 = none (Google's default project quota is effectively unlimited). */
  perProjectPerDay: number;
  /** What the per-user limit answers: Google sends 403 userRateLimitExceeded, sometimes 429. */
  userLimitStatus: 403 | 429;
}

export interface CalendarData {
  /** The last change number handed out. */
  seq: number;
  accounts: Record<string, ListEntry[]>;
  calendars: Record<string, StoredCalendar>;
  events: Record<string, Record<string, StoredEvent>>;
  tombstones: Record<string, Tombstone[]>;
  quota: QuotaConfig;
  /** Accepted request times (ms) in the sliding windows, per user and per client. */
  usage: {
    user: Record<string, number[]>;
    project: Record<string, number[]>;
    projectDay: Record<string, number[]>;
  };
  /** Caps every events page below maxResults, so clients meet the short pages Google may send. */
  maxPageSize: number | null;
  /** After an events.list page with a nextPageToken, edit the items the next pages would carry. */
  changeWhilePaging: ChangeWhilePaging | null;
  /** Raw corruption of rendered events, per calendar and event (or instance) id. */
  raw: Record<string, Record<string, RawOverride>>;
  /** Invitation e-mails Google would have sent (sendUpdates), for tests about e-mail storms. */
  sentUpdates: SentUpdate[];
}

export interface ChangeWhilePaging {
  /** Only listings of this calendar; absent: any calendar. */
  readonly calendarId?: string;
  /** How many of the items not sent yet are edited after each page. */
  readonly count: number;
}

/**
 * Top-level fields that replace (`null`: remove) those of every rendering of one event: answers Google
 * should not send but a proxy or a future API could. Kept until the event's next regular write.
 */
export interface RawOverride {
  readonly fields: Record<string, unknown>;
  /** The change it stamped: what an occurrence that is not stored (a virtual instance) shows. */
  readonly changed: number;
  readonly updated: number;
  readonly etag: string;
}

export interface SentUpdate {
  readonly at: number;
  readonly calendarId: string;
  readonly eventId: string;
  readonly action: 'created' | 'updated' | 'cancelled';
  readonly sendUpdates: 'all' | 'externalOnly';
  readonly recipients: string[];
}
