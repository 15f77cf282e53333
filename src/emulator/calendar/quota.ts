/**
 * Calendar API quotas, off by default and switched on through the control API: per user a sliding window
 * of 60 s (Google: 600 requests/min/user, answered 403 userRateLimitExceeded, sometimes 429), per project
 * (OAuth client) a sliding 60 s window (10,000/min, 403 rateLimitExceeded) and optionally a sliding day
 * (403 quotaExceeded). Only accepted requests take room in a window, so a client that backs off recovers
 * once its oldest requests leave the window. Times come from the emulator's clock so tests can move it.
 */
import { type CalendarApiError, errors } from './errors.js';
import type { CalendarStore } from './store.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Throws the error Google would answer when a window is full, else records the request. */
export function checkQuota(store: CalendarStore, user: string, project: string): void {
  const quota = store.quota;
  if (!quota.enabled) return;
  const now = store.now();
  const usage = store.usage;
  const windows: [Record<string, number[]>, string, number, number, () => CalendarApiError][] = [
    [usage.projectDay, project, DAY_MS, quota.perProjectPerDay, errors.quotaExceeded],
    [usage.project, project, MINUTE_MS, quota.perProjectPerMinute, errors.rateLimit],
    [
      usage.user,
      user,
      MINUTE_MS,
      quota.perUserPerMinute,
      quota.userLimitStatus === 429
        ? () => errors.tooManyRequests('userRateLimitExceeded')
        : errors.userRateLimit,
    ],
  ];
  for (const [table, key, span, limit] of windows) {
    if (limit <= 0) continue;
    table[key] = (table[key] ?? []).filter((at) => at > now - span);
  }
  for (const [table, key, , limit, error] of windows) {
    if (limit > 0 && (table[key]?.length ?? 0) >= limit) throw error();
  }
  for (const [table, key, , limit] of windows) {
    if (limit <= 0) continue;
    const times = table[key] ?? [];
    times.push(now);
    table[key] = times;
  }
}
