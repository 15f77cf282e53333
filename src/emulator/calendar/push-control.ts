/**
 * Push notifications in the control API (mounted at `/__emulator/`): the channels as Google keeps them,
 * and how it delivers their messages.
 *
 *   GET    /channels                    every channel not expired (stopped ones included)
 *   POST   /channels/:id/expire         expires it now: it sends nothing more and is forgotten
 *   POST   /channels/:id/lose           Google silently stops delivering for it; the API still knows it
 *   GET    /notifications[?channelId=]  the delivery log (one entry per attempt), held and pending counts, settings
 *   POST   /notifications               {delayMs?, dropProbability?, duplicateProbability?, reorder?, hold?, seed?,
 *                                        timeoutMs?, retries?, retryDelayMs?}: changes the delivery settings
 *   POST   /notifications/flush         sends what is held (in order, shuffled with reorder)
 *   DELETE /notifications               settings back to the defaults; what is held is sent
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { parse } from '../control-body.js';
import { describeChannel, type PushChannels } from './channels.js';

const probability = z.number().min(0).max(1);
const settingsSchema = z.strictObject({
  delayMs: z.number().int().min(0).max(600_000).optional(),
  dropProbability: probability.optional(),
  duplicateProbability: probability.optional(),
  reorder: z.boolean().optional(),
  hold: z.boolean().optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  retries: z.number().int().min(0).max(20).optional(),
  retryDelayMs: z.number().int().min(0).max(600_000).optional(),
});

export function pushControlRoutes(push: PushChannels): Router {
  const router = express.Router();
  router.get('/channels', (_request, response) => {
    response.json({ items: push.list().map(describeChannel) });
  });
  router.post('/channels/:id/expire', (request, response) => {
    const id = String(request.params.id);
    if (push.expire(id)) response.json({ id, expired: true });
    else notFound(response, id);
  });
  router.post('/channels/:id/lose', (request, response) => {
    const id = String(request.params.id);
    const channel = push.lose(id);
    if (channel) response.json(describeChannel(channel));
    else notFound(response, id);
  });
  router.get('/notifications', (request, response) => {
    const channelId = typeof request.query.channelId === 'string' ? request.query.channelId : undefined;
    response.json(notificationsAnswer(push, channelId));
  });
  router.post('/notifications', (request, response) => {
    const body = parse(settingsSchema, request, response);
    if (!body) return;
    push.delivery.configure(
      Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined)),
    );
    response.json(push.delivery.settings);
  });
  router.post('/notifications/flush', (_request, response) => {
    response.json({ released: push.delivery.flush() });
  });
  router.delete('/notifications', (_request, response) => {
    push.delivery.resetSettings();
    response.json(push.delivery.settings);
  });
  return router;
}

function notFound(response: express.Response, id: string): void {
  response.status(404).json({ error: 'not_found', error_description: `No channel ${JSON.stringify(id)}.` });
}

function notificationsAnswer(push: PushChannels, channelId: string | undefined): Record<string, unknown> {
  return {
    items: push.delivery.log(channelId),
    held: push.delivery.heldCount,
    pending: push.delivery.pendingCount,
    settings: push.delivery.settings,
  };
}
