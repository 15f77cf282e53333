/**
 * The sidecar's retry policy for calls to Google: transient failures (5xx, 429, network errors)
 * are retried with exponential backoff and full jitter, honouring Retry-After; anything else is
 * returned at once. google-auth-library's own retries are switched off (google-client.ts) so there
 * is exactly one policy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GoogleError } from './google-error.js';

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 8_000 };

export async function withRetry<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof GoogleError) || !error.transient || attempt >= policy.attempts) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      const wait = Math.max(Math.random() * backoff, Math.min(error.retryAfterMs ?? 0, policy.maxDelayMs));
      await sleep(wait);
    }
  }
}
