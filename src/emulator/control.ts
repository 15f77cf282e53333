/**
 * The test-control API under `/__emulator/`: JSON in, JSON out, for tests and for users' own development.
 * It scripts the emulator (clients, revocations, expiry, the clock, latency, failures, push-notification
 * channels and their delivery, contacts) and reads its call counts. It is not part of the Google-like surface: none of its calls are counted, delayed or failed.
 * Every call passes the request guard first (request-guard.ts): it can change everything, so only the
 * developer's own tools may reach it.
 */
import express, { type Router } from 'express';
import { z } from 'zod';
import { parse } from './control-body.js';
import { CALENDAR_CONTROL_PREFIX, calendarControlRoutes } from './calendar/control.js';
import { pushControlRoutes } from './calendar/push-control.js';
import { PEOPLE_CONTROL_PREFIX, peopleControlRoutes } from './people/control.js';
import { parseDateTime } from './calendar/tz.js';
import type { RequestGuard } from './request-guard.js';
import type { EmulatorState } from './state.js';
import { ENDPOINTS, type Traffic } from './traffic.js';

export const CONTROL_PREFIX = '/__emulator';

const absoluteUrl = z.string().refine((value) => URL.canParse(value), { error: 'must be an absolute URL' });
const endpoint = z.enum(ENDPOINTS);
/** A century either way: far enough for any expiry or horizon, near enough to stay a valid Date. */
const MAX_CLOCK_MOVE_MS = 100 * 366 * 86_400_000;

const schemas = {
  client: z.strictObject({
    client_id: z.string().min(1),
    client_secret: z.string().min(1),
    redirect_uris: z.array(absoluteUrl).min(1),
  }),
  selector: z.strictObject({ client_id: z.string().min(1).optional(), email: z.string().min(1).optional() }),
  latency: z.strictObject({ ms: z.number().int().min(0).max(600_000), endpoint: endpoint.optional() }),
  failure: z
    .strictObject({
      endpoint,
      status: z.number().int().min(400).max(599),
      count: z.number().int().min(1).default(1),
      /** Each call fails with this probability (the failure's count still caps how many do). */
      probability: z.number().gt(0).max(1).default(1),
      body: z.unknown().optional(),
      headers: z.record(z.string(), z.string()).optional(),
      /** API endpoints: the Google reason of the default body (403 `userRateLimitExceeded`, `quotaExceeded`, ...). */
      reason: z.string().min(1).max(64).optional(),
      /** Endpoint `calendar` only: taken only by calls on this calendar (`/calendar/v3/calendars/<id>/...`). */
      calendar_id: z.string().min(1).optional(),
      /** Taken only by calls of this operation, as the stats name it (`people.createContact`, `events.list`). */
      operation: z.string().min(1).max(64).optional(),
    })
    .refine((body) => body.calendar_id === undefined || body.endpoint === 'calendar', {
      error: 'calendar_id is only for endpoint "calendar"',
      path: ['calendar_id'],
    }),
  clock: z
    .strictObject({
      advance_ms: z.number().int().min(-MAX_CLOCK_MOVE_MS).max(MAX_CLOCK_MOVE_MS).optional(),
      set: z
        .string()
        .refine((value) => parseDateTime(value) !== undefined, {
          error: 'must be an RFC 3339 date-time with an offset',
        })
        .optional(),
      reset: z.literal(true).optional(),
    })
    .refine((body) => [body.advance_ms, body.set, body.reset].filter((v) => v !== undefined).length === 1, {
      error: 'give exactly one of advance_ms, set, reset',
    }),
  reset: z.strictObject({ clients: z.boolean().default(false) }),
};

export function controlRoutes(state: EmulatorState, traffic: Traffic, guard: RequestGuard): Router {
  const router = express.Router();
  router.use((request, response, next) => {
    const refusal = guard.check(request, { crossSite: true, jsonBody: true });
    if (refusal)
      response.status(refusal.status).json({ error: refusal.error, error_description: refusal.description });
    else next();
  });
  router.use(express.json({ limit: '256kb' }));

  router.get('/clients', (_request, response) => {
    response.json({
      clients: state
        .listClients()
        .map((client) => ({ client_id: client.clientId, redirect_uris: client.redirectUris })),
    });
  });
  router.post('/clients', (request, response) => {
    const body = parse(schemas.client, request, response);
    if (!body) return;
    state.registerClient({
      clientId: body.client_id,
      clientSecret: body.client_secret,
      redirectUris: body.redirect_uris,
    });
    response.status(201).json({ client_id: body.client_id, redirect_uris: body.redirect_uris });
  });
  router.post('/grants/revoke', (request, response) => {
    const body = parse(schemas.selector, request, response);
    if (!body) return;
    response.json({ revoked: state.revokeGrants({ clientId: body.client_id, email: body.email }) });
  });
  router.post('/tokens/expire', (request, response) => {
    const body = parse(schemas.selector, request, response);
    if (!body) return;
    response.json({ expired: state.expireAccessTokens({ clientId: body.client_id, email: body.email }) });
  });
  router.post('/latency', (request, response) => {
    const body = parse(schemas.latency, request, response);
    if (!body) return;
    traffic.setLatency(body.ms, body.endpoint);
    response.json({ latency: traffic.latencies() });
  });
  router.post('/failures', (request, response) => {
    const body = parse(schemas.failure, request, response);
    if (!body) return;
    traffic.addFailure(body.endpoint, {
      status: body.status,
      remaining: body.count,
      probability: body.probability,
      body: body.body,
      headers: body.headers ?? {},
      reason: body.reason,
      calendarId: body.calendar_id,
      operation: body.operation,
    });
    response.json({ pending: traffic.pendingFailures() });
  });
  // Drops queued failures (all, or ?endpoint=...), so a test's quiet phase has none left.
  router.delete('/failures', (request, response) => {
    const parsed = endpoint.optional().safeParse(request.query.endpoint);
    if (!parsed.success) {
      response.status(400).json({ error: 'invalid_request', issues: parsed.error.issues });
      return;
    }
    traffic.clearFailures(parsed.data);
    response.json({ pending: traffic.pendingFailures() });
  });
  router.get('/clock', (_request, response) => {
    response.json(clockAnswer(state));
  });
  // Moves the emulator's clock by an offset over the injected one; every expiry, TTL, horizon, quota
  // window and `updated` stamp follows, since they all read `state.now()`.
  router.post('/clock', (request, response) => {
    const body = parse(schemas.clock, request, response);
    if (!body) return;
    if (body.reset) state.setClockOffset(0);
    else if (body.advance_ms !== undefined) state.setClockOffset(state.clockOffset + body.advance_ms);
    else if (body.set !== undefined)
      state.setClockOffset((parseDateTime(body.set) as number) - state.options.now());
    response.json(clockAnswer(state));
  });
  router.get('/stats', (_request, response) => {
    response.json(traffic.stats());
  });
  router.post('/reset', (request, response) => {
    const body = parse(schemas.reset, request, response);
    if (!body) return;
    state.reset({ clients: body.clients });
    traffic.reset();
    response.json({ reset: true, clients_kept: !body.clients });
  });
  router.use(CALENDAR_CONTROL_PREFIX, calendarControlRoutes(state.calendar));
  router.use(pushControlRoutes(state.push));
  router.use(PEOPLE_CONTROL_PREFIX, peopleControlRoutes(state.people));
  router.use((_request, response) => {
    response.status(404).json({ error: 'not_found', error_description: 'No such control endpoint.' });
  });
  return router;
}

function clockAnswer(state: EmulatorState): { now: string; offset_ms: number } {
  return { now: new Date(state.now()).toISOString(), offset_ms: state.clockOffset };
}
