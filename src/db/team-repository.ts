/**
 * Team calendars (docs/contracts.md, "Team calendars"): one Tryton calendar per Google calendar,
 * whichever accounts see it, each account's view of it a member row (google_integration_calendar_member),
 * and the team rule choosing the account it is synchronized through: the member with the highest role
 * among those whose credential hands out tokens, the lowest credential id on a tie. Every write sets
 * write_date/write_uid (inserts the create stamps) and is skipped where nothing changed.
 */
import type { Knex } from 'knex';
import type { CalendarListEntry } from './calendar-repository.js';

const CALENDARS = 'google_integration_calendar';
const MEMBERS = 'google_integration_calendar_member';
const CREDENTIALS = 'google_integration_google_credentials';
const NOW = "timezone('UTC', now())";

export interface MemberCalendar {
  readonly id: number;
  readonly google_id: string;
  readonly name: string | null;
  readonly sync_enabled: boolean;
}

/**
 * A credential's calendarList: its member rows follow the list (added, changed, removed), calendars
 * no account saw before are created, and the team rule is applied to every calendar it touched.
 * Returns the credential's calendars as it sees them.
 */
export async function storeCalendarList(
  knex: Knex,
  credentialId: number,
  entries: readonly CalendarListEntry[],
): Promise<MemberCalendar[]> {
  return knex.transaction(async (trx) => {
    const before = await trx.raw<{ rows: Array<{ calendar: number }> }>(
      `SELECT calendar FROM ${MEMBERS} WHERE credential = ?`,
      [credentialId],
    );
    const list = JSON.stringify(entries);
    // Calendars no account saw before; an existing one takes the calendar's own zone as Google says.
    await trx.raw(
      `INSERT INTO ${CALENDARS} AS c (google_id, credential, name, time_zone, access_role, color, is_primary,
                                      active, sync_enabled, sync_status,
                                      create_date, create_uid, write_date, write_uid)
       SELECT v.google_id, ?, v.name, v.time_zone, v.access_role, v.color, v.is_primary, true, false, 'never',
              ${NOW}, 0, ${NOW}, 0
         FROM json_populate_recordset(NULL::${CALENDARS}, ?::json) AS v
       ON CONFLICT (google_id) DO UPDATE SET time_zone = excluded.time_zone, active = true,
         write_date = ${NOW}, write_uid = 0
         WHERE c.time_zone IS DISTINCT FROM excluded.time_zone OR NOT c.active`,
      [credentialId, list],
    );
    await trx.raw(
      `INSERT INTO ${MEMBERS} AS m (calendar, credential, access_role, name, color, is_primary,
                                   create_date, create_uid, write_date, write_uid)
       SELECT c.id, ?, v.access_role, v.name, v.color, v.is_primary, ${NOW}, 0, ${NOW}, 0
         FROM json_populate_recordset(NULL::${CALENDARS}, ?::json) AS v
         JOIN ${CALENDARS} c ON c.google_id = v.google_id
       ON CONFLICT (calendar, credential) DO UPDATE SET access_role = excluded.access_role,
         name = excluded.name, color = excluded.color, is_primary = excluded.is_primary,
         write_date = ${NOW}, write_uid = 0
         WHERE (m.access_role, m.name, m.color, m.is_primary)
               IS DISTINCT FROM (excluded.access_role, excluded.name, excluded.color, excluded.is_primary)`,
      [credentialId, list],
    );
    await trx.raw(
      `DELETE FROM ${MEMBERS} m USING ${CALENDARS} c
        WHERE m.calendar = c.id AND m.credential = ? AND NOT (c.google_id = ANY(?))`,
      [credentialId, entries.map((entry) => entry.google_id)],
    );
    const after = await trx.raw<{ rows: MemberCalendar[] }>(
      `SELECT c.id, c.google_id, m.name, c.sync_enabled FROM ${MEMBERS} m JOIN ${CALENDARS} c ON c.id = m.calendar
        WHERE m.credential = ? ORDER BY c.id`,
      [credentialId],
    );
    await applyTeamRule(trx, [
      ...new Set([...before.rows.map((row) => row.calendar), ...after.rows.map((row) => row.id)]),
    ]);
    return after.rows;
  });
}

/**
 * The team rule, for the given calendars (or all): each follows its best usable member; one that no
 * account lists any more is inactive; one without a usable member keeps its last account.
 */
export async function applyTeamRule(knex: Knex, calendarIds?: readonly number[]): Promise<void> {
  const only = calendarIds ? 'AND c.id = ANY(?)' : '';
  const bindings = calendarIds ? [[...calendarIds]] : [];
  await knex.raw(
    `WITH chosen AS (
       SELECT DISTINCT ON (m.calendar) m.calendar, m.credential, m.access_role, m.name, m.color, m.is_primary
         FROM ${MEMBERS} m JOIN ${CREDENTIALS} cr ON cr.id = m.credential
        WHERE cr.refresh_token IS NOT NULL AND cr.state IN ('authorized', 'authorization_pending')
        ORDER BY m.calendar,
                 CASE m.access_role WHEN 'owner' THEN 0 WHEN 'writer' THEN 1 WHEN 'reader' THEN 2 ELSE 3 END,
                 m.credential
     )
     UPDATE ${CALENDARS} c SET credential = r.credential, access_role = r.access_role, name = r.name,
            color = r.color, is_primary = r.is_primary, write_date = ${NOW}, write_uid = 0
       FROM chosen r
      WHERE c.id = r.calendar ${only}
        AND (c.credential, c.access_role, c.name, c.color, c.is_primary)
            IS DISTINCT FROM (r.credential, r.access_role, r.name, r.color, r.is_primary)`,
    bindings,
  );
  await knex.raw(
    `UPDATE ${CALENDARS} c SET active = false, write_date = ${NOW}, write_uid = 0
      WHERE c.active ${only} AND NOT EXISTS (SELECT 1 FROM ${MEMBERS} m WHERE m.calendar = c.id)`,
    bindings,
  );
}

/**
 * The calendars a credential is a member of (to apply the team rule after its revocation); none
 * where the module's calendar tables do not exist (a standalone database, an older module).
 */
export async function calendarsSeenBy(knex: Knex, credentialId: number): Promise<number[]> {
  const table = await knex.raw<{ rows: Array<{ found: string | null }> }>(
    'SELECT to_regclass(?)::text AS found',
    [`public.${MEMBERS}`],
  );
  if (!table.rows[0]?.found) return [];
  const result = await knex.raw<{ rows: Array<{ calendar: number }> }>(
    `SELECT calendar FROM ${MEMBERS} WHERE credential = ?`,
    [credentialId],
  );
  return result.rows.map((row) => row.calendar);
}
