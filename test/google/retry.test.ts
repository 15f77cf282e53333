/**
 * The one retry policy (src/google/retry.ts) on a clock the test drives: each attempt is abandoned at
 * its timeout, transient failures are retried after exponential backoff with full jitter (Math.random
 * pinned here) or Google's Retry-After up to maxDelayMs, other failures are not retried, and no call
 * runs past its budget. Fake timers stand in for the pauses, so the exact moments are checked and the
 * file takes no real time for the 25 s a call may last.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GoogleError } from '../../src/google/errors.js';
import { callGoogle, DEFAULT_RETRY, type RetryPolicy, worstCaseMs } from '../../src/google/retry.js';

// The pauses between attempts wait on the global timer, which the tests fake.
vi.mock('node:timers/promises', async (original) =>
  (await import('../support/fake-time.js')).onGlobalTimers(await original()),
);

const POLICY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  timeoutMs: 1_000,
  budgetMs: 25_000,
};

/** An answer of Google as the client libraries throw it (gaxios: `response` with status, body, headers). */
const answered = (status: number, data: unknown, headers: Record<string, string> = {}) => ({
  response: { status, data, headers },
});

/** Attempts that never answer, noting when each began (ms since the call) and whether it was aborted. */
function stalled(startedAt: number) {
  const attempts: Array<{ at: number; signal: AbortSignal }> = [];
  const attempt = (signal: AbortSignal) => {
    attempts.push({ at: Date.now() - startedAt, signal });
    return new Promise<never>(() => {});
  };
  return { attempts, attempt };
}

/** The call's outcome, settled or not, without an unhandled rejection while time is advanced. */
function observe<T>(call: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  call.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-25T09:00:00Z') });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('callGoogle', () => {
  it('abandons an attempt at its timeout, aborts its request, and retries after a jittered backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const started = Date.now();
    const { attempts, attempt } = stalled(started);
    const outcome = observe(callGoogle('calendarList.list', attempt, POLICY));
    // Timeouts of 1 s; pauses of half the backoff (250, 500, 1,000 ms): 125, 250 and 500 ms.
    await vi.advanceTimersByTimeAsync(4_874);
    expect(attempts.map(({ at }) => at)).toEqual([0, 1_125, 2_375, 3_875]);
    expect(attempts.slice(0, 3).every(({ signal }) => signal.aborted)).toBe(true);
    expect(outcome.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts[3]?.signal.aborted).toBe(true);
    expect(outcome.error).toBeInstanceOf(GoogleError);
    expect(outcome.error).toMatchObject({ code: 'timeout', transient: true, status: undefined });
    expect((outcome.error as GoogleError).message).toBe(
      'calendarList.list: Google did not answer within 1 s',
    );
  });

  it('tells of each failure before its pause, and returns the answer of the attempt that succeeds', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const started = Date.now();
    const failures: Array<{ at: number; status: number | undefined }> = [];
    let calls = 0;
    const outcome = observe(
      callGoogle(
        'events.list',
        async () => {
          calls++;
          if (calls < 3) throw answered(503, { error: { code: 503, message: 'Backend Error' } });
          return { items: [] };
        },
        POLICY,
        async (error) => {
          failures.push({ at: Date.now() - started, status: error.status });
        },
      ),
    );
    await vi.advanceTimersByTimeAsync(749);
    expect(failures).toEqual([
      { at: 0, status: 503 },
      { at: 250, status: 503 },
    ]);
    expect(outcome.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toEqual({ settled: true, value: { items: [] } });
    expect(calls).toBe(3);
  });

  it("waits for Google's Retry-After, in seconds or as a date, up to maxDelayMs", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const started = Date.now();
    const retryAfters = ['3', new Date(started + 5_000).toUTCString(), '3600'];
    const attempts: number[] = [];
    const outcome = observe(
      callGoogle(
        'events.insert',
        async () => {
          attempts.push(Date.now() - started);
          const retryAfter = retryAfters[attempts.length - 1];
          if (retryAfter !== undefined) throw answered(429, {}, { 'retry-after': retryAfter });
          return 'inserted';
        },
        POLICY,
      ),
    );
    await vi.advanceTimersByTimeAsync(13_000);
    // 3 s; then until the date 5 s after the call began; then an hour, cut to maxDelayMs.
    expect(attempts).toEqual([0, 3_000, 5_000, 13_000]);
    expect(outcome.value).toBe('inserted');
  });

  it('does not retry what retrying cannot help', async () => {
    let calls = 0;
    const outcome = observe(
      callGoogle(
        'token',
        async () => {
          calls++;
          throw answered(400, { error: 'invalid_grant', error_description: 'Token has been revoked.' });
        },
        POLICY,
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    expect(outcome.error).toMatchObject({ status: 400, code: 'invalid_grant', transient: false });
  });

  it('runs no attempt past its budget: the last one is cut short, and no pause leaves too little', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const policy: RetryPolicy = {
      attempts: 10,
      baseDelayMs: 1_000,
      maxDelayMs: 1_000,
      timeoutMs: 1_000,
      budgetMs: 2_500,
    };
    const started = Date.now();
    const { attempts, attempt } = stalled(started);
    const outcome = observe(callGoogle('events.list', attempt, policy));
    await vi.advanceTimersByTimeAsync(2_499);
    // 1 s attempt, 1 s pause, then only 0.5 s of budget left for the second attempt.
    expect(attempts.map(({ at }) => at)).toEqual([0, 2_000]);
    expect(outcome.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    // Another pause would end past the budget: the call fails now rather than try again.
    expect((outcome.error as GoogleError).message).toBe('events.list: Google did not answer within 0.5 s');
    expect(attempts).toHaveLength(2);
  });

  it('ends a call Google never answers at worstCaseMs of the default policy, not later', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const started = Date.now();
    const { attempts, attempt } = stalled(started);
    const outcome = observe(callGoogle('calendarList.list', attempt));
    await vi.advanceTimersByTimeAsync(worstCaseMs(DEFAULT_RETRY) - 1);
    expect(outcome.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome.error).toMatchObject({ code: 'timeout' });
    // 10 s, a 250 ms pause, 10 s, a 500 ms pause, and the 4.25 s the budget leaves.
    expect(attempts.map(({ at }) => at)).toEqual([0, 10_250, 20_750]);
    expect(worstCaseMs(DEFAULT_RETRY)).toBe(25_000);
  });
});
