/**
 * GoogleCalendarService, the reference service: brings an account's calendarList into Tryton, and
 * pulls the events of the calendars an admin enabled (docs/contracts.md, "Calendar
 * synchronization"), on the official client @googleapis/calendar pointed at the configured API root.
 *
 * The pull asks for instances (`singleEvents=true`) rather than series with their exceptions:
 * Google then expands each series into its occurrences and sends a moved, edited or cancelled
 * occurrence as that instance, with the same id as before, so Tryton's calendar shows exactly
 * Google's occurrences, no recurrence rule is evaluated here (DST and exceptions stay Google's
 * business), and a change to one occurrence or the whole series can neither duplicate nor lose
 * one. One calendar's pull is pull.ts; here, which calendars, one pull of each at a time whoever
 * asks, and what users see when one fails (pull-failure.ts).
 */
import type { calendar_v3 } from '@googleapis/calendar';
import type { CredentialRef } from '../../credentials/context.js';
import {
  type CalendarListEntry,
  calendarsToSync,
  markCredentialSynced,
  missingCalendarTables,
  recordSyncFailure,
  type SyncCalendar,
} from '../../db/calendar-repository.js';
import { applyTeamRule, calendarsSeenBy, storeCalendarList } from '../../db/team-repository.js';
import { forgetChannelsOf } from '../../db/watch-repository.js';
import { ErrorType, moduleNotReady, type SidecarError } from '../../errors.js';
import { BUSY, underLease, waitForLease } from '../../credentials/lease.js';
import { CALENDAR_SCOPE } from '../catalog.js';
import { GoogleService, type GoogleSession } from '../google-service.js';
import { storableText } from './texts.js';
import { ChannelApi } from './channel-api.js';
import { type ChannelChanges, reconcileChannels } from './channels.js';
import { calendarRound, type RoundResult } from './round.js';
import { failureText, recordPullFailure } from './pull-failure.js';

/** Google's largest page of calendarList. */
const PAGE_SIZE = 2500;
/** Calendars of one credential pulled at once (the pacer keeps them under the per-user quota). */
const CONCURRENT_CALENDARS = 4;
/** How long Sync Now waits for a pull of the same calendar that is already running. */
const SYNC_WAIT_MS = 60_000;

export type CalendarInput =
  | { readonly kind: 'list' }
  /** The credential's push channels brought in line (channels.ts). */
  | { readonly kind: 'channels' }
  | {
      readonly kind: 'sync';
      readonly calendarId?: number;
      /**
       * When another pull of a calendar is running (a job, another replica): wait for it and pull
       * after it (Sync Now means "as of now"), or leave that calendar to it (background jobs).
       */
      readonly waitIfBusy?: boolean;
    };

export interface CalendarSummary {
  readonly id: number;
  readonly google_id: string;
  readonly name: string | null;
  readonly sync_enabled: boolean;
}

export interface SyncCounts {
  calendars: number;
  created: number;
  updated: number;
  deleted: number;
  skipped: number;
  pushed: number;
  conflicts: number;
}

export type CalendarOutput = { readonly calendars: CalendarSummary[] } | SyncCounts | ChannelChanges;

export class GoogleCalendarService extends GoogleService<CalendarInput, CalendarOutput> {
  readonly name = 'calendar';
  readonly scopes = [CALENDAR_SCOPE];
  override readonly key = 'calendar' as const;

  /** The client library is loaded on first use: it costs start-up time and memory (17 MiB). */
  private async api(session: GoogleSession): Promise<calendar_v3.Calendar> {
    const { calendar } = await import('@googleapis/calendar');
    return calendar({ version: 'v3', rootUrl: session.apiRootUrl });
  }

  protected async execute(session: GoogleSession, input: CalendarInput): Promise<CalendarOutput> {
    // Before the Calendar API is asked anything: without the module's tables nothing it answers
    // can be kept.
    const missing = await missingCalendarTables(session.ref.db);
    if (missing.length > 0) throw moduleNotReady(session.ref.database, 'calendar', missing);
    if (input.kind === 'list') return this.listCalendars(session);
    if (input.kind === 'channels') return this.channels(session);
    return this.sync(session, input.calendarId, input.waitIfBusy ?? false);
  }

  private async channels(session: GoogleSession): Promise<ChannelChanges> {
    const settings = this.context.notifications ?? { enabled: false, address: '', tokens: undefined };
    if (!settings.tokens) return { created: 0, renewed: 0, lost: 0, stopped: 0, failed: 0 };
    const changes = await reconcileChannels(session, new ChannelApi(session, await this.api(session)), {
      ...settings,
      tokens: settings.tokens,
    });
    this.context.credentials.metrics.channelChanges(changes);
    return changes;
  }

  private async listCalendars(session: GoogleSession): Promise<{ calendars: CalendarSummary[] }> {
    const api = await this.api(session);
    const entries: CalendarListEntry[] = [];
    let pageToken: string | undefined;
    do {
      const page = await session.call(
        'calendarList.list',
        async (options) =>
          (
            await api.calendarList.list(
              { maxResults: PAGE_SIZE, ...(pageToken ? { pageToken } : {}) },
              options,
            )
          ).data,
      );
      for (const item of page.items ?? []) {
        if (!item.id) continue;
        entries.push({
          google_id: item.id,
          name: storableText(item.summaryOverride ?? item.summary),
          time_zone: storableText(item.timeZone),
          access_role: item.accessRole ?? null,
          color: storableText(item.backgroundColor),
          is_primary: item.primary === true,
        });
      }
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    const calendars = await storeCalendarList(session.ref.db, session.ref.id, entries);
    return {
      calendars: calendars.map(({ id, google_id, name, sync_enabled }) => ({
        id,
        google_id,
        name,
        sync_enabled,
      })),
    };
  }

  private async sync(
    session: GoogleSession,
    calendarId: number | undefined,
    waitIfBusy: boolean,
  ): Promise<SyncCounts> {
    const total: SyncCounts = {
      calendars: 0,
      created: 0,
      updated: 0,
      deleted: 0,
      skipped: 0,
      pushed: 0,
      conflicts: 0,
    };
    let failure: unknown;
    const queue = await calendarsToSync(session.ref.db, session.ref.id, calendarId);
    const worker = async () => {
      for (let cal = queue.shift(); cal; cal = queue.shift()) {
        const started = process.hrtime.bigint();
        try {
          // One pull per calendar at a time, whoever asks (a job, Sync Now, another replica).
          const counts = await this.pullUnderLease(session, cal, waitIfBusy);
          if (counts === BUSY) continue;
          total.calendars++;
          total.created += counts.created;
          total.updated += counts.updated;
          total.deleted += counts.deleted;
          total.skipped += counts.skipped;
          total.pushed += counts.pushed;
          total.conflicts += counts.conflicts;
          this.context.credentials.metrics.calendarSync('ok', seconds(started), counts);
          this.context.credentials.metrics.calendarPush(counts.push.changes, counts.push.conflictKinds);
        } catch (error) {
          // The calendar says why it stopped, the others still sync, and the caller hears it.
          this.context.credentials.metrics.calendarSync('failed', seconds(started));
          await recordPullFailure(session.ref.db, cal.id, failureText(session.ref.id, error), session.log);
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_CALENDARS, queue.length) }, worker));
    if (failure) throw failure;
    return total;
  }

  private async pullUnderLease(session: GoogleSession, cal: SyncCalendar, waitIfBusy: boolean) {
    const purpose = `sync:${cal.id}` as const;
    const deadline = Date.now() + SYNC_WAIT_MS;
    for (;;) {
      const counts = await underLease(this.context.credentials, session.ref, purpose, session.log, () =>
        this.round(session, cal),
      );
      if (counts !== BUSY || !waitIfBusy || Date.now() > deadline) return counts;
      await waitForLease(session.ref, purpose, deadline);
    }
  }

  /** One calendar's round: pull (incremental, or full without a token, after a 410 or once a day), push. */
  async round(session: GoogleSession, cal: SyncCalendar): Promise<RoundResult> {
    return calendarRound(session, await this.api(session), cal);
  }

  /** The credential's last sync moves when a run brought changes (an idle run writes nothing). */
  protected override async recordSuccess(ref: CredentialRef, input: CalendarInput, output: CalendarOutput) {
    if (input.kind !== 'sync' || !('pushed' in output)) return;
    if (output.created + output.updated + output.deleted + output.pushed > 0)
      await markCredentialSynced(ref.db, ref.id);
  }

  /** A revoked or expired account: its calendars switch to another member at once (the team rule). */
  override async credentialChanged(ref: CredentialRef): Promise<void> {
    await applyTeamRule(ref.db, await calendarsSeenBy(ref.db, ref.id));
    // Google no longer takes its token: its channels are forgotten without a call, and its team
    // calendars get channels of their new account at the next pass.
    await forgetChannelsOf(ref.db, ref.id);
  }

  protected override async recordFailure(ref: CredentialRef, input: CalendarInput, error: SidecarError) {
    // A failure before any calendar was reached (token, scope) shows on every calendar it stops;
    // without the module's tables there is no calendar to show it on.
    if (input.kind !== 'sync' || error.type === ErrorType.ModuleNotReady) return;
    for (const cal of await calendarsToSync(ref.db, ref.id, input.calendarId)) {
      if (cal.sync_status !== 'failing') await recordSyncFailure(ref.db, cal.id, error.message);
    }
  }
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
