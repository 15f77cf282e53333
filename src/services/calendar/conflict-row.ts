/** A conflict the merge decided (decide.ts), as the row Tryton lists (push-repository.ts). */
import type { ConflictRow } from '../../db/push-repository.js';
import type { Conflict } from './decide.js';

export function conflictRow(
  googleId: string,
  eventId: number | null,
  conflict: Conflict | undefined,
): ConflictRow | undefined {
  return conflict
    ? {
        google_id: googleId,
        event: eventId,
        kind: conflict.kind,
        winner: conflict.winner,
        fields: conflict.fields,
        kept: conflict.kept,
        lost: conflict.lost,
      }
    : undefined;
}
