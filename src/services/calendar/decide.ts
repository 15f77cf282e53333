/**
 * What changed, and what to do: the two-way rules of docs/contracts.md ("Two-way rules") as one pure
 * function over one event's state on both sides and its base (the values both sides last agreed on).
 * The pull and the push only gather that state and apply the decision; nothing here reads a database
 * or calls Google, so every case is tested in memory (test/services/decide.test.ts), as vdirsyncer
 * decides its actions from its status table.
 *
 * The merge is field by field against the base: a field changed on one side takes that side's value;
 * changed on both sides to different values, the later edit wins (Tryton's `local_write` against
 * Google's `updated`; a tie, or a time unknown, goes to Google) and the losing values are kept in a
 * conflict. A deletion against an edit: the deletion wins, the edited version kept in a conflict.
 */
import { SYNC_FIELDS, type SyncField, type SyncValues, sameValue, sameValues } from './sync-values.js';

export type LocalState =
  | {
      readonly kind: 'present';
      readonly values: SyncValues;
      /** A user's change not yet at Google (`pending_push`). */
      readonly pending: boolean;
      readonly changedAt: Date | null;
    }
  /** Deleted in Tryton, the tombstone waiting. */
  | { readonly kind: 'deleted' }
  | { readonly kind: 'absent' };

export type RemoteState =
  | { readonly kind: 'present'; readonly values: SyncValues; readonly changedAt: Date | null }
  | { readonly kind: 'deleted' }
  /** Not read in this step (a push acts on Tryton's side, If-Match guarding Google's). */
  | { readonly kind: 'unknown' };

export interface EventState {
  /** The values both sides last agreed on; null when they never did (or it was not kept). */
  readonly base: SyncValues | null;
  readonly local: LocalState;
  readonly remote: RemoteState;
}

export interface Conflict {
  readonly kind: 'edit' | 'delete';
  readonly winner: 'tryton' | 'google';
  readonly fields: readonly SyncField[];
  readonly kept: Partial<SyncValues>;
  readonly lost: Partial<SyncValues>;
}

export type Decision =
  /** Both sides hold the same: nothing to write (the base may still be refreshed). */
  | { readonly action: 'none' }
  /** Tryton takes these values (created when absent); Google already holds them. */
  | { readonly action: 'write-tryton'; readonly values: SyncValues; readonly conflict?: Conflict }
  /**
   * Google takes these values (created when it never had the event); Tryton holds them once written,
   * which it already does unless `trytonToo`.
   */
  | {
      readonly action: 'write-google';
      readonly values: SyncValues;
      readonly trytonToo: boolean;
      readonly conflict?: Conflict;
    }
  | { readonly action: 'delete-tryton'; readonly conflict?: Conflict }
  | { readonly action: 'delete-google'; readonly conflict?: Conflict }
  /** Gone on both sides: forget the link and the tombstone. */
  | { readonly action: 'forget' };

export function decide(state: EventState): Decision {
  const { base, local, remote } = state;
  if (local.kind === 'absent') {
    if (remote.kind === 'present') return { action: 'write-tryton', values: remote.values };
    return { action: 'forget' };
  }
  if (local.kind === 'deleted') {
    if (remote.kind === 'deleted') return { action: 'forget' };
    if (remote.kind === 'present' && base !== null && !sameValues(remote.values, base)) {
      return { action: 'delete-google', conflict: deletion('tryton', remote.values) };
    }
    return { action: 'delete-google' };
  }
  if (remote.kind === 'deleted') {
    const edited = local.pending && (base === null || !sameValues(local.values, base));
    return edited
      ? { action: 'delete-tryton', conflict: deletion('google', local.values) }
      : { action: 'delete-tryton' };
  }
  if (remote.kind === 'unknown') {
    return local.pending
      ? { action: 'write-google', values: local.values, trytonToo: false }
      : { action: 'none' };
  }
  if (!local.pending) {
    return sameValues(local.values, remote.values)
      ? { action: 'none' }
      : { action: 'write-tryton', values: remote.values };
  }
  const { merged, conflict } = merge(base, local, remote);
  if (sameValues(merged, remote.values)) {
    // Google holds the outcome: only Tryton may need it (and its pending change is settled).
    return { action: 'write-tryton', values: merged, ...(conflict ? { conflict } : {}) };
  }
  return {
    action: 'write-google',
    values: merged,
    trytonToo: !sameValues(merged, local.values),
    ...(conflict ? { conflict } : {}),
  };
}

/** The three-way merge of one event, field by field. */
export function merge(
  base: SyncValues | null,
  local: { readonly values: SyncValues; readonly changedAt: Date | null },
  remote: { readonly values: SyncValues; readonly changedAt: Date | null },
): { merged: SyncValues; conflict: Conflict | undefined } {
  const trytonLater =
    local.changedAt !== null &&
    remote.changedAt !== null &&
    local.changedAt.getTime() > remote.changedAt.getTime();
  const winner = trytonLater ? 'tryton' : 'google';
  const merged: Record<string, unknown> = {};
  const fields: SyncField[] = [];
  const kept: Record<string, unknown> = {};
  const lost: Record<string, unknown> = {};
  for (const field of SYNC_FIELDS) {
    const mine = local.values[field];
    const theirs = remote.values[field];
    const localChanged = base === null || !sameValue(mine, base[field]);
    const remoteChanged = base === null || !sameValue(theirs, base[field]);
    if (!localChanged) merged[field] = theirs;
    else if (!remoteChanged || sameValue(mine, theirs)) merged[field] = mine;
    else {
      const [win, lose] = winner === 'tryton' ? [mine, theirs] : [theirs, mine];
      merged[field] = win;
      fields.push(field);
      kept[field] = win;
      lost[field] = lose;
    }
  }
  return {
    merged: merged as unknown as SyncValues,
    conflict:
      fields.length === 0
        ? undefined
        : {
            kind: 'edit',
            winner,
            fields,
            kept: kept as Partial<SyncValues>,
            lost: lost as Partial<SyncValues>,
          },
  };
}

function deletion(winner: 'tryton' | 'google', lostValues: SyncValues): Conflict {
  return { kind: 'delete', winner, fields: [...SYNC_FIELDS], kept: {}, lost: lostValues };
}
