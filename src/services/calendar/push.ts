/**
 * One calendar's push (docs/contracts.md, "Two-way rules"): Tryton's pending changes sent to Google
 * one call at a time, each decided by decide.ts and settled in one transaction after Google answered.
 * A creation uses the id Tryton chose, so a retry after a crash finds its own event (409: adopted, never
 * created twice); a change or a deletion carries `If-Match`, so a 412 leads to a read and the merge,
 * never to an overwrite. What Google answers becomes the link's base and, unless the user saved again
 * meanwhile, Tryton's rows: the next pull then finds nothing new (no echo).
 */
import type { SyncCalendar } from '../../db/calendar-repository.js';
import type { EventWrite } from '../../db/event-repository.js';
import {
  deleteDeleted,
  forgetTombstone,
  type PendingEvent,
  pendingEvents,
  settle,
  type Tombstone,
  tombstones,
} from '../../db/push-repository.js';
import type { Logger } from '../../log.js';
import type { CalendarApi, WriteOutcome } from './calendar-api.js';
import { conflictRow } from './conflict-row.js';
import { type Conflict, decide, type RemoteState } from './decide.js';
import { readItem } from './event-mapping.js';
import { fromTryton, type SyncValues, toGoogle, toTryton } from './sync-values.js';

/** Reads and merges after 412s, at most, before the event waits for the next round. */
const MERGE_ATTEMPTS = 3;

export interface PushCounts {
  pushed: number;
  /** The pushes by what they did at Google, for the metrics. */
  readonly changes: { created: number; updated: number; deleted: number };
  conflicts: number;
  readonly conflictKinds: { edit: number; delete: number };
  /** Changes Google refused (the event stays pending; the calendar says why). */
  refused: number;
  /** Tryton's rows written by merges and deletions decided here. */
  trytonWrites: number;
  /** The first refusal, for the calendar's last_error. */
  firstRefusal?: string;
}

export class CalendarPush {
  private readonly counts: PushCounts = {
    pushed: 0,
    changes: { created: 0, updated: 0, deleted: 0 },
    conflicts: 0,
    conflictKinds: { edit: 0, delete: 0 },
    refused: 0,
    trytonWrites: 0,
  };

  constructor(
    private readonly db: Parameters<typeof pendingEvents>[0],
    private readonly api: CalendarApi,
    private readonly cal: SyncCalendar,
    private readonly log: Logger,
  ) {}

  async run(): Promise<PushCounts> {
    for (const event of await pendingEvents(this.db, this.cal.id)) await this.pushEvent(event);
    for (const tombstone of await tombstones(this.db, this.cal.id)) await this.pushDeletion(tombstone);
    if (this.counts.pushed + this.counts.conflicts + this.counts.refused > 0)
      this.log.info({ calendar: this.cal.id, ...this.counts }, 'calendar pushed');
    return this.counts;
  }

  private async pushEvent(event: PendingEvent): Promise<void> {
    const local = {
      kind: 'present',
      values: fromTryton(event),
      pending: true,
      changedAt: event.local_write,
    } as const;
    let base = (event.base as SyncValues | null) ?? null;
    let remote: RemoteState = { kind: 'unknown' };
    let etag = event.etag;
    let linked = event.linked;
    let lastRead: unknown;
    for (let attempt = 0; attempt <= MERGE_ATTEMPTS; attempt++) {
      const decision = decide({ base, local, remote });
      if (decision.action === 'write-google') {
        const body = toGoogle(decision.values);
        const outcome: WriteOutcome = linked
          ? await this.api.patch(event.google_id, body, etag)
          : await this.api.insert(event.google_id, body);
        if (outcome.kind === 'ok') {
          this.counts.pushed++;
          this.counts.changes[linked ? 'updated' : 'created']++;
          await this.settleAnswer(event, outcome.event, decision.conflict);
          return;
        }
        if (outcome.kind === 'refused') return this.refuse(event.google_id, outcome.message);
        if (outcome.kind === 'gone') {
          remote = { kind: 'deleted' };
          continue;
        }
        // 409: our own creation whose answer was lost, adopted as the base; 412: changed at Google.
        const read = await this.api.get(event.google_id);
        if (read.kind === 'gone') {
          remote = { kind: 'deleted' };
          continue;
        }
        const item = readItem(read.event, this.cal.time_zone);
        if (item.kind !== 'event')
          return this.refuse(event.google_id, `Google's version cannot be read back`);
        lastRead = read.event;
        linked = true;
        etag = item.mapped.etag;
        if (outcome.kind === 'duplicate') base ??= item.values;
        remote = { kind: 'present', values: item.values, changedAt: item.updated };
        continue;
      }
      if (decision.action === 'write-tryton' || decision.action === 'none') {
        // Google holds the outcome already (read just now): Tryton takes it.
        await this.settleAnswer(
          event,
          lastRead,
          decision.action === 'write-tryton' ? decision.conflict : undefined,
        );
        return;
      }
      if (decision.action === 'delete-tryton') {
        if (
          await deleteDeleted(
            this.db,
            this.cal.id,
            event,
            conflictRow(event.google_id, null, decision.conflict),
          )
        )
          this.counts.trytonWrites++;
        this.noteConflict(decision.conflict);
        return;
      }
      return;
    }
    this.log.warn(
      { calendar: this.cal.id, event: event.google_id },
      'event kept changing at Google: pushed next round',
    );
  }

  private async pushDeletion(tombstone: Tombstone): Promise<void> {
    let remote: RemoteState = { kind: 'unknown' };
    let etag = tombstone.etag;
    const base = (tombstone.base as SyncValues | null) ?? null;
    for (let attempt = 0; attempt <= MERGE_ATTEMPTS; attempt++) {
      const decision = decide({ base, local: { kind: 'deleted' }, remote });
      if (decision.action === 'forget') {
        await forgetTombstone(this.db, this.cal.id, tombstone.google_id);
        return;
      }
      if (decision.action !== 'delete-google') return;
      const outcome = await this.api.delete(tombstone.google_id, tombstone.linked ? etag : null);
      if (outcome.kind === 'ok' || outcome.kind === 'gone') {
        if (outcome.kind === 'ok') {
          this.counts.pushed++;
          this.counts.changes.deleted++;
        }
        this.noteConflict(decision.conflict);
        await forgetTombstone(
          this.db,
          this.cal.id,
          tombstone.google_id,
          conflictRow(tombstone.google_id, null, decision.conflict),
        );
        return;
      }
      if (outcome.kind === 'refused') return this.refuse(tombstone.google_id, outcome.message);
      const read = await this.api.get(tombstone.google_id);
      if (read.kind === 'gone') {
        remote = { kind: 'deleted' };
        continue;
      }
      const item = readItem(read.event, this.cal.time_zone);
      if (item.kind !== 'event')
        return this.refuse(tombstone.google_id, `Google's version cannot be read back`);
      etag = item.mapped.etag;
      remote = { kind: 'present', values: item.values, changedAt: item.updated };
    }
  }

  /** Google's answer (or its version read back) becomes the link and, if unchanged since, Tryton's rows. */
  private async settleAnswer(
    event: PendingEvent,
    answer: unknown,
    conflict: Conflict | undefined,
  ): Promise<void> {
    const item = answer === undefined ? undefined : readItem(answer, this.cal.time_zone);
    if (item?.kind !== 'event') {
      // An answer Tryton cannot hold (or none): the next pull reads the event as Google keeps it.
      this.log.warn(
        { calendar: this.cal.id, event: event.google_id },
        'Google answered an event the pull would refuse',
      );
      return;
    }
    const write: EventWrite = {
      hash: item.mapped.hash,
      etag: item.mapped.etag,
      event: {
        ...(item.mapped.event as unknown as EventWrite['event']),
        // A series keeps Tryton's repeat where Google's recurrence says more than Tryton's form.
        ...(item.values.repeat ? repeatColumns(item.values) : {}),
      },
      detail: item.mapped.detail as unknown as EventWrite['detail'],
      base: item.values,
    };
    const row = conflictRow(event.google_id, event.id, conflict);
    if (await settle(this.db, this.cal.id, event.id, event.local_version, write, item.values, row))
      this.counts.trytonWrites++;
    this.noteConflict(conflict);
  }

  private noteConflict(conflict: Conflict | undefined): void {
    if (!conflict) return;
    this.counts.conflicts++;
    this.counts.conflictKinds[conflict.kind]++;
  }

  private refuse(googleId: string, message: string): void {
    this.counts.refused++;
    this.counts.firstRefusal ??= `Google refused a change of event ${googleId}: ${message}`;
    this.log.warn({ calendar: this.cal.id, event: googleId, err: message }, 'Google refused a pushed change');
  }
}

/** A series' repeat as Tryton's columns (only when Google's recurrence is one Tryton's form holds). */
function repeatColumns(values: SyncValues): Record<string, unknown> {
  const { repeat_frequency, repeat_count, repeat_until } = toTryton(values).event;
  return { repeat_frequency, repeat_count, repeat_until };
}
