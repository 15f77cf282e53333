/**
 * Fake timers for code that pauses with `setTimeout` of `node:timers/promises` (the retry policy's
 * backoff, the pacer's waits). Vitest's fake timers replace the global timers only, not that module,
 * so a test file mocks the module with this one, whose `setTimeout` waits on the global timer: faked
 * after `vi.useFakeTimers()`, real otherwise. In the test file:
 *
 *   vi.mock('node:timers/promises', async (original) =>
 *     (await import('../support/fake-time.js')).onGlobalTimers(await original()),
 *   );
 *
 * and the test advances the clock (`vi.advanceTimersByTimeAsync`) instead of waiting for it. (This
 * file must not import the module it stands in for: the mock would wait on itself.)
 */
type TimersPromises = typeof import('node:timers/promises');

export function onGlobalTimers(real: TimersPromises): TimersPromises {
  const setTimeout = <T = void>(ms?: number, value?: T, options?: { signal?: AbortSignal }) =>
    new Promise<T>((resolve, reject) => {
      const signal = options?.signal;
      if (signal?.aborted) return reject(signal.reason);
      const abort = () => {
        globalThis.clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = globalThis.setTimeout(() => {
        signal?.removeEventListener('abort', abort);
        resolve(value as T);
      }, ms);
      signal?.addEventListener('abort', abort, { once: true });
    });
  return { ...real, setTimeout: setTimeout as TimersPromises['setTimeout'] };
}
