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
  /**
   * Bound of the whole call, attempts and pauses included: no attempt runs past it. Below trytond's
   * default sidecar_timeout (30 s), so Tryton hears the sidecar's answer rather than its own timeout.
   */
  readonly budgetMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  timeoutMs: 10_000,
  budgetMs: 25_000,
};

/** Longest a call under `policy` can take, every attempt timing out and every wait at its longest. */
export function worstCaseMs(policy: RetryPolicy): number {
  return Math.min(
    policy.budgetMs,
    policy.attempts * policy.timeoutMs + (policy.attempts - 1) * policy.maxDelayMs,
  );
}

/** Below this much budget left, another attempt could not get an answer: the call fails instead. */
const LEAST_ATTEMPT_MS = 100;

export async function callGoogle<T>(
  operation: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy = DEFAULT_RETRY,
  /** Told of each failed attempt before any retry (the pacer holds off on rate limits). */
  onFailure?: (error: GoogleError) => Promise<void>,
): Promise<T> {
  const deadline = Date.now() + policy.budgetMs;
  for (let number = 1; ; number++) {
    try {
      return await withTimeout(operation, attempt, Math.min(policy.timeoutMs, deadline - Date.now()));
    } catch (caught) {
      const error = GoogleError.from(caught, operation);
      await onFailure?.(error);
      if (!error.transient || number >= policy.attempts) throw error;
      const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (number - 1));
      const pause = Math.max(Math.random() * backoff, Math.min(error.retryAfterMs ?? 0, policy.maxDelayMs));
      if (deadline - Date.now() - pause < LEAST_ATTEMPT_MS) throw error;
      await sleep(pause);
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
