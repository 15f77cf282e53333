/**
 * Google's push notifications (docs/contracts.md, "Push notifications"): `POST /google/notifications`,
 * one route for every database, the channel's token naming the database and what the channel watches.
 * A notification is taken only when its token verifies for its channel id, the channel is known there
 * and not expired, its resource id is the channel's, and its message number is higher than every one
 * taken of that channel (one compare-and-set statement): a forged one writes nothing, a replayed, late
 * or duplicated one changes nothing. `exists` queues the calendar's round (its job key collapses any
 * number of notifications into one round, or one more while one runs) or a fetch of the account's
 * calendars. Answers are empty: 200, 400 (not a notification), 403 (forged), 503 (database down:
 * Google sends it again).
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { ServedDatabases } from '../db/served-databases.js';
import type { DatabaseOutages } from '../db/unavailable.js';
import { findChannel, showChannel, takeMessage } from '../db/watch-repository.js';
import type { JobQueue } from '../jobs/engine.js';
import { queueNotifiedRound } from '../jobs/sync-calendars.js';
import { queueCalendarList } from '../jobs/watch-channels.js';
import type { Logger } from '../log.js';
import type { Metrics, NotificationOutcome } from '../metrics.js';
import type { ChannelTokens } from '../oauth/channel-token.js';

export const NOTIFICATION_PATH = '/google/notifications';

export interface NotificationContext {
  readonly databases: ServedDatabases;
  readonly outages: DatabaseOutages;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tokens: ChannelTokens;
  readonly queue: (database: string) => Promise<JobQueue>;
}

const headers = z.object({
  'x-goog-channel-id': z.string().regex(/^[A-Za-z0-9_\-+/=]{1,64}$/),
  'x-goog-channel-token': z.string().min(1).max(256),
  'x-goog-resource-id': z.string().min(1).max(512),
  'x-goog-resource-state': z.enum(['sync', 'exists', 'not_exists']),
  'x-goog-message-number': z.string().regex(/^\d{1,19}$/),
});

export function notificationRoutes(context: NotificationContext): Router {
  const router = express.Router();
  router.post(NOTIFICATION_PATH, async (request, response) => {
    const outcome = await handle(context, request).catch((error: unknown) => {
      const unavailable = context.outages.convert(error, undefined);
      if (!unavailable) throw error;
      return 'unavailable' as const;
    });
    if (outcome === 'unavailable') {
      response.status(503).end();
      return;
    }
    context.metrics.notification(outcome);
    response.status(outcome === 'malformed' ? 400 : outcome === 'forged' ? 403 : 200).end();
  });
  router.all(NOTIFICATION_PATH, (_request: Request, response: Response) => {
    response.status(405).set('Allow', 'POST').end();
  });
  return router;
}

async function handle(context: NotificationContext, request: Request): Promise<NotificationOutcome> {
  const parsed = headers.safeParse(request.headers);
  if (!parsed.success) return 'malformed';
  const channelId = parsed.data['x-goog-channel-id'];
  const target = context.tokens.verify(channelId, parsed.data['x-goog-channel-token']);
  if (!target) return 'forged';
  let db: Awaited<ReturnType<ServedDatabases['open']>>;
  try {
    db = await context.databases.open(target.database);
  } catch (error) {
    // A database no longer served: its channels are gone with it.
    if (context.outages.convert(error, target.database)) throw error;
    return 'unknown';
  }
  const channel = await findChannel(db, channelId);
  if (!channel) return 'unknown';
  if (
    channel.kind !== target.kind ||
    channel.target !== target.target ||
    // Until Google's answer is stored (its sync message may come first) the token alone vouches.
    (channel.resource_id !== null && channel.resource_id !== parsed.data['x-goog-resource-id'])
  )
    return 'forged';
  if (channel.expired) return 'expired';
  if (!(await takeMessage(db, channelId, BigInt(parsed.data['x-goog-message-number'])))) return 'replayed';
  if (!channel.confirmed) await showChannel(db, channelId, 'active');
  const state = parsed.data['x-goog-resource-state'];
  if (state === 'sync') return 'taken';
  const queue = await context.queue(target.database);
  if (channel.kind === 'events' && state === 'exists')
    await queueNotifiedRound(db, queue, channel.target, channel.credential_id);
  else await queueCalendarList(queue, channel.credential_id);
  context.logger.debug(
    { database: target.database, kind: channel.kind, target: channel.target, state },
    'notification',
  );
  return 'taken';
}
