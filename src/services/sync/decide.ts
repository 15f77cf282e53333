/**
 * What changed, and what to do: the two-way rules of docs/contracts.md ("Two-way rules") as one pure
 * function over one record's state on both sides and its base (the values both sides last agreed on).
 * Every two-way service uses it (the calendar's events, the contacts' parties) over its own fields
 * (a `FieldSpec`): the pull and the push only gather that state and apply the decision; nothing here
 * reads a database or calls Google, so every case is tested in memory (test/services/decide.test.ts),
 * as vdirsyncer decides its actions from its status table.
 *
 * The merge is field by field against the base: a field changed on one side takes that side's value;
 * changed on both sides to different values, the later edit wins (Tryton's `local_write` against
 * Google's `updated`; a tie, or a time unknown, goes to Google) and the losing values are kept in a
 * conflict. A deletion against an edit: the deletion wins, the edited version kept in a conflict.
 */
/** The fields a service merges, and how it compares one field's values. */
export interface FieldSpec<V> {
  readonly fields: readonly (keyof V & string)[];
  sameValue(field: keyof V & string, a: unknown, b: unknown): boolean;
}

function sameValues<V>(spec: FieldSpec<V>, a: V, b: V): boolean {
  return spec.fields.every((field) => spec.sameValue(field, a[field], b[field]));
}

export type LocalState<V> =
  | {
      readonly kind: 'present';
      readonly values: V;
      /** A user's change not yet at Google (`pending_push`). */
      readonly pending: boolean;
      readonly changedAt: Date | null;
    }
  /** Deleted in Tryton, the tombstone waiting. */
  | { readonly kind: 'deleted' }
  | { readonly kind: 'absent' };

export type RemoteState<V> =
  | { readonly kind: 'present'; readonly values: V; readonly changedAt: Date | null }
  | { readonly kind: 'deleted' }
  /** Not read in this step (a push acts on Tryton's side, If-Match guarding Google's). */
  | { readonly kind: 'unknown' };

export interface RecordState<V> {
  /** The values both sides last agreed on; null when they never did (or it was not kept). */
  readonly base: V | null;
  readonly local: LocalState<V>;
  readonly remote: RemoteState<V>;
}

export interface Conflict<V> {
  readonly kind: 'edit' | 'delete';
  readonly winner: 'tryton' | 'google';
  readonly fields: readonly (keyof V & string)[];
  readonly kept: Partial<V>;
  readonly lost: Partial<V>;
}

export type Decision<V> =
  /** Both sides hold the same: nothing to write (the base may still be refreshed). */
  | { readonly action: 'none' }
  /** Tryton takes these values (created when absent); Google already holds them. */
  | { readonly action: 'write-tryton'; readonly values: V; readonly conflict?: Conflict<V> }
  /**
   * Google takes these values (created when it never had the event); Tryton holds them once written,
   * which it already does unless `trytonToo`.
   */
  | {
      readonly action: 'write-google';
      readonly values: V;
      readonly trytonToo: boolean;
      readonly conflict?: Conflict<V>;
    }
  | { readonly action: 'delete-tryton'; readonly conflict?: Conflict<V> }
  | { readonly action: 'delete-google'; readonly conflict?: Conflict<V> }
  /** Gone on both sides: forget the link and the tombstone. */
  | { readonly action: 'forget' };

export function decide<V extends object>(spec: FieldSpec<V>, state: RecordState<V>): Decision<V> {
  const { base, local, remote } = state;
  const same = (a: V, b: V) => sameValues(spec, a, b);
  const deletion = (winner: 'tryton' | 'google', lostValues: V): Conflict<V> => ({
    kind: 'delete',
    winner,
    fields: [...spec.fields],
    kept: {},
    lost: lostValues,
  });
  if (local.kind === 'absent') {
    if (remote.kind === 'present') return { action: 'write-tryton', values: remote.values };
    return { action: 'forget' };
  }
  if (local.kind === 'deleted') {
    if (remote.kind === 'deleted') return { action: 'forget' };
    if (remote.kind === 'present' && base !== null && !same(remote.values, base)) {
      return { action: 'delete-google', conflict: deletion('tryton', remote.values) };
    }
    return { action: 'delete-google' };
  }
  if (remote.kind === 'deleted') {
    const edited = local.pending && (base === null || !same(local.values, base));
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
    return same(local.values, remote.values)
      ? { action: 'none' }
      : { action: 'write-tryton', values: remote.values };
  }
  const { merged, conflict } = merge(spec, base, local, remote);
  if (same(merged, remote.values)) {
    // Google holds the outcome: only Tryton may need it (and its pending change is settled).
    return { action: 'write-tryton', values: merged, ...(conflict ? { conflict } : {}) };
  }
  return {
    action: 'write-google',
    values: merged,
    trytonToo: !same(merged, local.values),
    ...(conflict ? { conflict } : {}),
  };
}

/** The three-way merge of one record, field by field. */
export function merge<V extends object>(
  spec: FieldSpec<V>,
  base: V | null,
  local: { readonly values: V; readonly changedAt: Date | null },
  remote: { readonly values: V; readonly changedAt: Date | null },
): { merged: V; conflict: Conflict<V> | undefined } {
  const trytonLater =
    local.changedAt !== null &&
    remote.changedAt !== null &&
    local.changedAt.getTime() > remote.changedAt.getTime();
  const winner = trytonLater ? 'tryton' : 'google';
  const merged: Record<string, unknown> = {};
  const fields: (keyof V & string)[] = [];
  const kept: Record<string, unknown> = {};
  const lost: Record<string, unknown> = {};
  for (const field of spec.fields) {
    const mine = local.values[field];
    const theirs = remote.values[field];
    const localChanged = base === null || !spec.sameValue(field, mine, base[field]);
    const remoteChanged = base === null || !spec.sameValue(field, theirs, base[field]);
    if (!localChanged) merged[field] = theirs;
    else if (!remoteChanged || spec.sameValue(field, mine, theirs)) merged[field] = mine;
    else {
      const [win, lose] = winner === 'tryton' ? [mine, theirs] : [theirs, mine];
      merged[field] = win;
      fields.push(field);
      kept[field] = win;
      lost[field] = lose;
    }
  }
  return {
    merged: merged as unknown as V,
    conflict:
      fields.length === 0
        ? undefined
        : {
            kind: 'edit',
            winner,
            fields,
            kept: kept as Partial<V>,
            lost: lost as Partial<V>,
          },
  };
}
