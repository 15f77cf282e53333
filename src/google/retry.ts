/**
 * The one way the sidecar and its services call Google: every attempt ends within `timeoutMs`
 * (its signal aborts the request, and the attempt is abandoned even if the client ignores the
 * signal); transient failures (network, timeout, 5xx, 429, rate-limit 403s) are retried with
 * exponential backoff and full jitter, honouring Retry-After up to `maxDelayMs`; every failure
 * leaves as a GoogleError. Client libraries' own retries stay off (transport.ts), so there is
 * exactly one policy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GoogleError } from './errors.js';

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Bound of one attempt, from sending the request to reading the whole answer. */
  readonly timeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  timeoutMs: 10_000,
};

export interface CallOptions {
  /** Called before each retry (e.g. to extend a lease held for the call). */
  readonly beforeRetry?: (attempt: number) => Promise<void>;
}

/** Longest a call under `policy` can take, every attempt timing out and every wait at its longest. */
export function worstCaseMs(policy: RetryPolicy): number {
  return policy.attempts * policy.timeoutMs + (policy.attempts - 1) * policy.maxDelayMs;
}

export async function callGoogle<T>(
  operation: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  options: CallOptions = {},
): Promise<T> {
  for (let number = 1; ; number++) {
    try {
      return await withTimeout(operation, attempt, policy.timeoutMs);
    } catch (caught) {
      const error = GoogleError.from(caught, operation);
      if (!error.transient || number >= policy.attempts) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (number - 1));
      await sleep(Math.max(Math.random() * backoff, Math.min(error.retryAfterMs ?? 0, policy.maxDelayMs)));
      await options.beforeRetry?.(number + 1);
    }
  }
}

async function withTimeout<T>(
  operation: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(GoogleError.timeout(operation, timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([attempt(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
