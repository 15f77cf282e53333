/**
 * Every statement on Tryton's google_integration_calendar (declared by the module; every write
 * sets write_date/write_uid, inserts create_date/create_uid, as Tryton does) and the credential's
 * last_sync (docs/contracts.md, "Calendar synchronization"). Events are event-repository.ts', the
 * sync tokens sync-state-repository.ts'. Writes are skipped where nothing changed, so an idle sync
 * writes nothing.
 */
import type { Knex } from 'knex';
import type { PageCounts } from './event-repository.js';
import { noteSyncFailure } from './sync-state-repository.js';

const CALENDARS = 'google_integration_calendar';
const SIDECAR_UID = 0;

const now = (knex: Knex) => knex.raw("timezone('UTC', now())");
const stamps = (knex: Knex) => ({ write_date: now(knex), write_uid: SIDECAR_UID });

export interface CalendarListEntry {
  readonly google_id: string;
  readonly name: string | null;
  readonly time_zone: string | null;
  readonly access_role: string | null;
  readonly color: string | null;
  readonly is_primary: boolean;
}

export interface SyncCalendar {
  readonly id: number;
  readonly google_id: string;
  readonly name: string | null;
  readonly time_zone: string | null;
  readonly sync_enabled: boolean;
  readonly sync_status: string | null;
  /** Pushes send Google's invitation e-mails. */
  readonly notify_attendees: boolean | null;
}

const SYNC_CALENDAR_COLUMNS = [
  'id',
  'google_id',
  'name',
  'time_zone',
  'sync_enabled',
  'sync_status',
  'notify_attendees',
] as const;

export async function calendarsOf(knex: Knex, credentialId: number): Promise<SyncCalendar[]> {
  return knex(CALENDARS)
    .where({ credential: credentialId })
    .orderBy('id')
    .select<SyncCalendar[]>(...SYNC_CALENDAR_COLUMNS);
}

/** The active calendars of a credential to pull (one, when `calendarId` is given). */
export async function calendarsToSync(
  knex: Knex,
  credentialId: number,
  calendarId?: number,
): Promise<SyncCalendar[]> {
  const query = knex(CALENDARS).where({ credential: credentialId, active: true, sync_enabled: true });
  if (calendarId !== undefined) query.where({ id: calendarId });
  return query.orderBy('id').select<SyncCalendar[]>(...SYNC_CALENDAR_COLUMNS);
}

/** The module's tables the calendar service reads and writes (docs/contracts.md, "Calendar synchronization"). */
const CALENDAR_TABLES = [
  CALENDARS,
  'google_integration_calendar_member',
  'google_integration_event',
  'google_integration_event_detail',
  'google_integration_event_tombstone',
  'google_integration_event_conflict',
] as const;

/**
 * The module's calendar tables missing here: all of them in a standalone database (the sidecar
 * migrated it before google_integration was activated), some after an update the module missed.
 */
export async function missingCalendarTables(knex: Knex): Promise<string[]> {
  const result = await knex.raw<{ rows: Array<{ name: string }> }>(
    `SELECT name FROM unnest(?::text[]) WITH ORDINALITY AS t(name, position)
      WHERE to_regclass('public.' || name) IS NULL ORDER BY position`,
    [[...CALENDAR_TABLES]],
  );
  return result.rows.map((row) => row.name);
}

/** Whether the module's calendar tables exist here (not in a standalone database, nor an older module). */
export async function calendarTablesExist(knex: Knex): Promise<boolean> {
  const table = await knex.raw<{ rows: Array<{ found: string | null }> }>(
    'SELECT to_regclass(?)::text AS found',
    [`public.${CALENDARS}`],
  );
  return Boolean(table.rows[0]?.found);
}

/** The credential a calendar is synchronized through now (the team rule's choice). */
export async function syncCredentialOf(knex: Knex, calendarId: number): Promise<number | undefined> {
  const row = await knex(CALENDARS)
    .where({ id: calendarId })
    .first<{ credential: number } | undefined>('credential');
  return row?.credential;
}

/**
 * Every calendar to pull in the background, with its credential: ticked calendars of credentials
 * whose synchronization is on (Sync Now needs only the calendar's switch); none where the module's
 * calendar table does not exist (a standalone database, an older module).
 */
export async function enabledCalendars(knex: Knex): Promise<Array<{ id: number; credential: number }>> {
  if (!(await calendarTablesExist(knex))) return [];
  return knex(`${CALENDARS} as cal`)
    .join('google_integration_google_credentials as cred', 'cred.id', 'cal.credential')
    .where({ 'cal.active': true, 'cal.sync_enabled': true, 'cred.sync_enabled': true })
    .whereIn('cred.state', ['authorized', 'authorization_pending'])
    .whereNotNull('cred.refresh_token')
    .orderBy('cal.id')
    .select<Array<{ id: number; credential: number }>>('cal.id', 'cal.credential');
}

/** What a round did, as the calendar shows it. */
export interface RoundCounts extends PageCounts {
  pushed: number;
  conflicts: number;
}

/** What users see of a calendar's round: `ok` with what the last round that changed something did. */
export async function markPulled(knex: Knex, calendar: SyncCalendar, counts: RoundCounts): Promise<void> {
  const changed = counts.created + counts.updated + counts.deleted + counts.pushed + counts.conflicts > 0;
  // An idle round writes nothing: the row already says ok.
  if (!changed && calendar.sync_status === 'ok') return;
  await knex(CALENDARS)
    .where({ id: calendar.id })
    .update({
      sync_status: 'ok',
      last_error: null,
      last_sync: now(knex),
      last_sync_created: counts.created,
      last_sync_updated: counts.updated,
      last_sync_deleted: counts.deleted,
      last_sync_pushed: counts.pushed,
      last_sync_conflicts: counts.conflicts,
      ...stamps(knex),
    });
}

/** The credential's `last_sync`: the end of the last pull that changed something in Tryton. */
export async function markCredentialSynced(knex: Knex, credentialId: number): Promise<void> {
  await knex('google_integration_google_credentials')
    .where({ id: credentialId })
    .update({ last_sync: now(knex), ...stamps(knex) });
}

/**
 * A failed pull, for users to see. With `unlessPulledSince` (a failure written late, once the
 * database is back), a pull that ended successfully since then keeps its `ok`.
 */
export async function recordSyncFailure(
  knex: Knex,
  calendarId: number,
  message: string,
  unlessPulledSince?: Date,
): Promise<void> {
  await noteSyncFailure(knex, calendarId);
  const update = knex(CALENDARS).where({ id: calendarId });
  if (unlessPulledSince)
    update.where((query) =>
      query.whereNull('last_sync').orWhere('last_sync', '<', naiveUtc(unlessPulledSince)),
    );
  await update.update({ sync_status: 'failing', last_error: message, ...stamps(knex) });
}

/** A calendar whose background pulls do not happen although nothing failed; written once. */
export async function recordSyncStalled(knex: Knex, calendarId: number, message: string): Promise<void> {
  await knex(CALENDARS)
    .where({ id: calendarId })
    .whereRaw("sync_status IS DISTINCT FROM 'stalled'")
    .update({ sync_status: 'stalled', last_error: message, ...stamps(knex) });
}

/** The calendar's notice of skipped items; written only when it changes. */
export async function writeSyncNotice(knex: Knex, calendarId: number, notice: string | null): Promise<void> {
  await knex(CALENDARS)
    .where({ id: calendarId })
    .whereRaw('sync_notice IS DISTINCT FROM ?', [notice])
    .update({ sync_notice: notice, ...stamps(knex) });
}

/** A JavaScript instant as Tryton's timestamps hold it: naive UTC text. */
function naiveUtc(instant: Date): string {
  return instant.toISOString().replace('T', ' ').replace('Z', '');
}
