/**
 * The shared pacer's statements (google_integration_sidecar.pacer_slot, docs/contracts.md, "Scale-out
 * rules", *Pacing*): each call books the next slot of each of its keys in one statement, whichever
 * replica makes it; a rate-limit answer moves a key's slot on. Times are the database's clock.
 */
import type { Knex } from 'knex';

const SLOTS = 'google_integration_sidecar.pacer_slot';

export interface SlotRequest {
  readonly key: string;
  /** The spacing of this key's calls, in milliseconds. */
  readonly spacingMs: number;
}

/** Books the next slot of every key; returns how long to wait (ms) until the latest of them. */
export async function bookSlots(knex: Knex, requests: readonly SlotRequest[]): Promise<number> {
  const values = requests.map(() => '(?, now() + make_interval(secs => ?))').join(', ');
  const result = await knex.raw<{ rows: Array<{ key: string; wait_ms: number }> }>(
    `INSERT INTO ${SLOTS} AS s (key, next_at) VALUES ${values}
     ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(s.next_at, now()) + (excluded.next_at - now())
     RETURNING key, extract(epoch FROM (s.next_at - now())) * 1000 AS wait_ms`,
    requests.flatMap((request) => [request.key, request.spacingMs / 1000]),
  );
  const spacing = new Map(requests.map((request) => [request.key, request.spacingMs]));
  // The slot booked is the new next_at less this call's own spacing.
  return Math.max(0, ...result.rows.map((row) => Number(row.wait_ms) - (spacing.get(row.key) ?? 0)));
}

/** Nothing of `key` goes out for `ms` more (Google said its quota is spent). */
export async function holdOff(knex: Knex, key: string, ms: number): Promise<void> {
  await knex.raw(
    `INSERT INTO ${SLOTS} AS s (key, next_at) VALUES (?, now() + make_interval(secs => ?))
     ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(s.next_at, excluded.next_at)`,
    [key, ms / 1000],
  );
}
