/** The time-zone and RRULE helpers on their own: DST gaps and overlaps, and each supported rule part. */
import { describe, expect, it } from 'vitest';
import {
  isBounded,
  occurrences,
  RecurrenceError,
  validateRecurrence,
} from '../../src/emulator/calendar/recurrence.js';
import { formatInZone, instantOf, parseDateTime } from '../../src/emulator/calendar/tz.js';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const at = (value: string) => Date.parse(value);
const timed = (start: string, zone: string) => ({
  allDay: false,
  startMs: parseDateTime(start, zone) ?? Number.NaN,
  zone,
});
const allDay = (date: string) => ({ allDay: true, startMs: at(`${date}T00:00:00Z`), zone: 'UTC' });
const FAR = at('2100-01-01T00:00:00Z');

describe('tz helpers', () => {
  it('converts wall time to instants on both sides of DST changes', () => {
    const civil = (year: number, month: number, day: number, hour: number, minute = 0) => ({
      year,
      month,
      day,
      hour,
      minute,
      second: 0,
    });
    expect(iso(instantOf(civil(2024, 3, 25, 9), 'Europe/Paris'))).toBe('2024-03-25T08:00:00Z');
    expect(iso(instantOf(civil(2024, 4, 1, 9), 'Europe/Paris'))).toBe('2024-04-01T07:00:00Z');
    // 02:30 does not exist on 2024-03-31 in Paris: moved forward by the gap (RFC 5545).
    expect(iso(instantOf(civil(2024, 3, 31, 2, 30), 'Europe/Paris'))).toBe('2024-03-31T01:30:00Z');
    // 01:30 happens twice on 2024-11-03 in New York: the first one.
    expect(iso(instantOf(civil(2024, 11, 3, 1, 30), 'America/New_York'))).toBe('2024-11-03T05:30:00Z');
    expect(iso(instantOf(civil(2024, 10, 27, 2, 30), 'Europe/Paris'))).toBe('2024-10-27T00:30:00Z');
  });

  it('formats RFC 3339 with the zone offset and parses local times in a zone', () => {
    expect(formatInZone(at('2024-04-01T07:00:00Z'), 'Europe/Paris')).toBe('2024-04-01T09:00:00+02:00');
    expect(formatInZone(at('2024-01-01T07:00:00Z'), 'Asia/Kolkata')).toBe('2024-01-01T12:30:00+05:30');
    expect(formatInZone(at('2024-01-01T07:00:00Z'), 'UTC')).toBe('2024-01-01T07:00:00Z');
    expect(iso(parseDateTime('2024-07-01T09:00:00', 'America/New_York') ?? 0)).toBe('2024-07-01T13:00:00Z');
    expect(parseDateTime('2024-02-30T09:00:00Z')).toBeUndefined();
    expect(parseDateTime('2024-07-01T09:00:00')).toBeUndefined();
  });
});

describe('RRULE expansion', () => {
  it('keeps a weekly 09:00 Europe/Paris meeting at 09:00 local across the spring change', () => {
    const starts = occurrences(
      ['RRULE:FREQ=WEEKLY;COUNT=4'],
      timed('2024-03-18T09:00:00', 'Europe/Paris'),
      FAR,
    );
    expect(starts.map(iso)).toEqual([
      '2024-03-18T08:00:00Z',
      '2024-03-25T08:00:00Z',
      '2024-04-01T07:00:00Z',
      '2024-04-08T07:00:00Z',
    ]);
    const autumn = occurrences(
      ['RRULE:FREQ=WEEKLY;COUNT=2'],
      timed('2024-10-21T09:00:00', 'Europe/Paris'),
      FAR,
    );
    expect(autumn.map(iso)).toEqual(['2024-10-21T07:00:00Z', '2024-10-28T08:00:00Z']);
  });

  it('keeps a daily 09:00 America/New_York event at 09:00 local across both changes', () => {
    const spring = occurrences(
      ['RRULE:FREQ=DAILY;COUNT=4'],
      timed('2024-03-08T09:00:00', 'America/New_York'),
      FAR,
    );
    expect(spring.map(iso)).toEqual([
      '2024-03-08T14:00:00Z',
      '2024-03-09T14:00:00Z',
      '2024-03-10T13:00:00Z',
      '2024-03-11T13:00:00Z',
    ]);
    const fall = occurrences(
      ['RRULE:FREQ=WEEKLY;COUNT=3'],
      timed('2024-10-27T01:30:00', 'America/New_York'),
      FAR,
    );
    expect(fall.map(iso)).toEqual(['2024-10-27T05:30:00Z', '2024-11-03T05:30:00Z', '2024-11-10T06:30:00Z']);
  });

  it('handles INTERVAL with BYDAY, UNTIL (inclusive) and EXDATE with TZID', () => {
    const starts = occurrences(
      [
        'RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;UNTIL=20240322T080000Z',
        'EXDATE;TZID=Europe/Paris:20240306T090000',
      ],
      timed('2024-03-04T09:00:00', 'Europe/Paris'),
      FAR,
    );
    expect(starts.map(iso)).toEqual([
      '2024-03-04T08:00:00Z',
      '2024-03-08T08:00:00Z',
      '2024-03-18T08:00:00Z',
      '2024-03-20T08:00:00Z',
      '2024-03-22T08:00:00Z',
    ]);
  });

  it('expands MONTHLY by ordinal weekday and by month day, skipping months without the day', () => {
    const second = occurrences(
      ['RRULE:FREQ=MONTHLY;BYDAY=2TU;COUNT=3'],
      timed('2024-01-09T10:00:00', 'UTC'),
      FAR,
    );
    expect(second.map(iso)).toEqual(['2024-01-09T10:00:00Z', '2024-02-13T10:00:00Z', '2024-03-12T10:00:00Z']);
    const last = occurrences(
      ['RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3'],
      timed('2024-01-31T10:00:00', 'UTC'),
      FAR,
    );
    expect(last.map(iso)).toEqual(['2024-01-31T10:00:00Z', '2024-02-29T10:00:00Z', '2024-03-31T10:00:00Z']);
    const thirtyFirst = occurrences(['RRULE:FREQ=MONTHLY;COUNT=3'], timed('2024-01-31T10:00:00', 'UTC'), FAR);
    expect(thirtyFirst.map(iso)).toEqual([
      '2024-01-31T10:00:00Z',
      '2024-03-31T10:00:00Z',
      '2024-05-31T10:00:00Z',
    ]);
  });

  it('expands all-day YEARLY series on dates (29 February only in leap years) and RDATE', () => {
    const leap = occurrences(['RRULE:FREQ=YEARLY;COUNT=2'], allDay('2024-02-29'), FAR);
    expect(leap.map(iso)).toEqual(['2024-02-29T00:00:00Z', '2028-02-29T00:00:00Z']);
    const withRdate = occurrences(
      ['RRULE:FREQ=DAILY;COUNT=2', 'RDATE;VALUE=DATE:20240110', 'EXDATE;VALUE=DATE:20240102'],
      allDay('2024-01-01'),
      FAR,
    );
    expect(withRdate.map(iso)).toEqual(['2024-01-01T00:00:00Z', '2024-01-10T00:00:00Z']);
  });

  it('stops at the window and at the instance cap, and knows bounded from open series', () => {
    const open = occurrences(
      ['RRULE:FREQ=DAILY'],
      timed('2024-01-01T10:00:00', 'UTC'),
      at('2024-01-05T10:00:00Z'),
    );
    expect(open).toHaveLength(4);
    expect(
      occurrences(['RRULE:FREQ=DAILY;COUNT=1000000'], timed('2024-01-01T10:00:00', 'UTC'), FAR),
    ).toHaveLength(5000);
    expect(isBounded(['RRULE:FREQ=DAILY;COUNT=3'], timed('2024-01-01T10:00:00', 'UTC'))).toBe(true);
    expect(isBounded(['RRULE:FREQ=DAILY'], timed('2024-01-01T10:00:00', 'UTC'))).toBe(false);
  });

  it('refuses rules it cannot expand exactly', () => {
    const start = timed('2024-01-01T10:00:00', 'UTC');
    for (const rule of [
      'RRULE:FREQ=HOURLY',
      'RRULE:FREQ=DAILY;BYSETPOS=1',
      'RRULE:FREQ=DAILY;COUNT=2;UNTIL=20240101T000000Z',
      'RRULE:FREQ=WEEKLY;BYDAY=1MO',
      'RRULE:FREQ=DAILY;INTERVAL=0',
      'EXRULE:FREQ=DAILY',
      'nonsense',
    ])
      expect(() => validateRecurrence([rule], start), rule).toThrow(RecurrenceError);
  });
});
