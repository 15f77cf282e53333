/**
 * The pull's merge-aware part (docs/contracts.md, "How the pull works", *Merge-aware*): an item Google
 * sends for an event with a user's change not yet pushed is merged (decide.ts), never written over the
 * change; an item for an event deleted in Tryton is left to the push (which deletes it at Google,
 * keeping what Google changed meanwhile in a conflict), and its cancellation ends the tombstone.
 */
import {
  deleteDeleted,
  forgetTombstone,
  mergedLocally,
  type PendingEvent,
  pendingAmong,
  settle,
  type Tombstone,
  tombstones,
} from '../../db/push-repository.js';
import type { Db } from '../../db/handle.js';
import { conflictRow } from './conflict-row.js';
import { decide } from './decide.js';
import type { MappedEvent } from './event-mapping.js';
import { fromTryton, type SyncValues, toTryton } from './sync-values.js';

/** An item of a page, as the pull read it: an event, or a cancellation. */
export type PageItem =
  | {
      readonly kind: 'event';
      readonly mapped: MappedEvent;
      readonly values: SyncValues;
      readonly updated: Date | null;
    }
  | { readonly kind: 'cancelled'; readonly id: string };

export interface MergeCounts {
  updated: number;
  deleted: number;
  conflicts: number;
}

/** The page's ids whose Tryton side has a change of its own: those the bulk write leaves out. */
export async function localChanges(
  db: Db,
  calendarId: number,
  googleIds: readonly string[],
): Promise<{ pending: Map<string, PendingEvent>; deleted: Map<string, Tombstone> }> {
  if (googleIds.length === 0) return { pending: new Map(), deleted: new Map() };
  const [pending, deleted] = await Promise.all([
    pendingAmong(db, calendarId, googleIds),
    tombstones(db, calendarId, googleIds),
  ]);
  return {
    pending: new Map(pending.map((event) => [event.google_id, event])),
    deleted: new Map(deleted.map((tombstone) => [tombstone.google_id, tombstone])),
  };
}

export async function mergePulled(
  db: Db,
  calendarId: number,
  item: PageItem,
  local: { pending?: PendingEvent | undefined; deleted?: Tombstone | undefined },
  counts: MergeCounts,
): Promise<void> {
  const googleId = item.kind === 'event' ? item.mapped.event.google_id : item.id;
  if (local.deleted) {
    // Gone on both sides: the tombstone ends. Still at Google: the push deletes it there.
    if (item.kind === 'cancelled') await forgetTombstone(db, calendarId, googleId);
    return;
  }
  const event = local.pending;
  if (!event) return;
  const decision = decide({
    base: (event.base as SyncValues | null) ?? null,
    local: { kind: 'present', values: fromTryton(event), pending: true, changedAt: event.local_write },
    remote:
      item.kind === 'event'
        ? { kind: 'present', values: item.values, changedAt: item.updated }
        : { kind: 'deleted' },
  });
  const conflict = conflictRow(googleId, event.id, 'conflict' in decision ? decision.conflict : undefined);
  if (decision.action === 'delete-tryton') {
    if (await deleteDeleted(db, calendarId, event, conflict)) counts.deleted++;
  } else if (item.kind === 'event' && decision.action === 'write-tryton') {
    const { mapped } = item;
    const write = {
      hash: mapped.hash,
      etag: mapped.etag,
      event: mapped.event as unknown as Record<string, unknown> & { google_id: string },
      detail: mapped.detail as unknown as Record<string, unknown>,
      base: item.values,
    };
    if (await settle(db, calendarId, event.id, event.local_version, write, item.values, conflict))
      counts.updated++;
  } else if (item.kind === 'event' && decision.action === 'write-google') {
    // Tryton keeps the merged version, still to push, with Google's etag and version as its base.
    await mergedLocally(
      db,
      calendarId,
      event,
      decision.trytonToo ? toTryton(decision.values) : null,
      { etag: item.mapped.etag, hash: item.mapped.hash, base: item.values },
      conflict,
    );
    if (decision.trytonToo) counts.updated++;
  } else return;
  if (conflict) counts.conflicts++;
}
