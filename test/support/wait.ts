/**
 * Waits for something another process does (a row written, a lock released): reads until `done`
 * holds, and fails with what it saw last once `timeoutMs` passed. For conditions across processes,
 * where no event reaches the test; never a fixed sleep. Time is read from the monotonic clock: the
 * wall clock of these machines can step (seconds at once), which would end a wait early.
 */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 15_000, what = 'condition' }: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > deadline)
      throw new Error(`${what} not met within ${timeoutMs} ms; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
