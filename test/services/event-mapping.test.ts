/**
 * Google's events as Tryton's rows: all-day events keep their dates (the last day inclusive),
 * timed events keep their instants across DST changes and zones, and the content hash ignores
 * what Tryton does not keep (etag, updated).
 */
import { describe, expect, it } from 'vitest';
import { lastDay } from '../../src/services/calendar/dates.js';
import { mapEvent } from '../../src/services/calendar/event-mapping.js';

describe('all-day events', () => {
  it.each([
    ['2026-03-28', '2026-03-29', '2026-03-28'],
    ['2026-03-28', '2026-03-31', '2026-03-30'],
    ['2026-12-31', '2027-01-01', '2026-12-31'],
    ['2028-02-28', '2028-03-01', '2028-02-29'],
    ['2026-05-01', null, '2026-05-01'],
  ])('from %s to %s (exclusive) ends on %s', (start, end, last) => {
    expect(lastDay(start, end)).toBe(last);
  });

  it('keeps dates, not instants', () => {
    const { event } = mapEvent(
      { id: 'allday1', start: { date: '2026-10-25' }, end: { date: '2026-10-26' }, summary: 'Holiday' },
      'Pacific/Auckland',
    );
    expect(event).toMatchObject({
      all_day: true,
      start_date: '2026-10-25',
      end_date: '2026-10-25',
      starts_at: null,
      ends_at: null,
    });
  });
});

describe('timed events', () => {
  it.each([
    // The week Europe/Paris leaves summer time (2026-10-25): 09:00 local is 07:00 UTC before, 08:00 after.
    ['2026-10-23T09:00:00+02:00', 'Europe/Paris', '2026-10-23T07:00:00.000Z'],
    ['2026-10-26T09:00:00+01:00', 'Europe/Paris', '2026-10-26T08:00:00.000Z'],
    ['2026-11-02T09:00:00-05:00', 'America/New_York', '2026-11-02T14:00:00.000Z'],
    ['2026-10-30T09:00:00-04:00', 'America/New_York', '2026-10-30T13:00:00.000Z'],
  ])('%s (%s) is %s', (dateTime, timeZone, utc) => {
    const { event } = mapEvent(
      { id: 'timed1', start: { dateTime, timeZone }, end: { dateTime, timeZone } },
      'UTC',
    );
    expect(event.starts_at?.toISOString()).toBe(utc);
    expect(event.time_zone).toBe(timeZone);
    expect(event.all_day).toBe(false);
  });
});

describe('content hash', () => {
  const base = {
    id: 'evt1',
    start: { dateTime: '2026-11-26T10:00:00Z' },
    end: { dateTime: '2026-11-26T11:00:00Z' },
    summary: 'Review',
    attendees: [{ email: 'a@example.com' }, { email: 'b@example.com' }],
  };

  it('ignores etag and updated, but not the content', () => {
    const first = mapEvent({ ...base, etag: '"1"', updated: '2026-11-25T10:00:00Z' }, null);
    const churn = mapEvent({ ...base, etag: '"2"', updated: '2026-11-25T11:00:00Z' }, null);
    const edited = mapEvent({ ...base, summary: 'Review (moved)' }, null);
    expect(churn.hash).toBe(first.hash);
    expect(edited.hash).not.toBe(first.hash);
    expect(first.detail.attendees).toBe('a@example.com\nb@example.com');
  });
});
