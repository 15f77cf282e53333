/**
 * The calendar's binding of the shared two-way decision (../sync/decide.ts): an event's synchronized
 * fields and how each compares (sync-values.ts).
 */
import * as shared from '../sync/decide.js';
import { SYNC_FIELDS, type SyncValues, sameValue } from './sync-values.js';

export type LocalState = shared.LocalState<SyncValues>;
export type RemoteState = shared.RemoteState<SyncValues>;
export type EventState = shared.RecordState<SyncValues>;
export type Conflict = shared.Conflict<SyncValues>;
export type Decision = shared.Decision<SyncValues>;

const EVENT_FIELDS: shared.FieldSpec<SyncValues> = {
  fields: SYNC_FIELDS,
  sameValue: (_field, a, b) => sameValue(a, b),
};

export function decide(state: EventState): Decision {
  return shared.decide(EVENT_FIELDS, state);
}

export function merge(
  base: SyncValues | null,
  local: { readonly values: SyncValues; readonly changedAt: Date | null },
  remote: { readonly values: SyncValues; readonly changedAt: Date | null },
) {
  return shared.merge(EVENT_FIELDS, base, local, remote);
}
