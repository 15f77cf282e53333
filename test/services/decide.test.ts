/**
 * The two-way decision in memory (src/services/calendar/decide.ts): the table of cases, and a
 * fast-check model of one event edited and deleted on both sides between rounds, as vdirsyncer tests
 * its sync: after a round both sides hold the same (or neither holds the event), whatever was
 * overwritten on a side where it had changed is in the round's conflict, and the next round decides
 * nothing (no echo).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Conflict, type Decision, decide } from '../../src/services/calendar/decide.js';
import {
  SYNC_FIELDS,
  type SyncField,
  type SyncValues,
  sameValues,
} from '../../src/services/calendar/sync-values.js';

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 9, minute));

const base: SyncValues = {
  summary: 'Review',
  description: null,
  location: 'Room 1',
  attendees: ['a@example.com'],
  visibility: 'default',
  status: 'confirmed',
  when: {
    all_day: false,
    starts_at: '2026-12-01T09:00:00Z',
    ends_at: '2026-12-01T10:00:00Z',
    time_zone: 'Europe/Paris',
  },
  repeat: null,
};
const edited = (changes: Partial<SyncValues>): SyncValues => ({ ...base, ...changes });
const local = (values: SyncValues, pending = true, minute = 10) =>
  ({ kind: 'present', values, pending, changedAt: at(minute) }) as const;
const remote = (values: SyncValues, minute = 20) =>
  ({ kind: 'present', values, changedAt: at(minute) }) as const;

describe('the decision table', () => {
  it('an unchanged event on both sides: nothing', () => {
    expect(decide({ base, local: local(base, false), remote: remote(base) })).toEqual({ action: 'none' });
  });

  it('changed in Google only: Tryton takes it', () => {
    const google = edited({ summary: 'Moved review' });
    expect(decide({ base, local: local(base, false), remote: remote(google) })).toEqual({
      action: 'write-tryton',
      values: google,
    });
  });

  it('changed in Tryton only, Google not read: pushed', () => {
    const tryton = edited({ location: 'Room 2' });
    expect(decide({ base, local: local(tryton), remote: { kind: 'unknown' } })).toEqual({
      action: 'write-google',
      values: tryton,
      trytonToo: false,
    });
  });

  it('different fields changed on both sides: both kept, no conflict', () => {
    const decision = decide({
      base,
      local: local(edited({ location: 'Room 2' })),
      remote: remote(edited({ summary: 'Moved review' })),
    });
    expect(decision).toEqual({
      action: 'write-google',
      values: edited({ location: 'Room 2', summary: 'Moved review' }),
      trytonToo: true,
    });
  });

  it('the same field changed on both sides: the later edit wins, the other is kept in a conflict', () => {
    const googleLater = decide({
      base,
      local: local(edited({ summary: 'Tryton title' }), true, 10),
      remote: remote(edited({ summary: 'Google title' }), 20),
    });
    expect(googleLater).toEqual({
      action: 'write-tryton',
      values: edited({ summary: 'Google title' }),
      conflict: {
        kind: 'edit',
        winner: 'google',
        fields: ['summary'],
        kept: { summary: 'Google title' },
        lost: { summary: 'Tryton title' },
      },
    });
    const trytonLater = decide({
      base,
      local: local(edited({ summary: 'Tryton title' }), true, 30),
      remote: remote(edited({ summary: 'Google title' }), 20),
    });
    expect(trytonLater).toMatchObject({
      action: 'write-google',
      values: edited({ summary: 'Tryton title' }),
      trytonToo: false,
      conflict: { winner: 'tryton', lost: { summary: 'Google title' } },
    });
  });

  it('equal times go to Google', () => {
    const decision = decide({
      base,
      local: local(edited({ summary: 'Tryton title' }), true, 20),
      remote: remote(edited({ summary: 'Google title' }), 20),
    });
    expect(decision).toMatchObject({ action: 'write-tryton', conflict: { winner: 'google' } });
  });

  it('the same change on both sides: no conflict', () => {
    const same = edited({ summary: 'Same' });
    expect(decide({ base, local: local(same), remote: remote(same) })).toEqual({
      action: 'write-tryton',
      values: same,
    });
  });

  it('deleted in Google, unchanged in Tryton: deleted in Tryton', () => {
    expect(decide({ base, local: local(base, false), remote: { kind: 'deleted' } })).toEqual({
      action: 'delete-tryton',
    });
  });

  it('deleted in Google, edited in Tryton: the deletion wins, the edit kept in a conflict', () => {
    const tryton = edited({ summary: 'Edited' });
    expect(decide({ base, local: local(tryton), remote: { kind: 'deleted' } })).toEqual({
      action: 'delete-tryton',
      conflict: { kind: 'delete', winner: 'google', fields: [...SYNC_FIELDS], kept: {}, lost: tryton },
    });
  });

  it('deleted in Tryton: deleted in Google, with a conflict only when Google changed it', () => {
    expect(decide({ base, local: { kind: 'deleted' }, remote: remote(base) })).toEqual({
      action: 'delete-google',
    });
    expect(decide({ base, local: { kind: 'deleted' }, remote: { kind: 'unknown' } })).toEqual({
      action: 'delete-google',
    });
    const google = edited({ location: 'Elsewhere' });
    expect(decide({ base, local: { kind: 'deleted' }, remote: remote(google) })).toMatchObject({
      action: 'delete-google',
      conflict: { kind: 'delete', winner: 'tryton', lost: google },
    });
  });

  it('gone on both sides, or new in Google', () => {
    expect(decide({ base, local: { kind: 'deleted' }, remote: { kind: 'deleted' } })).toEqual({
      action: 'forget',
    });
    expect(decide({ base: null, local: { kind: 'absent' }, remote: remote(base) })).toEqual({
      action: 'write-tryton',
      values: base,
    });
  });

  it('without a base, every field that differs was changed on both sides', () => {
    const decision = decide({
      base: null,
      local: local(edited({ summary: 'Tryton' }), true, 30),
      remote: remote(edited({ location: 'Google' }), 20),
    });
    expect(decision).toMatchObject({
      action: 'write-google',
      values: edited({ summary: 'Tryton', location: 'Room 1' }),
      conflict: { fields: ['summary', 'location'], winner: 'tryton' },
    });
  });
});

/** One event on both sides with its base, and a clock; rounds apply decisions as the sidecar does. */
interface World {
  base: SyncValues | null;
  local: { values: SyncValues; pending: boolean; at: Date | null } | 'deleted' | 'absent';
  remote: { values: SyncValues; at: Date | null } | 'deleted';
  clock: number;
  conflicts: Conflict[];
}

type Step =
  | { kind: 'local-edit'; field: SyncField; value: string }
  | { kind: 'remote-edit'; field: SyncField; value: string }
  | { kind: 'local-delete' }
  | { kind: 'remote-delete' }
  | { kind: 'round' };

function edit(values: SyncValues, field: SyncField, value: string): SyncValues {
  if (field === 'attendees') return { ...values, attendees: [`${value}@example.com`] };
  if (field === 'when')
    return {
      ...values,
      when: { ...base.when, starts_at: `2026-12-0${(value.length % 9) + 1}T09:00:00Z` } as SyncValues['when'],
    };
  if (field === 'repeat')
    return { ...values, repeat: { frequency: 'weekly', count: value.length + 1, until: null } };
  return { ...values, [field]: value };
}

function apply(world: World, decision: Decision): void {
  if ('conflict' in decision && decision.conflict) world.conflicts.push(decision.conflict);
  const remoteValues = world.remote === 'deleted' ? null : world.remote.values;
  switch (decision.action) {
    case 'none':
      world.base = remoteValues;
      if (typeof world.local === 'object') world.local.pending = false;
      return;
    case 'write-tryton':
      world.local = { values: decision.values, pending: false, at: null };
      world.base = decision.values;
      return;
    case 'write-google':
      world.remote = { values: decision.values, at: new Date(world.clock++) };
      world.local = { values: decision.values, pending: false, at: null };
      world.base = decision.values;
      return;
    case 'delete-tryton':
      world.local = 'absent';
      world.base = null;
      return;
    case 'delete-google':
      world.remote = 'deleted';
      world.local = 'absent';
      world.base = null;
      return;
    case 'forget':
      world.local = 'absent';
      world.base = null;
  }
}

function round(world: World): Decision {
  const local = world.local;
  return decide({
    base: world.base,
    local:
      typeof local === 'object'
        ? { kind: 'present', values: local.values, pending: local.pending, changedAt: local.at }
        : { kind: local },
    remote:
      world.remote === 'deleted'
        ? { kind: 'deleted' }
        : { kind: 'present', values: world.remote.values, changedAt: world.remote.at },
  });
}

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('local-edit' as const),
    field: fc.constantFrom(...SYNC_FIELDS),
    value: fc.string({ maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('remote-edit' as const),
    field: fc.constantFrom(...SYNC_FIELDS),
    value: fc.string({ maxLength: 3 }),
  }),
  fc.constant({ kind: 'local-delete' as const }),
  fc.constant({ kind: 'remote-delete' as const }),
  fc.constant({ kind: 'round' as const }),
);

describe('rounds over random edits and deletions on both sides', () => {
  it('converge, lose nothing outside a conflict, and are idle after', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
        const world: World = {
          base,
          local: { values: base, pending: false, at: null },
          remote: { values: base, at: new Date(0) },
          clock: 1,
          conflicts: [],
        };
        for (const one of [...steps, { kind: 'round' } as Step]) {
          const local = world.local;
          if (one.kind === 'local-edit' && typeof local === 'object') {
            world.local = {
              values: edit(local.values, one.field, one.value),
              pending: true,
              at: new Date(world.clock++),
            };
          } else if (one.kind === 'remote-edit' && world.remote !== 'deleted') {
            world.remote = {
              values: edit(world.remote.values, one.field, one.value),
              at: new Date(world.clock++),
            };
          } else if (one.kind === 'local-delete' && typeof local === 'object') {
            world.local = 'deleted';
          } else if (one.kind === 'remote-delete') {
            world.remote = 'deleted';
          } else if (one.kind === 'round') {
            const before = { local: world.local, remote: world.remote, base: world.base };
            const conflicts = world.conflicts.length;
            apply(world, round(world));
            const made = world.conflicts.slice(conflicts);
            // Both sides alike: the same values, or the event on neither side.
            if (world.remote === 'deleted') expect(typeof world.local).not.toBe('object');
            else
              expect(
                typeof world.local === 'object' && sameValues(world.local.values, world.remote.values),
              ).toBe(true);
            // A side's own change that the outcome does not hold is in this round's conflict.
            const outcome = world.remote === 'deleted' ? null : world.remote.values;
            for (const [side, values] of [
              [
                'tryton',
                typeof before.local === 'object' && before.local.pending ? before.local.values : null,
              ],
              ['google', before.remote === 'deleted' ? null : before.remote.values],
            ] as const) {
              if (!values) continue;
              for (const field of SYNC_FIELDS) {
                const changed =
                  before.base === null ||
                  JSON.stringify(values[field]) !== JSON.stringify(before.base[field]);
                const kept =
                  outcome !== null && JSON.stringify(outcome[field]) === JSON.stringify(values[field]);
                if (changed && !kept) {
                  const listed = made.some(
                    (conflict) =>
                      conflict.winner !== side &&
                      (conflict.kind === 'delete' || conflict.fields.includes(field)) &&
                      JSON.stringify(conflict.lost[field]) === JSON.stringify(values[field]),
                  );
                  expect(listed, `${side}'s ${field} lost without a conflict`).toBe(true);
                }
              }
            }
            // No echo: the next round decides nothing.
            const again = round(world);
            expect(['none', 'forget']).toContain(again.action);
          }
        }
      }),
      { seed: 20261202, numRuns: 2000 },
    );
  });
});
