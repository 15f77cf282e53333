import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar, timed } from './calendar-helpers.js';

const EMAIL = 'paging@example.com';
let h: CalendarHarness;
let token: string;

beforeAll(async () => {
  h = await startCalendar();
});
beforeEach(async () => {
  token = await h.token(EMAIL);
});
afterEach(async () => {
  await fetch(`${h.emulator.url}/__emulator/reset`, { method: 'POST' });
});
afterAll(async () => {
  await h?.close();
});

async function seed(count: number, calendarId = EMAIL): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const day = String(index + 1).padStart(2, '0');
    const answer = await h.control(
      'POST',
      `/calendars/${encodeURIComponent(calendarId)}/events`,
      timed(`E${index}`, `2030-01-${day}T10:00:00Z`, `2030-01-${day}T11:00:00Z`),
    );
    ids.push(answer.body.id);
  }
  return ids;
}

describe('POST /__emulator/calendar/paging {changeWhilePaging}', () => {
  it('edits the items the next pages would carry: left out of this listing, reported by the next sync', async () => {
    const ids = await seed(5);
    const set = await h.control('POST', '/paging', { maxPageSize: 2, changeWhilePaging: { count: 1 } });
    expect(set.body).toEqual({ maxPageSize: 2, changeWhilePaging: { count: 1 } });

    const full = await h.listAll(token, 'primary');
    // Page 1 carries E0, E1; then E2 is edited, so page 2 carries E3, E4 and is the last one.
    expect(full.pages.map((page) => page.items.map((item: any) => item.summary))).toEqual([
      ['E0', 'E1'],
      ['E3', 'E4'],
    ]);
    expect(full.items.map((item) => item.id)).not.toContain(ids[2]);

    const increment = await h.listAll(token, 'primary', { syncToken: full.nextSyncToken });
    expect(increment.items.map((item) => [item.id, item.summary])).toEqual([
      [ids[2], 'E2 (edited while paging)'],
    ]);
    // The edit is a person's: a new etag and sequence unchanged, as a summary edit in Google.
    const got = await h.api(token, 'GET', `/calendars/primary/events/${ids[2]}`);
    expect(got.body).toMatchObject({ summary: 'E2 (edited while paging)', sequence: 0 });
  });

  it('edits occurrences as exceptions, and only listings of the calendar named', async () => {
    const other = (
      await h.control('POST', `/accounts/${EMAIL}/calendars`, { summary: 'Other' })
    ).body.items.find((item: any) => item.summary === 'Other').id;
    await seed(3, other);
    const series = await h.control('POST', `/calendars/${EMAIL}/events`, {
      summary: 'Weekly',
      start: { dateTime: '2030-01-07T09:00:00', timeZone: 'Europe/Brussels' },
      end: { dateTime: '2030-01-07T10:00:00', timeZone: 'Europe/Brussels' },
      recurrence: ['RRULE:FREQ=WEEKLY;COUNT=5'],
    });
    await h.control('POST', '/paging', {
      maxPageSize: 2,
      changeWhilePaging: { calendar_id: EMAIL, count: 2 },
    });

    expect((await h.listAll(token, other)).items.map((item) => item.summary)).toEqual(['E0', 'E1', 'E2']);

    const full = await h.listAll(token, 'primary', { singleEvents: 'true', orderBy: 'startTime' });
    const sent = full.items.map((item) => item.id);
    // Page 1: occurrences 1-2, then 3-4 are edited; page 2: occurrence 5, the last page.
    expect(sent).toEqual([
      `${series.body.id}_20300107T080000Z`,
      `${series.body.id}_20300114T080000Z`,
      `${series.body.id}_20300204T080000Z`,
    ]);
    const increment = await h.listAll(token, 'primary', {
      syncToken: full.nextSyncToken,
      singleEvents: 'true',
    });
    expect(increment.items.map((item) => [item.id, item.summary, item.recurringEventId]).sort()).toEqual([
      [`${series.body.id}_20300121T080000Z`, 'Weekly (edited while paging)', series.body.id],
      [`${series.body.id}_20300128T080000Z`, 'Weekly (edited while paging)', series.body.id],
    ]);
  });

  it('is off when absent or null, cleared by reset, and refuses bad settings', async () => {
    await h.control('POST', '/paging', { maxPageSize: 2, changeWhilePaging: { count: 1 } });
    expect((await h.control('POST', '/paging', { maxPageSize: 2 })).body).toEqual({
      maxPageSize: 2,
      changeWhilePaging: null,
    });
    await seed(5);
    expect((await h.listAll(token, 'primary')).items).toHaveLength(5);

    await h.control('POST', '/paging', {
      maxPageSize: null,
      changeWhilePaging: { calendar_id: EMAIL, count: 3 },
    });
    expect((await h.control('GET', '/state')).body.changeWhilePaging).toEqual({
      calendarId: EMAIL,
      count: 3,
    });
    await h.control('POST', '/reset');
    expect((await h.control('GET', '/state')).body).toMatchObject({
      maxPageSize: null,
      changeWhilePaging: null,
    });

    for (const changeWhilePaging of [
      { count: 0 },
      { count: 1.5 },
      {},
      { calendar_id: '', count: 1 },
      { count: 1, x: 1 },
    ])
      expect((await h.control('POST', '/paging', { maxPageSize: 2, changeWhilePaging })).status).toBe(400);
  });
});
