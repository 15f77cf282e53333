/**
 * Keeps requests under Google's quotas by spacing them: per user (Calendar allows 600 requests a
 * minute per user) and per project (10,000 a minute). The spacing is per process: replicas share
 * the budget only loosely, and Google's rate-limit answers (403/429) are retried with backoff by
 * the one retry policy (google/retry.ts), which catches what spacing misses.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface PacerLimits {
  /** Requests per minute for one user (one credential). */
  readonly perUser: number;
  /** Requests per minute for the whole project (this process). */
  readonly perProject: number;
}

export const GOOGLE_QUOTAS: PacerLimits = { perUser: 500, perProject: 9_000 };

export class Pacer {
  private readonly nextSlot = new Map<string, number>();

  constructor(private readonly limits: PacerLimits = GOOGLE_QUOTAS) {}

  /** Waits until a request for `user` may go out, and books its slot. */
  async take(user: string): Promise<void> {
    const now = Date.now();
    const userAt = this.book(`user:${user}`, now, 60_000 / this.limits.perUser);
    const projectAt = this.book('project', now, 60_000 / this.limits.perProject);
    const wait = Math.max(userAt, projectAt) - now;
    if (wait > 0) await sleep(wait);
  }

  private book(key: string, now: number, spacingMs: number): number {
    const at = Math.max(now, this.nextSlot.get(key) ?? 0);
    this.nextSlot.set(key, at + spacingMs);
    return at;
  }
}
