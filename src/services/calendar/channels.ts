/**
 * A credential's push channels brought in line with what it should watch (docs/contracts.md, "Push
 * notifications", *Renewal and stopping*): each calendar the background pass synchronizes through it,
 * and its calendarList, get a channel; a channel expiring within a day, expired, or never heard from
 * within 10 minutes of its creation is replaced (a new one first, then the old one stopped); channels
 * of what is no longer synchronized are stopped and forgotten. It runs as the job `watch_channels`
 * (one queue per credential), so one replacement happens once whichever replica runs it. Tryton's
 * calendars and the credential say how their channel is.
 */
import { randomUUID } from 'node:crypto';
import {
  type ChannelKind,
  type ChannelRow,
  type ChannelStatus,
  channelsOfCredential,
  completeChannel,
  deleteChannel,
  insertChannel,
  showChannel,
  watchTargets,
  writeCalendarChannel,
  writeCredentialChannel,
} from '../../db/watch-repository.js';
import type { ChannelTokens } from '../../oauth/channel-token.js';
import type { GoogleSession } from '../google-service.js';
import type { ChannelApi, MadeChannel } from './channel-api.js';

export interface NotificationSettings {
  readonly enabled: boolean;
  /** `<SIDECAR_PUBLIC_URL>/google/notifications` */
  readonly address: string;
  readonly tokens: ChannelTokens;
}

export interface ChannelChanges {
  created: number;
  /** Replaced before it expired. */
  renewed: number;
  /** Replaced because never heard from, or shown lost by a pull. */
  lost: number;
  stopped: number;
  failed: number;
}

interface Wanted {
  readonly kind: ChannelKind;
  readonly target: number;
  /** The calendar's Google id (events channels). */
  readonly googleId?: string;
}

export async function reconcileChannels(
  session: GoogleSession,
  api: ChannelApi,
  settings: NotificationSettings,
): Promise<ChannelChanges> {
  const { db, id: credentialId, database } = session.ref;
  const changes: ChannelChanges = { created: 0, renewed: 0, lost: 0, stopped: 0, failed: 0 };
  const targets = settings.enabled
    ? await watchTargets(db, credentialId)
    : { calendars: [], calendarList: false };
  const wanted: Wanted[] = [
    ...targets.calendars.map((cal) => ({ kind: 'events' as const, target: cal.id, googleId: cal.google_id })),
    ...(targets.calendarList ? [{ kind: 'calendar_list' as const, target: credentialId }] : []),
  ];
  const channels = await channelsOfCredential(db, credentialId);
  const keep = new Set<string>();
  for (const want of wanted) {
    // Newest first: the current channel of a target is its first.
    const current = channels.find((channel) => channel.kind === want.kind && channel.target === want.target);
    if (current && !current.expired && !current.expiring && !current.silent) {
      keep.add(current.channel_id);
      // Until its first message, a channel keeps the status it was made with (waiting, or failing for
      // the replacement of a lost one); the route writes active when the message comes.
      if (current.confirmed) await showChannel(db, current.channel_id, 'active');
      continue;
    }
    try {
      const id = randomUUID();
      const request = {
        id,
        address: settings.address,
        token: settings.tokens.create(id, { database, kind: want.kind, target: want.target }),
      };
      // Stored first: Google's sync message may come before its answer.
      await insertChannel(db, {
        channel_id: id,
        kind: want.kind,
        target: want.target,
        credential_id: credentialId,
      });
      let made: MadeChannel;
      try {
        made =
          want.kind === 'events'
            ? await api.watchEvents(want.googleId as string, request)
            : await api.watchCalendarList(request);
      } catch (error) {
        await deleteChannel(db, id);
        throw error;
      }
      await completeChannel(db, id, made.resourceId, made.expiresAt);
      keep.add(id);
      if (!current) changes.created++;
      else if (current.silent) changes.lost++;
      else changes.renewed++;
      // A replacement of a lost channel shows failing until Google's first message on the new one
      // (which may have come already).
      await showChannel(db, id, current?.silent ? 'failing' : 'waiting');
    } catch (error) {
      changes.failed++;
      session.log.warn(
        { kind: want.kind, target: want.target, err: error instanceof Error ? error.message : String(error) },
        'push channel not made: polled meanwhile',
      );
      // A channel that may still work stays until its replacement is made.
      if (current && !current.expired) keep.add(current.channel_id);
      await showStatus(session, want, 'failing', current?.expires_at ?? null);
    }
  }
  for (const channel of channels) {
    if (keep.has(channel.channel_id)) continue;
    await stop(session, api, channel);
    changes.stopped++;
    if (!wanted.some((want) => want.kind === channel.kind && want.target === channel.target))
      await showStatus(session, { kind: channel.kind, target: channel.target }, 'none', null);
  }
  return changes;
}

async function stop(session: GoogleSession, api: ChannelApi, channel: ChannelRow): Promise<void> {
  // Without Google's answer (a replica stopped while asking) there is nothing to name: it just ends.
  if (!channel.expired && channel.resource_id !== null) {
    try {
      await api.stop(channel.channel_id, channel.resource_id);
    } catch (error) {
      // Forgotten all the same: its notifications are then `unknown`, and it ends within a week.
      session.log.warn(
        { channel: channel.channel_id, err: error instanceof Error ? error.message : String(error) },
        'push channel not stopped at Google',
      );
    }
  }
  await deleteChannel(session.ref.db, channel.channel_id);
}

async function showStatus(session: GoogleSession, want: Wanted, status: ChannelStatus, expires: Date | null) {
  if (want.kind === 'events') await writeCalendarChannel(session.ref.db, want.target, status, expires);
  else await writeCredentialChannel(session.ref.db, want.target, status);
}
