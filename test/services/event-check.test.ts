/**
 * What the pull takes of an item Google sent (src/services/calendar/event-check.ts), in memory: odd
 * items are refused with a short reason instead of failing their page, values are normalised
 * (visibility, links, status case), and a cancellation needs only its id.
 */
import { describe, expect, it } from 'vitest';
import { checkItem, googleLink, visibilityOf } from '../../src/services/calendar/event-check.js';

const timed = {
  id: 'evt1',
  start: { dateTime: '2026-12-01T09:00:00+01:00', timeZone: 'Europe/Paris' },
  end: { dateTime: '2026-12-01T10:00:00+01:00', timeZone: 'Europe/Paris' },
};

describe('refused items', () => {
  it.each([
    [
      'an instant in year 0 once in UTC',
      { start: { dateTime: '0001-01-01T00:00:00+14:00' }, end: { dateTime: '0001-01-01T01:00:00+14:00' } },
      'has a time outside the years 1-9999 once in UTC',
    ],
    [
      'an instant in year 10000 once in UTC',
      { start: { dateTime: '9999-12-31T22:00:00-05:00' }, end: { dateTime: '9999-12-31T22:30:00-05:00' } },
      'has a time outside the years 1-9999 once in UTC',
    ],
    [
      'a date that is not a calendar date',
      { start: { date: '2026-02-30' }, end: { date: '2026-03-01' } },
      'has a date that is not a calendar date (2026-02-30)',
    ],
    [
      'year 0000',
      { start: { date: '0000-12-31' }, end: { date: '0001-01-01' } },
      'has a date that is not a calendar date (0000-12-31)',
    ],
    [
      'a year written with six digits',
      { start: { dateTime: '+010000-01-01T03:00:00Z' }, end: { dateTime: '+010000-01-01T04:00:00Z' } },
      'has a time outside the years 1-9999 once in UTC',
    ],
    [
      'a year written with five digits',
      { start: { dateTime: '10000-01-01T03:00:00Z' }, end: { dateTime: '10000-01-01T04:00:00Z' } },
      'has a time outside the years 1-9999 once in UTC',
    ],
    [
      'a time that is not RFC 3339',
      { start: { dateTime: 'tomorrow' }, end: { dateTime: 'later' } },
      'has a time that is not RFC 3339 (tomorrow)',
    ],
    ['a summary that is a number', { summary: 42 }, 'summary is not text'],
    [
      'attendees as an object',
      { attendees: { email: 'a@example.com' } },
      'attendees is not a list of attendees',
    ],
    [
      'an attendee that is a string',
      { attendees: ['a@example.com'] },
      'attendees is not a list of attendees',
    ],
    ['an end before its start', { end: { dateTime: '2026-12-01T08:00:00+01:00' } }, 'ends before it starts'],
    [
      'an all-day end before its start',
      { start: { date: '2026-12-02' }, end: { date: '2026-12-01' } },
      'ends before it starts',
    ],
    ['no end', { end: undefined }, 'has no start or end'],
    ['an end of null', { end: null }, 'has no start or end'],
    ['an empty start', { start: {} }, 'has no start or end'],
    [
      'a start and an end of different kinds',
      { start: { date: '2026-12-01' } },
      'has a start and an end of different kinds',
    ],
    ['an unknown status', { status: 'weird' }, 'has an unknown status (weird)'],
    ['a start that is text', { start: '2026-12-01' }, 'start is not a date or a time'],
  ])('%s', (_name, changes, reason) => {
    expect(checkItem({ ...timed, ...changes })).toEqual({ kind: 'refused', id: 'evt1', reason });
  });

  it('an item without an id, or not an object at all', () => {
    expect(checkItem({ ...timed, id: undefined })).toEqual({
      kind: 'refused',
      id: null,
      reason: 'has no id',
    });
    expect(checkItem({ ...timed, id: 7 })).toEqual({ kind: 'refused', id: null, reason: 'has no id' });
    expect(checkItem('event')).toMatchObject({ kind: 'refused', id: null });
    expect(checkItem(null)).toMatchObject({ kind: 'refused', id: null });
  });

  it('quotes a long odd value short', () => {
    const checked = checkItem({ ...timed, status: 'x'.repeat(500) });
    expect(checked.kind === 'refused' && checked.reason.length).toBeLessThan(80);
  });
});

describe('accepted items', () => {
  it('takes the years 1 and 9999 in UTC, and an event of no length', () => {
    for (const [start, end] of [
      ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
      ['9999-12-31T22:00:00Z', '9999-12-31T23:59:59.999Z'],
    ]) {
      expect(checkItem({ ...timed, start: { dateTime: start }, end: { dateTime: end } }).kind).toBe('event');
    }
  });

  it('needs only an id to be a cancellation, whatever else the item says', () => {
    expect(checkItem({ id: 'gone', status: 'cancelled' })).toEqual({ kind: 'cancelled', id: 'gone' });
    expect(checkItem({ id: 'gone', status: 'CANCELLED', summary: 42 })).toEqual({
      kind: 'cancelled',
      id: 'gone',
    });
  });

  it('compares the status in any case', () => {
    const checked = checkItem({ ...timed, status: 'Tentative' });
    expect(checked.kind === 'event' && checked.event.status).toBe('tentative');
  });

  it('keeps the attendees that have an e-mail', () => {
    const checked = checkItem({
      ...timed,
      attendees: [{ email: 'a@example.com' }, { resource: true }, { email: '' }],
    });
    expect(checked.kind === 'event' && checked.event.attendees).toEqual(['a@example.com']);
  });
});

describe('normalised values', () => {
  it.each([
    [undefined, 'default'],
    ['default', 'default'],
    ['public', 'public'],
    ['PRIVATE', 'private'],
    ['Confidential', 'confidential'],
    ['secret', 'private'],
    [42, 'private'],
    [{ level: 'public' }, 'private'],
  ])('visibility %j is stored as %s', (value, stored) => {
    expect(visibilityOf(value)).toBe(stored);
  });

  it.each([
    ['https://www.google.com/calendar/event?eid=abc', true],
    ['https://calendar.google.com/calendar/r/eventedit/abc', true],
    ['https://google.com/calendar', true],
    ['javascript:alert(1)', false],
    ['http://www.google.com/calendar/event?eid=abc', false],
    ['https://www.google.com.evil.example/x', false],
    ['https://evilgoogle.com/x', false],
    ['https://user:pass@www.google.com/x', false],
    ['data:text/html,<script>alert(1)</script>', false],
    [42, false],
  ])('link %j kept: %s', (value, kept) => {
    expect(googleLink(value)).toBe(kept ? value : null);
  });

  it('an unknown visibility makes the event private', () => {
    const checked = checkItem({ ...timed, visibility: 'PRIVATE', htmlLink: 'javascript:alert(1)' });
    expect(checked.kind === 'event' && checked.event).toMatchObject({
      visibility: 'private',
      htmlLink: null,
    });
  });
});
