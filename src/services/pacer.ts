/**
 * Keeps requests under Google's quotas by spacing them (docs/contracts.md, "Scale-out rules",
 * *Pacing*): per user (Calendar allows 600 requests a minute per user) and per project (10,000 a
 * minute), with slots booked in the database so that every replica shares one budget. A rate-limit
 * answer holds off the user (or the project) for every replica at once: a quota error slows the whole
 * sync, not one call. The one retry policy (google/retry.ts) still retries what spacing missed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/handle.js';
import { bookSlots, holdOff } from '../db/pacer-repository.js';
import type { GoogleError } from '../google/errors.js';

export interface PacerLimits {
  /** Requests per minute for one user (one credential). */
  readonly perUser: number;
  /** Requests per minute for the whole project (one OAuth client). */
  readonly perProject: number;
}

export const GOOGLE_QUOTAS: PacerLimits = { perUser: 500, perProject: 9_000 };

/** How long a rate-limit answer holds off, when Google did not say (Retry-After). */
const HOLD_OFF_MS = 5_000;
/** Google's reasons of a project-wide limit; the others are the user's. */
const PROJECT_REASONS = new Set(['rateLimitExceeded', 'quotaExceeded']);
const RATE_LIMIT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded']);

export interface PacedCaller {
  /** The credential making the call (and the service's bucket, for a service with its own quota). */
  readonly user: string;
  /** That bucket's requests per minute, when not the calendar's. */
  readonly perUser?: number;
  /** Its OAuth client. */
  readonly project: string;
}

export class Pacer {
  constructor(private readonly limits: PacerLimits = GOOGLE_QUOTAS) {}

  /** Waits until a request of `caller` may go out, and books its slot. */
  async take(db: Db, caller: PacedCaller): Promise<void> {
    const wait = await bookSlots(db, [
      { key: `user:${caller.user}`, spacingMs: 60_000 / (caller.perUser ?? this.limits.perUser) },
      { key: `project:${caller.project}`, spacingMs: 60_000 / this.limits.perProject },
    ]);
    if (wait > 0) await sleep(wait);
  }

  /** A rate-limit answer: the user (or the project) waits, on every replica. */
  async rateLimited(db: Db, caller: PacedCaller, error: GoogleError): Promise<void> {
    if (!isRateLimit(error)) return;
    const key = PROJECT_REASONS.has(error.code ?? '') ? `project:${caller.project}` : `user:${caller.user}`;
    await holdOff(db, key, Math.max(HOLD_OFF_MS, error.retryAfterMs ?? 0));
  }
}

export function isRateLimit(error: GoogleError): boolean {
  return error.status === 429 || (error.status === 403 && RATE_LIMIT_REASONS.has(error.code ?? ''));
}
