/**
 * The synchronized fields as both sides hold them (src/services/calendar/sync-values.ts): what Tryton
 * pushes comes back from Google as the same values, and Tryton's rows written from values read back
 * as those values, so a pushed change is never taken for a new one (no echo).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkItem } from '../../src/services/calendar/event-check.js';
import {
  fromGoogle,
  fromTryton,
  parseRepeat,
  ruleOf,
  type SyncValues,
  toGoogle,
  toTryton,
  type TrytonEvent,
} from '../../src/services/calendar/sync-values.js';

const day = fc
  .integer({ min: 0, max: 400 })
  .map((offset) => new Date(Date.UTC(2026, 0, 1 + offset)).toISOString().slice(0, 10));
const minute = fc
  .integer({ min: 0, max: 600_000 })
  .map((offset) => new Date(Date.UTC(2026, 0, 1) + offset * 60_000));

const values: fc.Arbitrary<SyncValues> = fc.record({
  summary: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: null }),
  description: fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: null }),
  location: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: null }),
  attendees: fc
    .uniqueArray(fc.constantFrom('a@example.com', 'b@example.com', 'c@example.org'), { maxLength: 3 })
    .map((list) => [...list].sort()),
  visibility: fc.constantFrom('default', 'public', 'private', 'confidential'),
  status: fc.constantFrom('confirmed', 'tentative'),
  when: fc.oneof(
    fc.tuple(day, fc.integer({ min: 0, max: 3 })).map(([start, days]) => {
      const end = new Date(`${start}T00:00:00Z`);
      end.setUTCDate(end.getUTCDate() + days);
      return {
        all_day: true as const,
        start_date: start,
        end_date: end.toISOString().slice(0, 10),
        time_zone: null,
      };
    }),
    fc
      .tuple(
        minute,
        fc.integer({ min: 0, max: 600 }),
        fc.constantFrom('Europe/Paris', 'UTC', 'America/New_York', null),
      )
      .map(([start, length, zone]) => ({
        all_day: false as const,
        starts_at: `${start.toISOString().slice(0, 19)}Z`,
        ends_at: `${new Date(start.getTime() + length * 60_000).toISOString().slice(0, 19)}Z`,
        time_zone: zone,
      })),
  ),
  repeat: fc.option(
    fc.record({
      frequency: fc.constantFrom('daily' as const, 'weekly' as const, 'monthly' as const),
      count: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
      until: fc.constant(null),
    }),
    { nil: null },
  ),
});

describe('values pushed to Google', () => {
  it('come back as the same values', () => {
    fc.assert(
      fc.property(values, (sent) => {
        const body = toGoogle(sent);
        const checked = checkItem({ id: 'evt1', ...body });
        expect(checked.kind).toBe('event');
        if (checked.kind !== 'event') return;
        const back = fromGoogle(checked.event, 'Europe/Paris', body.recurrence as string[] | undefined);
        // A timed event without a zone of its own takes the calendar's, as the pull stores it.
        const expected =
          !sent.when.all_day && sent.when.time_zone === null
            ? { ...sent, when: { ...sent.when, time_zone: 'Europe/Paris' } }
            : sent;
        expect(back).toEqual(expected);
      }),
      { seed: 20261203, numRuns: 500 },
    );
  });

  it('send the exclusive all-day end Google expects', () => {
    const body = toGoogle({
      summary: 'Offsite',
      description: null,
      location: null,
      attendees: [],
      visibility: 'default',
      status: 'confirmed',
      when: { all_day: true, start_date: '2026-12-30', end_date: '2026-12-31', time_zone: null },
      repeat: null,
    });
    expect(body).toMatchObject({
      start: { date: '2026-12-30' },
      end: { date: '2027-01-01' },
      description: '',
    });
  });
});

describe("values written into Tryton's rows", () => {
  it('read back as the same values', () => {
    fc.assert(
      fc.property(values, (written) => {
        const { event, detail } = toTryton(written);
        const row = {
          time_zone: null,
          ...event,
          ...detail,
          starts_at: event.starts_at ? new Date(event.starts_at as string) : null,
          ends_at: event.ends_at ? new Date(event.ends_at as string) : null,
        } as unknown as TrytonEvent;
        const back = fromTryton(row);
        expect(back).toEqual(written);
      }),
      { seed: 20261203, numRuns: 500 },
    );
  });
});

describe('repeats', () => {
  it.each([
    [{ frequency: 'weekly', count: 5, until: null }, 'RRULE:FREQ=WEEKLY;COUNT=5'],
    [{ frequency: 'monthly', count: null, until: '2027-06-30' }, 'RRULE:FREQ=MONTHLY;UNTIL=20270630'],
    [{ frequency: 'daily', count: null, until: null }, 'RRULE:FREQ=DAILY'],
  ] as const)('%j is %s and back', (repeat, rule) => {
    expect(ruleOf(repeat)).toBe(rule);
    expect(parseRepeat([rule])).toEqual(repeat);
  });

  it('a rule Tryton cannot hold is no repeat of its own', () => {
    expect(parseRepeat(['RRULE:FREQ=WEEKLY;BYDAY=MO,WE'])).toBeNull();
    expect(parseRepeat(['RRULE:FREQ=YEARLY'])).toBeNull();
    expect(parseRepeat(['RRULE:FREQ=WEEKLY', 'EXDATE:20261207T090000Z'])).toBeNull();
  });
});
