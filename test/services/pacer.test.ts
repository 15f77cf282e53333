/**
 * The pacer every replica shares (docs/contracts.md, "Scale-out rules", *Pacing*), on real PostgreSQL:
 * two pools stand for two replicas. Slots are booked one spacing apart whichever replica books them,
 * per user and per project; a rate-limit answer holds off the user (or, for a project-wide reason, the
 * whole project) for every replica. What is checked is the wait each booking answers, not elapsed
 * time, so a slow machine does not change the outcome.
 */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookSlots } from '../../src/db/pacer-repository.js';
import { GoogleError } from '../../src/google/errors.js';
import { Pacer } from '../../src/services/pacer.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from '../support/postgres.js';

let database: string;
let replicaA: Knex;
let replicaB: Knex;

beforeAll(async () => {
  database = await cloneDatabase(STANDALONE_TEMPLATE, 'gi_test_pacer');
  replicaA = connect(database);
  replicaB = connect(database);
});

afterAll(async () => {
  await replicaA?.destroy();
  await replicaB?.destroy();
  if (database) await dropDatabase(database);
});

/** Statement time on this machine: far below the spacings used. */
const SLACK_MS = 400;

const limited = (status: number, reason: string, retryAfterMs?: number) =>
  new GoogleError('Rate Limit Exceeded', status, reason, true, retryAfterMs);

describe('booking slots across replicas', () => {
  it('spaces one key by its spacing, whichever replica books, including concurrent bookings', async () => {
    const key = [{ key: 'user:spaced', spacingMs: 1_000 }];
    const waits = await Promise.all(
      Array.from({ length: 8 }, (_, index) => bookSlots(index % 2 === 0 ? replicaA : replicaB, key)),
    );
    const sorted = [...waits].sort((a, b) => a - b);
    sorted.forEach((wait, index) => {
      expect(wait).toBeGreaterThanOrEqual(index * 1_000 - SLACK_MS);
      expect(wait).toBeLessThanOrEqual(index * 1_000 + SLACK_MS);
    });
  });

  it('waits for the later of the user and the project, and keeps users apart', async () => {
    const project = { key: 'project:shared', spacingMs: 500 };
    const first = await bookSlots(replicaA, [{ key: 'user:one', spacingMs: 2_000 }, project]);
    const second = await bookSlots(replicaB, [{ key: 'user:one', spacingMs: 2_000 }, project]);
    const other = await bookSlots(replicaB, [{ key: 'user:two', spacingMs: 2_000 }, project]);
    expect(first).toBeLessThanOrEqual(SLACK_MS);
    // The same user: its own spacing, the longer one.
    expect(second).toBeGreaterThanOrEqual(2_000 - SLACK_MS);
    // Another user of the project: only the project's spacing (two calls booked before it).
    expect(other).toBeGreaterThanOrEqual(1_000 - SLACK_MS);
    expect(other).toBeLessThanOrEqual(1_000 + SLACK_MS);
  });
});

describe('a rate-limit answer', () => {
  const pacerLimits = { perUser: 600, perProject: 6_000 };

  it("holds off the user on every replica for Google's Retry-After, and no other user", async () => {
    const onA = new Pacer(pacerLimits);
    await onA.rateLimited(
      replicaA,
      { user: 'held', project: 'p1' },
      limited(403, 'userRateLimitExceeded', 20_000),
    );
    const held = await bookSlots(replicaB, [{ key: 'user:held', spacingMs: 100 }]);
    const free = await bookSlots(replicaB, [{ key: 'user:free', spacingMs: 100 }]);
    expect(held).toBeGreaterThanOrEqual(20_000 - SLACK_MS);
    expect(free).toBeLessThanOrEqual(SLACK_MS);
  });

  it('holds off the whole project for a project-wide reason (at least 5 s without Retry-After)', async () => {
    await new Pacer(pacerLimits).rateLimited(
      replicaA,
      { user: 'u1', project: 'p2' },
      limited(403, 'rateLimitExceeded'),
    );
    const anotherUser = await bookSlots(replicaB, [
      { key: 'user:u2', spacingMs: 100 },
      { key: 'project:p2', spacingMs: 10 },
    ]);
    expect(anotherUser).toBeGreaterThanOrEqual(5_000 - SLACK_MS);
    const anotherProject = await bookSlots(replicaB, [
      { key: 'user:u3', spacingMs: 100 },
      { key: 'project:p3', spacingMs: 10 },
    ]);
    expect(anotherProject).toBeLessThanOrEqual(SLACK_MS);
  });

  it('does not hold anything off for other failures', async () => {
    const pacer = new Pacer(pacerLimits);
    await pacer.rateLimited(replicaA, { user: 'u4', project: 'p4' }, limited(403, 'forbidden'));
    await pacer.rateLimited(replicaA, { user: 'u4', project: 'p4' }, limited(503, 'backendError'));
    expect(
      await bookSlots(replicaB, [
        { key: 'user:u4', spacingMs: 100 },
        { key: 'project:p4', spacingMs: 10 },
      ]),
    ).toBeLessThanOrEqual(SLACK_MS);
  });
});
