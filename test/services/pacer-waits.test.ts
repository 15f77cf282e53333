/**
 * The pacer's own waiting (src/services/pacer.ts) on a clock the test drives: a request goes out when
 * the slot the database booked for it comes, not before and not later, and asks for a slot of its user
 * and of its project at their spacings. Booking across replicas is test/services/pacer.test.ts, on
 * PostgreSQL; here the booking is stubbed, and fake timers stand in for the wait.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Db } from '../../src/db/handle.js';
import { bookSlots } from '../../src/db/pacer-repository.js';
import { Pacer } from '../../src/services/pacer.js';

vi.mock('../../src/db/pacer-repository.js', () => ({ bookSlots: vi.fn(), holdOff: vi.fn() }));
// The pacer waits with `setTimeout` of node:timers/promises: on the global timer, which is faked.
vi.mock('node:timers/promises', async (original) =>
  (await import('../support/fake-time.js')).onGlobalTimers(await original()),
);

const booked = vi.mocked(bookSlots);
const db = {} as Db;
const caller = { user: 'credential:7', project: 'client.apps' };

/** Whether `take` has let the request go, without awaiting it. */
function taking(pacer: Pacer, who = caller) {
  const state = { gone: false };
  void pacer.take(db, who).then(() => (state.gone = true));
  return state;
}

beforeEach(() => {
  vi.useFakeTimers();
  booked.mockReset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('Pacer.take', () => {
  it('lets a request go at once when its slot is now', async () => {
    booked.mockResolvedValue(0);
    const request = taking(new Pacer());
    await vi.advanceTimersByTimeAsync(0);
    expect(request.gone).toBe(true);
  });

  it('holds a request until its booked slot, to the millisecond', async () => {
    booked.mockResolvedValue(1_500);
    const request = taking(new Pacer());
    await vi.advanceTimersByTimeAsync(1_499);
    expect(request.gone).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(request.gone).toBe(true);
  });

  it("books its user's and its project's slots at their spacings, a service's own user quota if it has one", async () => {
    booked.mockResolvedValue(0);
    const pacer = new Pacer({ perUser: 600, perProject: 6_000 });
    await pacer.take(db, caller);
    await pacer.take(db, { ...caller, perUser: 60 });
    expect(booked.mock.calls.map(([, slots]) => slots)).toEqual([
      [
        { key: 'user:credential:7', spacingMs: 100 },
        { key: 'project:client.apps', spacingMs: 10 },
      ],
      [
        { key: 'user:credential:7', spacingMs: 1_000 },
        { key: 'project:client.apps', spacingMs: 10 },
      ],
    ]);
  });
});
