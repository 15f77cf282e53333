import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CalendarHarness, startCalendar, timed } from './calendar-helpers.js';

let h: CalendarHarness;
let token: string;
const EMAIL = 'sync@example.com';
const events = '/calendars/primary/events';

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

async function seed(count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const day = String(1 + (index % 28)).padStart(2, '0');
    const answer = await h.control(
      'POST',
      `/calendars/${EMAIL}/events`,
      timed(`E${index}`, `2030-01-${day}T10:00:00Z`, `2030-01-${day}T11:00:00Z`),
    );
    ids.push(answer.body.id);
  }
  return ids;
}

describe('full sync paging', () => {
  it('pages with maxResults, gives nextSyncToken only on the last page, 250 by default', async () => {
    const ids = await seed(7);
    const listed = await h.listAll(token, 'primary', { maxResults: '3' });
    expect(listed.pages.map((page) => page.items.length)).toEqual([3, 3, 1]);
    expect(listed.pages.slice(0, -1).every((page) => page.nextPageToken && !page.nextSyncToken)).toBe(true);
    expect(listed.pages.at(-1).nextPageToken).toBeUndefined();
    expect(listed.nextSyncToken).toEqual(expect.any(String));
    expect(listed.items.map((item) => item.id).sort()).toEqual([...ids].sort());
    const one = await h.api(token, 'GET', events);
    expect(one.body).toMatchObject({
      kind: 'calendar#events',
      summary: EMAIL,
      timeZone: 'UTC',
      accessRole: 'owner',
    });
    expect(one.body.items).toHaveLength(7);
    expect((await h.api(token, 'GET', events, { query: { maxResults: '0' } })).status).toBe(400);
    expect((await h.api(token, 'GET', events, { query: { maxResults: '99999' } })).status).toBe(200);
  });

  it('serves short pages when the control API caps them, and stays consistent while events change between pages', async () => {
    await seed(5);
    await h.control('POST', '/paging', { maxPageSize: 2 });
    const first = await h.api(token, 'GET', events, { query: { maxResults: '100' } });
    expect(first.body.items).toHaveLength(2);
    const late = await h.control(
      'POST',
      `/calendars/${EMAIL}/events`,
      timed('Late', '2030-02-01T10:00:00Z', '2030-02-01T11:00:00Z'),
    );
    const changed = first.body.items[0].id;
    await h.control('PATCH', `/calendars/${EMAIL}/events/${changed}`, { summary: 'Changed meanwhile' });
    let pageToken = first.body.nextPageToken;
    const seen = [...first.body.items];
    let last: any;
    while (pageToken) {
      last = (await h.api(token, 'GET', events, { query: { maxResults: '100', pageToken } })).body;
      seen.push(...last.items);
      pageToken = last.nextPageToken;
    }
    expect(seen.map((item) => item.id)).not.toContain(late.body.id);
    expect(new Set(seen.map((item) => item.id)).size).toBe(5);
    const increment = await h.listAll(token, 'primary', { syncToken: last.nextSyncToken });
    expect(increment.items.map((item) => [item.id, item.summary]).sort()).toEqual(
      [
        [late.body.id, 'Late'],
        [changed, 'Changed meanwhile'],
      ].sort(),
    );
  });
});

describe('paging one listing', () => {
  it('leaves out of the next pages an event changed after the first page, as it did before the listing was kept', async () => {
    await seed(5);
    await h.control('POST', '/paging', { maxPageSize: 2 });
    const first = await h.api(token, 'GET', events, { query: { maxResults: '100' } });
    const all = await h.listAll(token, 'primary', {});
    const later = all.items
      .map((item: any) => item.id)
      .filter((id: string) => !first.body.items.some((item: any) => item.id === id));
    expect(later).toHaveLength(3);
    await h.control('PATCH', `/calendars/${EMAIL}/events/${later[1]}`, { summary: 'Changed while paging' });
    // The same listing again from its first page token: what changed is left out, the rest still comes.
    let pageToken = first.body.nextPageToken;
    const rest: string[] = [];
    while (pageToken) {
      const page = (await h.api(token, 'GET', events, { query: { maxResults: '100', pageToken } })).body;
      rest.push(...page.items.map((item: any) => item.id));
      pageToken = page.nextPageToken;
    }
    expect(rest).toEqual([later[0], later[2]]);
  });
});

describe('incremental sync', () => {
  it('returns what changed through the control API and the API, deletions as cancelled, over several pages', async () => {
    const ids = await seed(6);
    const full = await h.listAll(token, 'primary', { maxResults: '4' });
    let syncToken = full.nextSyncToken;

    const nothing = await h.api(token, 'GET', events, { query: { syncToken } });
    expect(nothing.body.items).toEqual([]);
    expect(nothing.body.nextSyncToken).toEqual(expect.any(String));

    await h.control('PATCH', `/calendars/${EMAIL}/events/${ids[0]}`, { summary: 'Edited by a person' });
    await h.control('DELETE', `/calendars/${EMAIL}/events/${ids[1]}`);
    const added = await h.api(token, 'POST', events, {
      body: timed('Via API', '2030-03-01T10:00:00Z', '2030-03-01T11:00:00Z'),
    });
    await h.api(token, 'PATCH', `${events}/${ids[2]}`, { body: { location: 'Here' } });
    await h.api(token, 'DELETE', `${events}/${ids[3]}`);
    await seed(3);

    const increment = await h.listAll(token, 'primary', { syncToken, maxResults: '3' });
    expect(increment.pages.length).toBe(3);
    expect(increment.pages.slice(0, -1).every((page) => !page.nextSyncToken)).toBe(true);
    const byId = new Map(increment.items.map((item) => [item.id, item]));
    expect(byId.size).toBe(8);
    expect(byId.get(ids[0])?.summary).toBe('Edited by a person');
    expect(byId.get(ids[1])).toEqual({
      kind: 'calendar#event',
      etag: expect.stringMatching(/^"\d+"$/),
      id: ids[1],
      status: 'cancelled',
    });
    expect(byId.get(ids[3])?.status).toBe('cancelled');
    expect(byId.get(added.body.id)?.summary).toBe('Via API');
    expect(byId.get(ids[2])?.location).toBe('Here');
    syncToken = increment.nextSyncToken;

    const after = await h.api(token, 'GET', events, { query: { syncToken } });
    expect(after.body.items).toEqual([]);
    // A full listing leaves the cancelled ones out unless showDeleted.
    expect((await h.listAll(token, 'primary')).items).toHaveLength(8);
    const withDeleted = await h.listAll(token, 'primary', { showDeleted: 'true' });
    expect(
      withDeleted.items
        .filter((item) => item.status === 'cancelled')
        .map((item) => item.id)
        .sort(),
    ).toEqual([ids[1], ids[3]].sort());
  });

  it('answers 410 fullSyncRequired with Google body for invalidated, foreign or garbage tokens', async () => {
    await seed(1);
    const other = await h.control('POST', `/accounts/${EMAIL}/calendars`, { summary: 'Other' });
    const otherId = other.body.items[1].id;
    const primaryToken = (await h.listAll(token, 'primary')).nextSyncToken;
    const otherToken = (await h.listAll(token, otherId)).nextSyncToken;
    const expected = {
      error: {
        errors: [
          {
            domain: 'calendar',
            reason: 'fullSyncRequired',
            message: 'Sync token is no longer valid, a full sync is required.',
            locationType: 'parameter',
            location: 'syncToken',
          },
        ],
        code: 410,
        message: 'Sync token is no longer valid, a full sync is required.',
      },
    };
    for (const syncToken of ['garbage', otherToken]) {
      const answer = await h.api(token, 'GET', events, { query: { syncToken } });
      expect(answer.status).toBe(410);
      expect(answer.body).toEqual(expected);
    }
    const invalidated = await h.control('POST', '/sync-tokens/invalidate', { calendarId: EMAIL });
    expect(invalidated.body.invalidated).toBe(1);
    expect((await h.api(token, 'GET', events, { query: { syncToken: primaryToken } })).status).toBe(410);
    const path = `/calendars/${encodeURIComponent(otherId)}/events`;
    expect((await h.api(token, 'GET', path, { query: { syncToken: otherToken } })).status).toBe(200);
    await h.control('POST', '/sync-tokens/invalidate', {});
    expect((await h.api(token, 'GET', path, { query: { syncToken: otherToken } })).status).toBe(410);
    const fresh = await h.listAll(token, 'primary');
    expect((await h.api(token, 'GET', events, { query: { syncToken: fresh.nextSyncToken } })).status).toBe(
      200,
    );
  });

  it('refuses the parameters Google refuses with a syncToken', async () => {
    const { nextSyncToken: syncToken } = await h.listAll(token, 'primary');
    const refused: Record<string, string> = {
      iCalUID: 'x@google.com',
      orderBy: 'updated',
      privateExtendedProperty: 'a=b',
      q: 'word',
      sharedExtendedProperty: 'a=b',
      timeMin: '2030-01-01T00:00:00Z',
      timeMax: '2030-01-01T00:00:00Z',
      updatedMin: '2030-01-01T00:00:00Z',
    };
    for (const [name, value] of Object.entries(refused)) {
      const answer = await h.api(token, 'GET', events, { query: { syncToken, [name]: value } });
      expect(answer.status, name).toBe(400);
      expect(answer.body.error.errors[0]).toMatchObject({
        domain: 'global',
        reason: 'invalid',
        location: name,
      });
    }
    expect((await h.api(token, 'GET', events, { query: { syncToken, showDeleted: 'false' } })).status).toBe(
      400,
    );
    expect(
      (await h.api(token, 'GET', events, { query: { syncToken, showDeleted: 'true', singleEvents: 'true' } }))
        .status,
    ).toBe(200);
  });
});

describe('list filters', () => {
  it('filters timeMin on the end and timeMax on the start, both exclusive', async () => {
    const put = (summary: string, start: string, end: string) =>
      h.api(token, 'POST', events, { body: timed(summary, start, end) });
    await put('ends at 10', '2030-01-01T09:00:00Z', '2030-01-01T10:00:00Z');
    await put('ends after 10', '2030-01-01T09:30:00Z', '2030-01-01T10:00:01Z');
    await put('starts at 12', '2030-01-01T12:00:00Z', '2030-01-01T13:00:00Z');
    await put('starts before 12', '2030-01-01T11:59:59Z', '2030-01-01T13:00:00Z');
    await h.api(token, 'POST', events, {
      body: { summary: 'all day', start: { date: '2030-01-01' }, end: { date: '2030-01-02' } },
    });
    const listed = await h.listAll(token, 'primary', {
      timeMin: '2030-01-01T10:00:00Z',
      timeMax: '2030-01-01T12:00:00+00:00',
      singleEvents: 'true',
      orderBy: 'startTime',
    });
    expect(listed.items.map((item) => item.summary)).toEqual([
      'all day',
      'ends after 10',
      'starts before 12',
    ]);
    expect((await h.api(token, 'GET', events, { query: { timeMin: '2030-01-01T10:00:00' } })).status).toBe(
      400,
    );
    const empty = await h.api(token, 'GET', events, {
      query: { timeMin: '2030-01-02T00:00:00Z', timeMax: '2030-01-01T00:00:00Z' },
    });
    expect(empty.body.error.errors[0].reason).toBe('timeRangeEmpty');
  });

  it('needs singleEvents for orderBy=startTime and orders by updated', async () => {
    const refused = await h.api(token, 'GET', events, { query: { orderBy: 'startTime' } });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe(
      'The requested ordering is not available for the particular query.',
    );
    const ids = await seed(3);
    await h.control('PATCH', `/calendars/${EMAIL}/events/${ids[0]}`, { summary: 'last' });
    const byUpdated = await h.listAll(token, 'primary', { orderBy: 'updated' });
    expect(byUpdated.items.at(-1).id).toBe(ids[0]);
  });

  it('filters by q, iCalUID, extended properties and updatedMin', async () => {
    await h.api(token, 'POST', events, {
      body: timed('Budget review', '2030-01-01T09:00:00Z', '2030-01-01T10:00:00Z', {
        extendedProperties: { private: { tryton_id: '7' }, shared: { db: 'prod' } },
      }),
    });
    const other = await h.api(token, 'POST', events, {
      body: timed('Lunch', '2030-01-01T12:00:00Z', '2030-01-01T13:00:00Z'),
    });
    const summaries = async (query: Record<string, string | string[]>) =>
      (await h.api(token, 'GET', events, { query })).body.items.map((item: any) => item.summary);
    expect(await summaries({ q: 'budget' })).toEqual(['Budget review']);
    expect(await summaries({ iCalUID: other.body.iCalUID })).toEqual(['Lunch']);
    expect(await summaries({ privateExtendedProperty: 'tryton_id=7' })).toEqual(['Budget review']);
    expect(await summaries({ sharedExtendedProperty: ['db=prod', 'x=y'] })).toEqual([]);
    expect(await summaries({ updatedMin: '2999-01-01T00:00:00Z' })).toEqual([]);
  });
});
