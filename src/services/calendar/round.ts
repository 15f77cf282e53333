/**
 * One round of a calendar (docs/contracts.md, "JSON-RPC" of the calendar sync): a pull (merge-aware),
 * the push of Tryton's pending changes, and, when the push changed something at Google, one more
 * incremental pull, which brings the occurrences of a series just created and recognises the push's
 * own changes without writing. A change at Google that its push channel was not told about shows the
 * channel lost (docs/contracts.md, "Push notifications"). The calendar then says what the round did, or, when Google refused a
 * change, why (the change stays pending, the other events were pushed).
 */
import type { calendar_v3 } from '@googleapis/calendar';
import {
  markPulled,
  recordSyncFailure,
  type RoundCounts,
  type SyncCalendar,
} from '../../db/calendar-repository.js';
import { markChannelLost } from '../../db/watch-repository.js';
import type { GoogleSession } from '../google-service.js';
import { CalendarApi } from './calendar-api.js';
import { CalendarPull } from './pull.js';
import { CalendarPush, type PushCounts } from './push.js';

export interface RoundResult extends RoundCounts {
  skipped: number;
  /** The push's detail, for the metrics. */
  readonly push: PushCounts;
}

export async function calendarRound(
  session: GoogleSession,
  api: calendar_v3.Calendar,
  cal: SyncCalendar,
): Promise<RoundResult> {
  const db = session.ref.db;
  const pull = new CalendarPull(session, api, cal);
  const pulled = [await pull.run()];
  // Only the first pull can bring a change made before the round: the second lists the push's own.
  const earliest = pull.earliestChange;
  if (earliest && (await markChannelLost(db, cal.id, earliest)))
    session.log.warn(
      { calendar: cal.id, changed_at: earliest.toISOString() },
      'push channel lost: a change at Google came without a notification; it is replaced',
    );
  const calendarApi = new CalendarApi(session, api, cal.google_id, cal.notify_attendees ? 'all' : 'none');
  const push = await new CalendarPush(db, calendarApi, cal, session.log).run();
  if (push.pushed > 0) pulled.push(await new CalendarPull(session, api, cal).run());
  const sum = (field: 'created' | 'updated' | 'deleted' | 'skipped' | 'conflicts') =>
    pulled.reduce((total, counts) => total + counts[field], 0);
  const result: RoundResult = {
    created: sum('created'),
    updated: sum('updated') + push.trytonWrites,
    deleted: sum('deleted'),
    skipped: sum('skipped'),
    pushed: push.pushed,
    conflicts: sum('conflicts') + push.conflicts,
    push,
  };
  if (push.firstRefusal) await recordSyncFailure(db, cal.id, push.firstRefusal);
  else await markPulled(db, cal, result);
  return result;
}
