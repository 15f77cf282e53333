/**
 * Odd items do not stop a calendar (docs/contracts.md, "Odd items"): events Google accepts whose
 * instant leaves the years 1-9999 once in UTC, and answers Google should not send but a proxy or a
 * future API could (the emulator's raw overrides), are skipped, counted and named on the calendar,
 * while the rest of their page is written and later events keep arriving; values are normalised
 * (a visibility in capitals, an unknown one, a `javascript:` link).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emulatorControl } from '../support/emulator-client.js';
import { type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';

const EMAIL = 'odd.items@example.com';
const EVENTS = `/calendar/calendars/${encodeURIComponent(EMAIL)}/events`;

let stack: Stack;
let credentialId: number;
let calendarId: number;

beforeAll(async () => {
  stack = await startStack({
    template: await trytonTemplate(),
    env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '3600' },
  });
  credentialId = await stack.authorizedCredential(EMAIL);
  const listed = await stack.rpc('calendar.list_calendars', { credential_id: credentialId });
  calendarId = listed.result.calendars[0].id;
  await stack.db('google_integration_calendar').where({ id: calendarId }).update({ sync_enabled: true });
});

afterAll(async () => {
  await stack?.stop();
});

const control = (path: string, method: string, body?: unknown) =>
  emulatorControl(stack.emulator.url)(path, method, body);

const timed = (summary: string, start: string, end: string) => ({
  summary,
  start: { dateTime: start },
  end: { dateTime: end },
});

async function sync() {
  const answer = await stack.rpc('calendar.sync', { credential_id: credentialId, calendar_id: calendarId });
  expect(answer.error).toBeUndefined();
  return answer.result as { created: number; updated: number; deleted: number; skipped: number };
}

const calendar = () => stack.db('google_integration_calendar').where({ id: calendarId }).first();
const summaries = async () =>
  (
    await stack
      .db('google_integration_event as e')
      .join('google_integration_event_detail as d', 'd.event', 'e.id')
      .where('e.calendar', calendarId)
      .orderBy('d.summary')
      .select('d.summary')
  ).map((row) => row.summary);

describe('instants outside the years 1-9999 once in UTC', () => {
  let early: { id: string };
  let late: { id: string };

  it('are skipped and named, and the rest of their page is written', async () => {
    await control(EVENTS, 'POST', timed('Before', '2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z'));
    early = await control(
      EVENTS,
      'POST',
      timed('Dawn of time', '0001-01-01T00:00:00+14:00', '0001-01-01T01:00:00+14:00'),
    );
    late = await control(
      EVENTS,
      'POST',
      timed('End of time', '9999-12-31T22:00:00-05:00', '9999-12-31T22:30:00-05:00'),
    );
    await control(EVENTS, 'POST', timed('After', '2026-12-02T09:00:00Z', '2026-12-02T10:00:00Z'));
    expect(await sync()).toMatchObject({ created: 2, skipped: 2 });
    expect(await summaries()).toEqual(['After', 'Before']);
    const row = await calendar();
    expect(row).toMatchObject({ sync_status: 'ok', last_error: null });
    expect(row.sync_notice).toBe(
      `2 events from Google are not shown: ${[early.id, late.id]
        .sort()
        .map((id) => `${id} (has a time outside the years 1-9999 once in UTC)`)
        .join('; ')}.`,
    );
  });

  it('do not stop later events from arriving, and leave the notice once deleted', async () => {
    await control(EVENTS, 'POST', timed('Later', '2026-12-03T09:00:00Z', '2026-12-03T10:00:00Z'));
    expect(await sync()).toMatchObject({ created: 1, skipped: 0 });
    expect((await calendar()).sync_notice).toMatch(/^2 events from Google are not shown/);
    await control(`${EVENTS}/${early.id}`, 'DELETE');
    expect(await sync()).toMatchObject({ deleted: 0 });
    expect((await calendar()).sync_notice).toBe(
      `1 event from Google is not shown: ${late.id} (has a time outside the years 1-9999 once in UTC).`,
    );
    await control(`${EVENTS}/${late.id}`, 'DELETE');
    await sync();
    expect((await calendar()).sync_notice).toBeNull();
    expect(await summaries()).toEqual(['After', 'Before', 'Later']);
  });
});

describe("answers Google should not send (the emulator's raw overrides)", () => {
  it.each([
    ['a summary that is a number', { summary: 42 }, 'summary is not text'],
    [
      'attendees as an object',
      { attendees: { email: 'x@example.com' } },
      'attendees is not a list of attendees',
    ],
    [
      'an invalid all-day date',
      { start: { date: '2026-02-30' }, end: { date: '2026-03-01' } },
      'has a date that is not a calendar date (2026-02-30)',
    ],
    ['an end before its start', { end: { dateTime: '2026-12-04T08:00:00Z' } }, 'ends before it starts'],
    ['no end', { end: null }, 'has no start or end'],
    ['an unknown status', { status: 'weird' }, 'has an unknown status (weird)'],
  ])('%s: skipped with its reason, taken once Google sends it right', async (name, fields, reason) => {
    const event = await control(
      EVENTS,
      'POST',
      timed(`Raw ${name}`, '2026-12-04T09:00:00Z', '2026-12-04T10:00:00Z'),
    );
    await control(`${EVENTS}/${event.id}/raw`, 'POST', { fields });
    expect(await sync()).toMatchObject({ created: 0, skipped: 1 });
    expect((await calendar()).sync_notice).toBe(`1 event from Google is not shown: ${event.id} (${reason}).`);
    // A regular edit makes Google send a valid event again.
    await control(`${EVENTS}/${event.id}`, 'PATCH', { location: 'fixed' });
    expect(await sync()).toMatchObject({ created: 1, skipped: 0 });
    expect((await calendar()).sync_notice).toBeNull();
    expect(await summaries()).toContain(`Raw ${name}`);
    await control(`${EVENTS}/${event.id}`, 'DELETE');
    expect(await sync()).toMatchObject({ deleted: 1 });
  });

  it('keeps the last valid version of an event Tryton holds while Google sends it odd', async () => {
    const event = await control(
      EVENTS,
      'POST',
      timed('Valid first', '2026-12-05T09:00:00Z', '2026-12-05T10:00:00Z'),
    );
    expect(await sync()).toMatchObject({ created: 1 });
    await control(`${EVENTS}/${event.id}/raw`, 'POST', { fields: { summary: ['not', 'text'] } });
    expect(await sync()).toMatchObject({ updated: 0, deleted: 0, skipped: 1 });
    await control('/calendar/sync-tokens/invalidate', 'POST', {});
    expect(await sync()).toMatchObject({ deleted: 0 });
    expect(await summaries()).toContain('Valid first');
  });
});

describe('normalised values', () => {
  const stored = async (googleId: string) =>
    stack.db('google_integration_event').where({ calendar: calendarId, google_id: googleId }).first();

  it('a visibility in capitals is compared in any case, an unknown one is private', async () => {
    const shouting = await control(
      EVENTS,
      'POST',
      timed('Shouting', '2026-12-06T09:00:00Z', '2026-12-06T10:00:00Z'),
    );
    const unknown = await control(
      EVENTS,
      'POST',
      timed('Unknown', '2026-12-06T11:00:00Z', '2026-12-06T12:00:00Z'),
    );
    const publicOne = await control(EVENTS, 'POST', {
      ...timed('Public', '2026-12-06T13:00:00Z', '2026-12-06T14:00:00Z'),
      visibility: 'public',
    });
    await control(`${EVENTS}/${shouting.id}/raw`, 'POST', { fields: { visibility: 'PRIVATE' } });
    await control(`${EVENTS}/${unknown.id}/raw`, 'POST', { fields: { visibility: 'secret-ish' } });
    await sync();
    expect((await stored(shouting.id)).visibility).toBe('private');
    expect((await stored(unknown.id)).visibility).toBe('private');
    expect((await stored(publicOne.id)).visibility).toBe('public');
  });

  it('keeps only https links to Google', async () => {
    const evil = await control(
      EVENTS,
      'POST',
      timed('Evil link', '2026-12-06T15:00:00Z', '2026-12-06T16:00:00Z'),
    );
    await control(`${EVENTS}/${evil.id}/raw`, 'POST', { fields: { htmlLink: 'javascript:alert(1)' } });
    const good = await control(
      EVENTS,
      'POST',
      timed('Good link', '2026-12-06T17:00:00Z', '2026-12-06T18:00:00Z'),
    );
    await sync();
    expect((await stored(evil.id)).html_link).toBeNull();
    expect((await stored(good.id)).html_link).toMatch(/^https:\/\/www\.google\.com\/calendar\/event\?eid=/);
  });
});
