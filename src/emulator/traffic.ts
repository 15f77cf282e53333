/**
 * What tests script about traffic rather than about OAuth: call counts per endpoint, added latency and
 * injected failures. Every Google-like route passes through `surfaceEndpoint`, which counts the call
 * first (an injected failure still "reached Google"), then waits, then fails if a failure is queued.
 * The APIs (calendar, people) are counted per operation, and a failure may be aimed at one operation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, RequestHandler, Response } from 'express';
import { injectedFailureBody } from './calendar/errors.js';
import { injectedPeopleFailureBody } from './people/errors.js';

/** Names of the Google-like endpoints that stats, latency and failures address. */
export const ENDPOINTS = ['auth', 'token', 'revoke', 'userinfo', 'calendar', 'people'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

/** Endpoints whose stats are split by kind (the token endpoint by grant type), with the kinds always shown. */
const KINDS: Partial<Record<Endpoint, readonly string[]>> = {
  token: ['authorization_code', 'refresh_token'],
  // Calendar calls are split by operation (`events.list`, `events.insert`, ...), shown once called.
  calendar: [],
  // People calls likewise (`people.connections.list`, `contactGroups.list`, ...).
  people: [],
};

export interface Failure {
  readonly status: number;
  remaining: number;
  /** Chance that a call takes this failure; the others pass as if nothing were queued. */
  readonly probability: number;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** For API endpoints: which of Google's reasons the default body gives (e.g. `userRateLimitExceeded`). */
  readonly reason?: string | undefined;
  /** Calendar only: taken only by calls addressing this calendar; the others pass it by. */
  readonly calendarId?: string | undefined;
  /** Taken only by calls of this operation (the kind the stats show, e.g. `people.createContact`). */
  readonly operation?: string | undefined;
}

export type Stats = Record<string, number | Record<string, number>>;

export class Traffic {
  private readonly counts = new Map<Endpoint, Map<string, number>>();
  private readonly failures = new Map<Endpoint, Failure[]>();
  private readonly latency = new Map<Endpoint | 'all', number>();

  count(endpoint: Endpoint, kind = ''): void {
    const kinds = this.counts.get(endpoint) ?? new Map<string, number>();
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    this.counts.set(endpoint, kinds);
  }

  stats(): Stats {
    const stats: Stats = {};
    for (const endpoint of ENDPOINTS) {
      const kinds = this.counts.get(endpoint) ?? new Map<string, number>();
      const always = KINDS[endpoint];
      if (always === undefined) {
        stats[endpoint] = [...kinds.values()].reduce((sum, value) => sum + value, 0);
      } else {
        const split: Record<string, number> = Object.fromEntries(always.map((kind) => [kind, 0]));
        for (const [kind, value] of kinds) split[kind || 'none'] = (split[kind || 'none'] ?? 0) + value;
        stats[endpoint] = split;
      }
    }
    return stats;
  }

  /** `ms` of 0 removes the latency. A per-endpoint latency replaces the global one for that endpoint. */
  setLatency(ms: number, endpoint?: Endpoint): void {
    if (ms > 0) this.latency.set(endpoint ?? 'all', ms);
    else this.latency.delete(endpoint ?? 'all');
  }

  latencyFor(endpoint: Endpoint): number {
    return this.latency.get(endpoint) ?? this.latency.get('all') ?? 0;
  }

  latencies(): Record<string, number> {
    return Object.fromEntries(this.latency);
  }

  /** Queues a failure after those already queued, so tests can script "503 twice, then 429 once". */
  addFailure(endpoint: Endpoint, failure: Failure): void {
    const queue = this.failures.get(endpoint) ?? [];
    queue.push(failure);
    this.failures.set(endpoint, queue);
  }

  /**
   * The first queued failure this call can take: any without a calendar, or one aimed at a calendar in
   * `calendars` (what the call addresses), and any without an operation, or one aimed at `operation`.
   * Failures aimed elsewhere stay queued, in their order.
   */
  takeFailure(endpoint: Endpoint, calendars: readonly string[] = [], operation = ''): Failure | undefined {
    const queue = this.failures.get(endpoint) ?? [];
    const index = queue.findIndex(
      (failure) =>
        (failure.calendarId === undefined || calendars.includes(failure.calendarId)) &&
        (failure.operation === undefined || failure.operation === operation),
    );
    const next = queue[index];
    if (next === undefined || Math.random() >= next.probability) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) queue.splice(index, 1);
    return next;
  }

  /** Forgets every queued failure (of one endpoint, or all). */
  clearFailures(endpoint?: Endpoint): void {
    if (endpoint) this.failures.delete(endpoint);
    else this.failures.clear();
  }

  pendingFailures(): Record<string, number> {
    const pending: Record<string, number> = {};
    for (const [endpoint, queue] of this.failures) {
      const total = queue.reduce((sum, failure) => sum + failure.remaining, 0);
      if (total > 0) pending[endpoint] = total;
    }
    return pending;
  }

  reset(): void {
    this.counts.clear();
    this.failures.clear();
    this.latency.clear();
  }
}

/** Sub-kinds come from the request (the grant type); keep them short and plain so stats stay readable. */
function kindOf(value: unknown): string {
  if (typeof value !== 'string') return '';
  return /^[\w:.-]{1,64}$/.test(value) ? value : 'invalid';
}

/** `calendars`: the calendar ids a call addresses, for failures aimed at one (Calendar only). */
export function surfaceEndpoint(
  traffic: Traffic,
  endpoint: Endpoint,
  kind?: (request: Request) => unknown,
  calendars?: (request: Request) => readonly string[],
): RequestHandler {
  return async (request, response, next) => {
    const operation = kind ? kindOf(kind(request)) : '';
    traffic.count(endpoint, operation);
    const ms = traffic.latencyFor(endpoint);
    if (ms > 0) await sleep(ms);
    const failure = traffic.takeFailure(endpoint, calendars?.(request), operation);
    if (failure === undefined) {
      next();
      return;
    }
    sendFailure(response, endpoint, failure);
  };
}

function sendFailure(response: Response, endpoint: Endpoint, failure: Failure): void {
  response.status(failure.status);
  if (failure.status === 429) response.set('Retry-After', '1');
  response.set({ 'Cache-Control': 'no-store', ...failure.headers });
  if (failure.body === undefined) {
    response.json(defaultFailureBody(endpoint, failure.status, failure.reason));
  } else if (typeof failure.body === 'string') {
    response.type(response.get('Content-Type') ?? 'text/plain').send(failure.body);
  } else {
    response.json(failure.body);
  }
}

/**
 * Bodies as Google answers them: the OAuth endpoints speak RFC 6749 errors, the APIs (userinfo, calendar,
 * people) Google's JSON error envelope.
 */
export function defaultFailureBody(endpoint: Endpoint, status: number, reason?: string): unknown {
  if (endpoint === 'calendar') return injectedFailureBody(status, reason);
  if (endpoint === 'people') return injectedPeopleFailureBody(status, reason);
  if (endpoint === 'userinfo') {
    const [reason, apiStatus, message] =
      status === 429
        ? ['rateLimitExceeded', 'RESOURCE_EXHAUSTED', 'Rate Limit Exceeded']
        : status === 503
          ? ['backendError', 'UNAVAILABLE', 'The service is currently unavailable.']
          : ['backendError', 'INTERNAL', 'Backend Error'];
    return {
      error: { code: status, message, status: apiStatus, errors: [{ message, domain: 'global', reason }] },
    };
  }
  if (status === 429) return { error: 'rate_limit_exceeded', error_description: 'Rate Limit Exceeded' };
  if (status === 503)
    return { error: 'temporarily_unavailable', error_description: 'The service is currently unavailable.' };
  if (status >= 500) return { error: 'internal_failure', error_description: 'Backend Error' };
  return { error: 'invalid_request', error_description: 'Bad Request' };
}
