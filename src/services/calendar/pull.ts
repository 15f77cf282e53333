/**
 * One calendar's pull (docs/contracts.md, "How the pull works"). Incremental with the sync token of
 * the last complete pull; a full listing without one, after a 410, and once a day. Each page is
 * written in its own transaction after Google answered, while the next page is asked for; the
 * token is saved only once the last page is written, so a pull broken off mid-way is done again.
 *
 * Google promises no consistency across the pages of a listing (an event changed while a client
 * pages can be left out of the later pages), so what a full listing did not list is deleted only
 * once it is known to be gone: when Tryton holds events the listing left out, it is followed by
 * incremental rounds on its token until one fits in one page, which lists every change since the
 * round before; only then is what none of them listed deleted and the token saved. Items Google sends in a shape Tryton cannot hold are
 * skipped, counted and named on the calendar (event-check.ts), the rest of their page written.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { type SyncCalendar, writeSyncNotice } from '../../db/calendar-repository.js';
import {
  applyEventPage,
  deleteEventsNotIn,
  type EventWrite,
  heldNotListed,
  type RefusedItem,
  skippedItems,
} from '../../db/event-repository.js';
import { forgetSyncToken, pullState, saveSyncState } from '../../db/sync-state-repository.js';
import { GoogleError } from '../../google/errors.js';
import type { GoogleSession } from '../google-service.js';
import { readItem } from './event-mapping.js';
import { localChanges, mergePulled, type PageItem } from './pull-merge.js';

/** Google's largest page: fewer calls against the quota, and one write per table per page. */
const PAGE_SIZE = 2500;
/** A calendar is listed whole this often, for what incremental pulls never report. */
const FULL_EVERY_HOURS = 24;
/** Incremental rounds after a full listing, at most, to find one that fits in a page. */
const CONFIRM_ROUNDS = 3;
/** Skipped items named in the calendar's notice; the others are counted. */
const NOTICE_NAMED = 3;

export interface PullCounts {
  created: number;
  updated: number;
  deleted: number;
  skipped: number;
  /** Conflict rows the merge wrote (an event changed on both sides, or deleted on one). */
  conflicts: number;
}

interface Round {
  readonly nextSyncToken: string | null;
  readonly pages: number;
  /** Items listed, of every kind. */
  readonly items: number;
}

export class CalendarPull {
  /** Every row written, whichever round or listing wrote it (a 410 mid-way included). */
  private readonly counts: PullCounts = { created: 0, updated: 0, deleted: 0, skipped: 0, conflicts: 0 };
  private skippedChanged = false;
  /** The earliest `updated` of the items an incremental round listed: when Google's oldest unpulled change was made. */
  private earliest: Date | undefined;

  constructor(
    private readonly session: GoogleSession,
    private readonly api: calendar_v3.Calendar,
    private readonly cal: SyncCalendar,
  ) {}

  async run(): Promise<PullCounts> {
    const db = this.session.ref.db;
    const state = await pullState(db, this.cal.id, FULL_EVERY_HOURS);
    if (!state.fullDue && state.syncToken !== null) {
      try {
        const round = await this.round(state.syncToken);
        // Listing nothing, the token used is as good as the new one (Google's changes when anything
        // changes anywhere for the account); keeping it, an idle round writes nothing. The daily
        // full listing renews it.
        const token = round.items === 0 ? state.syncToken : round.nextSyncToken;
        await saveSyncState(db, this.cal.id, token, state.syncToken, false);
        return await this.finish(false);
      } catch (error) {
        if (!(error instanceof GoogleError) || error.status !== 410) throw error;
        this.session.log.info({ calendar: this.cal.id }, 'sync token no longer valid: full pull');
        await forgetSyncToken(db, this.cal.id);
      }
    }
    return this.fullPull();
  }

  private async fullPull(): Promise<PullCounts> {
    const db = this.session.ref.db;
    const listed = new Set<string>();
    let round = await this.round(null, listed);
    // Only what Tryton holds and the listing left out needs proof that it is gone: a first pull, or
    // a daily listing of a calendar where nothing was deleted, costs no extra call.
    let confirmed = (await heldNotListed(db, this.cal.id, listed)).length === 0;
    for (let rounds = 0; !confirmed && rounds < CONFIRM_ROUNDS && round.nextSyncToken !== null; rounds++) {
      round = await this.round(round.nextSyncToken, listed);
      confirmed = round.pages === 1;
    }
    if (!confirmed) {
      // Nothing is deleted on a guess, and no token saved: the next pull lists again.
      this.session.log.warn(
        { calendar: this.cal.id, rounds: CONFIRM_ROUNDS },
        'full listing not confirmed (the calendar changes faster than it is listed): nothing deleted',
      );
      return this.finish(true);
    }
    const gone = await deleteEventsNotIn(db, this.cal.id, listed);
    this.counts.deleted += gone.deleted;
    this.skippedChanged ||= gone.skippedChanged;
    await saveSyncState(db, this.cal.id, round.nextSyncToken, null, true);
    return this.finish(true);
  }

  /** One listing (full without a token), page by page; `listed` gathers what exists at Google. */
  private async round(token: string | null, listed?: Set<string>): Promise<Round> {
    let nextSyncToken: string | null = null;
    let pages = 0;
    let items = 0;
    // The next page is asked for while this one is written: Google's time and the writes overlap.
    for (
      let pending: Promise<calendar_v3.Schema$Events> | undefined = this.page(token, undefined);
      pending;
    ) {
      const page: calendar_v3.Schema$Events = await pending;
      pending = page.nextPageToken ? this.page(token, page.nextPageToken) : undefined;
      pages++;
      items += page.items?.length ?? 0;
      if (token !== null) this.noteEarliest(page.items ?? []);
      await this.write(page.items ?? [], listed);
      nextSyncToken = page.nextSyncToken ?? nextSyncToken;
    }
    return { nextSyncToken, pages, items };
  }

  /**
   * When the oldest change an incremental pull brought was made at Google, or undefined: what shows a
   * push channel that was not told about it lost (round.ts).
   */
  get earliestChange(): Date | undefined {
    return this.earliest;
  }

  private noteEarliest(items: readonly calendar_v3.Schema$Event[]): void {
    for (const item of items) {
      const updated = typeof item.updated === 'string' ? new Date(item.updated) : undefined;
      if (updated && !Number.isNaN(updated.getTime()) && !(this.earliest && this.earliest <= updated))
        this.earliest = updated;
    }
  }

  private page(token: string | null, pageToken: string | undefined): Promise<calendar_v3.Schema$Events> {
    const fetching = this.session.call('events.list', async (options) => {
      const params: calendar_v3.Params$Resource$Events$List = {
        calendarId: this.cal.google_id,
        singleEvents: true,
        maxResults: PAGE_SIZE,
        ...(token ? { syncToken: token } : {}),
        ...(pageToken ? { pageToken } : {}),
      };
      return (await this.api.events.list(params, options)).data;
    });
    // Awaited by round(); until then a failure must not count as unhandled.
    fetching.catch(() => {});
    return fetching;
  }

  private async write(items: readonly unknown[], listed: Set<string> | undefined): Promise<void> {
    const taken: PageItem[] = [];
    const refused: RefusedItem[] = [];
    for (const raw of items) {
      const item = readItem(raw, this.cal.time_zone);
      if (item.kind === 'cancelled') {
        taken.push(item);
        listed?.delete(item.id);
      } else if (item.kind === 'refused') {
        this.counts.skipped++;
        if (item.id === null) continue;
        refused.push({ google_id: item.id, reason: item.reason });
        // It exists at Google: a version Tryton holds is kept, not deleted as gone.
        listed?.add(item.id);
      } else {
        taken.push(item);
        listed?.add(item.mapped.event.google_id);
      }
    }
    const db = this.session.ref.db;
    const idOf = (item: PageItem) => (item.kind === 'event' ? item.mapped.event.google_id : item.id);
    // Events with a change of Tryton's own are merged one by one; the others are written in bulk.
    const local = await localChanges(db, this.cal.id, taken.map(idOf));
    const upserts: EventWrite[] = [];
    const cancelled: string[] = [];
    for (const item of taken) {
      const id = idOf(item);
      const pending = local.pending.get(id);
      const deleted = local.deleted.get(id);
      if (pending || deleted) await mergePulled(db, this.cal.id, item, { pending, deleted }, this.counts);
      else if (item.kind === 'cancelled') cancelled.push(id);
      else
        upserts.push({
          hash: item.mapped.hash,
          etag: item.mapped.etag,
          event: item.mapped.event as unknown as EventWrite['event'],
          detail: item.mapped.detail as unknown as EventWrite['detail'],
          base: item.values,
        });
    }
    if (items.length > taken.length) {
      this.session.log.warn(
        { calendar: this.cal.id, skipped: items.length - taken.length, first: refused[0] },
        'items Google sent were skipped',
      );
    }
    const applied = await applyEventPage(db, this.cal.id, upserts, cancelled, refused);
    this.counts.created += applied.created;
    this.counts.updated += applied.updated;
    this.counts.deleted += applied.deleted;
    this.skippedChanged ||= applied.skippedChanged;
  }

  private async finish(full: boolean): Promise<PullCounts> {
    const db = this.session.ref.db;
    if (this.skippedChanged) await writeSyncNotice(db, this.cal.id, await this.notice());
    this.session.log.info({ calendar: this.cal.id, ...this.counts, full }, 'calendar pulled');
    return this.counts;
  }

  /** `2 events from Google are not shown: <id> (<reason>); <id> (<reason>).`, or null. */
  private async notice(): Promise<string | null> {
    const { total, items } = await skippedItems(this.session.ref.db, this.cal.id, NOTICE_NAMED);
    if (total === 0) return null;
    const named = items.map((item) => `${clip(item.google_id)} (${item.reason})`).join('; ');
    const more = total > items.length ? `; and ${total - items.length} more` : '';
    return `${total} ${total === 1 ? 'event' : 'events'} from Google ${total === 1 ? 'is' : 'are'} not shown: ${named}${more}.`;
  }
}

function clip(id: string): string {
  return id.length > 60 ? `${id.slice(0, 59)}…` : id;
}
