/**
 * People API quotas, off by default and switched on through the control API: per user (OAuth client and
 * account, Google's "per minute per project per user") a sliding minute per category, answered 429
 * RESOURCE_EXHAUSTED with reason RATE_LIMIT_EXCEEDED as Google does. Each call takes one unit of the
 * categories it belongs to (updateContact is a read and a write at Google); only accepted calls take
 * room, so a client that backs off recovers once its oldest calls leave the window. Times come from the
 * emulator's clock, so tests move it instead of waiting.
 */
import { errors } from './errors.js';
import type { PeopleStore } from './store.js';
import type { PeopleQuota } from './types.js';

const MINUTE_MS = 60_000;

export type QuotaCategory = 'read' | 'write' | 'delete' | 'groupRead' | 'groupWrite' | 'fullSync';

const LIMIT_OF: Record<QuotaCategory, keyof PeopleQuota> = {
  read: 'criticalReadsPerMinute',
  write: 'criticalWritesPerMinute',
  delete: 'deletesPerMinute',
  groupRead: 'groupReadsPerMinute',
  groupWrite: 'groupWritesPerMinute',
  fullSync: 'fullSyncFirstPagesPerMinute',
};

/** Throws Google's 429 when a category's window is full, else records the call in each. */
export function checkPeopleQuota(
  store: PeopleStore,
  client: string,
  account: string,
  categories: readonly QuotaCategory[],
): void {
  const quota = store.quota;
  if (!quota.enabled) return;
  const now = store.now();
  const usage = store.usage;
  const windows = categories.map((category) => {
    const limit = quota[LIMIT_OF[category]] as number;
    const key = `${category}\n${client}\n${account}`;
    const times = (usage[key] ?? []).filter((at) => at > now - MINUTE_MS);
    usage[key] = times;
    return { category, limit, times };
  });
  for (const { category, limit, times } of windows)
    if (limit > 0 && times.length >= limit) throw errors.rateLimit(category, client, limit);
  for (const { limit, times } of windows) if (limit > 0) times.push(now);
}
