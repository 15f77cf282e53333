/**
 * Work done under a credential's lease (db/lease-repository.ts) while Google answers: the lease is
 * taken, extended every third of its life for as long as the work runs (so a holder that dies
 * loses it within one lifetime, and a slow Google call never does), and released after; with a
 * failure noted, it is kept a short cool-down longer so other replicas get that failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  acquireLease,
  currentLease,
  extendLease,
  type LeasePurpose,
  releaseLease,
} from '../db/lease-repository.js';
import type { Logger } from '../log.js';
import type { CredentialContext, CredentialRef } from './context.js';

/** A lease lives this long unless its holder extends it. */
export const LEASE_TTL_MS = 5_000;

export interface HeldLease {
  /** Keep the lease `coolDownMs` after the work, carrying `message` to those who find it. */
  failWith(message: string, coolDownMs: number): void;
}

export const BUSY = Symbol('lease held elsewhere');

export async function underLease<T>(
  context: CredentialContext,
  ref: CredentialRef,
  purpose: LeasePurpose,
  log: Logger,
  work: (lease: HeldLease) => Promise<T>,
): Promise<T | typeof BUSY> {
  if (!(await acquireLease(ref.db, ref.id, purpose, context.holder, LEASE_TTL_MS))) return BUSY;
  let failure: { message: string; coolDownMs: number } | undefined;
  const heartbeat = setInterval(() => {
    extendLease(ref.db, ref.id, purpose, context.holder, LEASE_TTL_MS).catch((error: Error) =>
      log.warn({ err: error.message, purpose }, 'could not extend a lease'),
    );
  }, LEASE_TTL_MS / 3);
  try {
    return await work({
      failWith: (message, coolDownMs) => {
        failure = { message, coolDownMs };
      },
    });
  } finally {
    clearInterval(heartbeat);
    // A release that fails leaves the lease to lapse on its own.
    await releaseLease(ref.db, ref.id, purpose, context.holder, failure).catch((error: Error) =>
      log.warn({ err: error.message, purpose }, 'could not release a lease'),
    );
  }
}

/** Waits (polling briefly) until nobody holds the lease, or the deadline passes. */
export async function waitForLease(
  ref: CredentialRef,
  purpose: LeasePurpose,
  deadline: number,
): Promise<void> {
  for (let pause = 20; Date.now() < deadline; pause = Math.min(250, pause * 2)) {
    if (!(await currentLease(ref.db, ref.id, purpose))) return;
    await sleep(pause);
  }
}
