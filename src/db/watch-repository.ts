/**
 * Statements of Google's push channels (docs/contracts.md, "Push notifications"): the sidecar's
 * google_integration_sidecar.watch_channel, what deserves a channel, a notification's message number
 * taken with compare-and-set (a replayed or late one changes nothing), and the channels' health as
 * Tryton shows it (calendar channel_status/channel_expires, credential calendar_list_channel), written
 * only when it changes.
 */
import type { Knex } from 'knex';

const CHANNELS = 'google_integration_sidecar.watch_channel';
const CALENDARS = 'google_integration_calendar';
const CREDENTIALS = 'google_integration_google_credentials';
const NOW = "timezone('UTC', now())";

export type ChannelKind = 'events' | 'calendar_list';
export type ChannelStatus = 'none' | 'waiting' | 'active' | 'failing';

export interface ChannelRow {
  readonly channel_id: string;
  readonly kind: ChannelKind;
  readonly target: number;
  readonly credential_id: number;
  /** Null until Google's answer to the watch is stored. */
  readonly resource_id: string | null;
  readonly expires_at: Date;
  readonly created_at: Date;
  readonly confirmed: boolean;
  readonly last_message: string;
  /** Computed: expires within a day, so it is replaced. */
  readonly expiring: boolean;
  /** Computed: marked lost, or made more than 10 minutes ago and never heard from: it is replaced. */
  readonly silent: boolean;
  readonly expired: boolean;
}

/** What a credential should watch: the calendars the background pass synchronizes through it, and its list. */
export interface WatchTargets {
  readonly calendars: Array<{ id: number; google_id: string }>;
  readonly calendarList: boolean;
}

const CHANNEL_COLUMNS = `channel_id, kind, target, credential_id, resource_id, expires_at, created_at, confirmed,
  last_message::text, expires_at < now() + interval '1 day' AS expiring, expires_at <= now() AS expired,
  (lost OR (NOT confirmed AND created_at < now() - interval '10 minutes')) AS silent`;

export async function channelsOfCredential(knex: Knex, credentialId: number): Promise<ChannelRow[]> {
  const result = await knex.raw<{ rows: ChannelRow[] }>(
    `SELECT ${CHANNEL_COLUMNS} FROM ${CHANNELS} WHERE credential_id = ? ORDER BY created_at DESC`,
    [credentialId],
  );
  return result.rows;
}

export async function findChannel(knex: Knex, channelId: string): Promise<ChannelRow | undefined> {
  const result = await knex.raw<{ rows: ChannelRow[] }>(
    `SELECT ${CHANNEL_COLUMNS} FROM ${CHANNELS} WHERE channel_id = ?`,
    [channelId],
  );
  return result.rows[0];
}

/** The credentials that have channels or should have some (to reconcile each). */
export async function credentialsToWatch(knex: Knex, enabled: boolean): Promise<number[]> {
  const result = await knex.raw<{ rows: Array<{ id: number }> }>(
    `SELECT id FROM ${CREDENTIALS} c
      WHERE (? AND c.sync_enabled AND c.refresh_token IS NOT NULL AND c.state IN ('authorized', 'authorization_pending'))
         OR EXISTS (SELECT 1 FROM ${CHANNELS} w WHERE w.credential_id = c.id)
      ORDER BY id`,
    [enabled],
  );
  return result.rows.map((row) => row.id);
}

export async function watchTargets(knex: Knex, credentialId: number): Promise<WatchTargets> {
  const credential = await knex(CREDENTIALS)
    .where({ id: credentialId })
    .whereIn('state', ['authorized', 'authorization_pending'])
    .whereNotNull('refresh_token')
    .first<{ sync_enabled: boolean } | undefined>('sync_enabled');
  if (!credential?.sync_enabled) return { calendars: [], calendarList: false };
  const calendars = await knex(CALENDARS)
    .where({ credential: credentialId, sync_enabled: true, active: true })
    .orderBy('id')
    .select<Array<{ id: number; google_id: string }>>('id', 'google_id');
  return { calendars, calendarList: true };
}

/**
 * A channel about to be asked for: written before the call, since Google may send its first message
 * before its answer arrives. Its end is a guess until `completeChannel` stores Google's.
 */
export async function insertChannel(
  knex: Knex,
  row: { channel_id: string; kind: ChannelKind; target: number; credential_id: number },
): Promise<void> {
  await knex(CHANNELS).insert({ ...row, expires_at: knex.raw("now() + interval '7 days'") });
}

/** Google's answer to the watch: the resource it names, and when the channel ends. */
export async function completeChannel(
  knex: Knex,
  channelId: string,
  resourceId: string,
  expiresAt: Date,
): Promise<void> {
  await knex(CHANNELS)
    .where({ channel_id: channelId })
    .update({ resource_id: resourceId, expires_at: expiresAt });
}

export async function deleteChannel(knex: Knex, channelId: string): Promise<void> {
  await knex(CHANNELS).where({ channel_id: channelId }).delete();
}

/** A revoked credential's channels, forgotten without a call (Google no longer takes its token). */
export async function forgetChannelsOf(knex: Knex, credentialId: number): Promise<void> {
  await knex(CHANNELS).where({ credential_id: credentialId }).delete();
}

/**
 * Takes a notification's message number if it is higher than every one taken of that channel; the
 * channel is then confirmed. False for a replayed, duplicated or late message (nothing written).
 */
export async function takeMessage(knex: Knex, channelId: string, messageNumber: bigint): Promise<boolean> {
  const result = await knex.raw<{ rowCount: number }>(
    `UPDATE ${CHANNELS} SET last_message = ?::bigint, confirmed = true, last_message_at = now()
      WHERE channel_id = ? AND last_message < ?::bigint`,
    [messageNumber.toString(), channelId, messageNumber.toString()],
  );
  return result.rowCount === 1;
}

/** Which calendars' channels are healthy (confirmed, not lost, not expired): they are polled rarely. */
export async function watchedCalendars(knex: Knex): Promise<Set<number>> {
  const result = await knex.raw<{ rows: Array<{ target: number }> }>(
    `SELECT DISTINCT target FROM ${CHANNELS}
      WHERE kind = 'events' AND confirmed AND NOT lost AND expires_at > now()
        -- A calendar never pulled whole is due whatever its channel says: nothing would tell it.
        AND EXISTS (SELECT 1 FROM google_integration_sidecar.calendar_sync s
                     WHERE s.calendar_id = target AND s.sync_token IS NOT NULL)`,
  );
  return new Set(result.rows.map((row) => row.target));
}

/**
 * A pull listed a change Google made at `changedAt`, more than `LOST_AFTER` ago, that the calendar's
 * channel (made before it) was not told about since: Google no longer delivers it. The channel is
 * marked lost (the next pass replaces it; the calendar is polled at the short interval meanwhile).
 * Answers whether a channel was marked.
 */
export async function markChannelLost(knex: Knex, calendarId: number, changedAt: Date): Promise<boolean> {
  const result = await knex.raw<{ rowCount: number }>(
    `UPDATE ${CHANNELS} SET lost = true
      WHERE kind = 'events' AND target = ? AND confirmed AND NOT lost AND expires_at > now()
        AND ?::timestamptz < now() - interval '${LOST_AFTER}'
        AND created_at < ?::timestamptz AND coalesce(last_message_at, created_at) < ?::timestamptz`,
    [calendarId, changedAt, changedAt, changedAt],
  );
  return result.rowCount > 0;
}

/** How old an unannounced change must be to show a channel lost: a notification's worst delay. */
const LOST_AFTER = '2 minutes';

/** The channel's health as Tryton shows it on a calendar with no channel, or one that failed; written only when it changes. */
export async function writeCalendarChannel(
  knex: Knex,
  calendarId: number,
  status: ChannelStatus,
  expires: Date | null,
): Promise<void> {
  await knex.raw(
    `UPDATE ${CALENDARS} SET channel_status = ?, channel_expires = ?, write_date = ${NOW}, write_uid = 0
      WHERE id = ? AND (channel_status, channel_expires) IS DISTINCT FROM (?::varchar, ?::timestamp)`,
    [status, naive(expires), calendarId, status, naive(expires)],
  );
}

/** The calendarList channel's health as Tryton shows it on the credential; written only when it changes. */
export async function writeCredentialChannel(
  knex: Knex,
  credentialId: number,
  status: ChannelStatus,
): Promise<void> {
  await knex.raw(
    `UPDATE ${CREDENTIALS} SET calendar_list_channel = ?, write_date = ${NOW}, write_uid = 0
      WHERE id = ? AND calendar_list_channel IS DISTINCT FROM ?`,
    [status, credentialId, status],
  );
}

/**
 * Shows a channel's health on its calendar (or credential), read from the channel's row in the same
 * statement: `active` once a message came, `unconfirmed` before; its end once Google's answer is stored.
 * The route (a message taken) and the pass (a channel made) both write through it in either order,
 * so the later write never undoes what the other saw.
 */
export async function showChannel(knex: Knex, channelId: string, unconfirmed: ChannelStatus): Promise<void> {
  // FOR SHARE reads the channel's latest row even when a message was taken after this statement's
  // snapshot: the route's `active` is then never overwritten by a `waiting` computed from an older row.
  const channel = `WITH w AS (SELECT kind, target, confirmed, resource_id, expires_at FROM ${CHANNELS}
                               WHERE channel_id = ? FOR SHARE)`;
  const status = `CASE WHEN w.confirmed THEN 'active' ELSE ?::varchar END`;
  const expires = `CASE WHEN w.resource_id IS NULL THEN t.channel_expires ELSE timezone('UTC', w.expires_at) END`;
  await knex.raw(
    `${channel}
     UPDATE ${CALENDARS} t SET channel_status = ${status}, channel_expires = ${expires},
            write_date = ${NOW}, write_uid = 0
       FROM w
      WHERE w.kind = 'events' AND t.id = w.target
        AND (t.channel_status, t.channel_expires) IS DISTINCT FROM (${status}, ${expires})`,
    [channelId, unconfirmed, unconfirmed],
  );
  await knex.raw(
    `${channel}
     UPDATE ${CREDENTIALS} t SET calendar_list_channel = ${status}, write_date = ${NOW}, write_uid = 0
       FROM w
      WHERE w.kind = 'calendar_list' AND t.id = w.target
        AND t.calendar_list_channel IS DISTINCT FROM ${status}`,
    [channelId, unconfirmed, unconfirmed],
  );
}

/** Channels by health, for /metrics. */
export async function channelCounts(knex: Knex): Promise<Record<ChannelStatus, number>> {
  const result = await knex.raw<{ rows: Array<{ status: ChannelStatus; n: number }> }>(
    `SELECT CASE WHEN expires_at <= now() OR lost THEN 'failing' WHEN confirmed THEN 'active'
                 WHEN created_at < now() - interval '10 minutes' THEN 'failing' ELSE 'waiting' END AS status,
            count(*)::int AS n
       FROM ${CHANNELS} GROUP BY 1`,
  );
  const counts: Record<ChannelStatus, number> = { none: 0, waiting: 0, active: 0, failing: 0 };
  for (const row of result.rows) counts[row.status] = row.n;
  return counts;
}

function naive(instant: Date | null): string | null {
  return instant ? instant.toISOString().replace('T', ' ').replace('Z', '') : null;
}
