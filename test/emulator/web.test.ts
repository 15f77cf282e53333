import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CalendarHarness, SCOPE, startCalendar } from './calendar-helpers.js';
import { CLIENT, userinfo } from './oauth-helpers.js';

const EMAIL = 'web@example.com';
let harness: CalendarHarness;
let base: string;

beforeEach(async () => {
  harness = await startCalendar();
  base = harness.emulator.url;
});
afterEach(async () => {
  await harness.close();
});

async function page(path = '/'): Promise<{ status: number; headers: Headers; html: string }> {
  const answer = await fetch(`${base}${path}`);
  return { status: answer.status, headers: answer.headers, html: await answer.text() };
}

async function submit(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const answer = await fetch(`${base}${path}`, {
    method: 'POST',
    body: new URLSearchParams(fields),
    redirect: 'manual',
    headers,
  });
  return { status: answer.status, location: answer.headers.get('location'), html: await answer.text() };
}

function formActions(html: string): string[] {
  return [...html.matchAll(/<form[^>]*action="([^"]*)"/g)].map((match) =>
    (match[1] ?? '').replace(/&#38;/g, '&'),
  );
}

async function changesSince(token: string, syncToken: string) {
  const answer = await harness.api(token, 'GET', '/calendars/primary/events', { query: { syncToken } });
  expect(answer.status).toBe(200);
  return answer.body as { items: any[]; nextSyncToken: string };
}

describe('the web page at the root', () => {
  it('is an HTML page with a CSP, no external resources, and says it is a development tool', async () => {
    const { status, headers, html } = await page();
    expect(status).toBe(200);
    expect(headers.get('content-type')).toContain('text/html');
    expect(headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    expect(headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(html).toContain('development tool');
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(html).toContain('id="no-accounts"');
  });

  it('lists accounts with their grants, calendars and events', async () => {
    const token = await harness.token(EMAIL, [SCOPE.calendar]);
    await harness.control('POST', '/calendars/web@example.com/events', {
      summary: 'Team meeting',
      start: { dateTime: '2026-05-04T10:00:00', timeZone: 'Europe/Paris' },
      end: { dateTime: '2026-05-04T11:00:00', timeZone: 'Europe/Paris' },
    });
    await harness.control('POST', '/accounts/web@example.com/calendars', { summary: 'Holidays' });
    expect(token).toBeTruthy();
    const { html } = await page();
    expect(html).toContain('<h2>web@example.com</h2>');
    expect(html).toContain(CLIENT.clientId);
    expect(html).toContain(SCOPE.calendar);
    expect(html).toContain('Team meeting');
    expect(html).toContain('2026-05-04T10:00:00+02:00 – 2026-05-04T11:00:00+02:00 (Europe/Paris)');
    expect(html).toContain('Holidays');
    expect(formActions(html)).toContain('/ui/grants/revoke');
  });

  it('creates, edits and deletes events as Google Calendar would: each change comes in incremental sync', async () => {
    const token = await harness.token(EMAIL);
    const { nextSyncToken: initial } = await harness.listAll(token, 'primary');
    const action = `/ui/calendars/${encodeURIComponent(EMAIL)}/events`;
    expect(formActions((await page()).html)).toContain(action.replace('%40', '%40'));

    const created = await submit(action, {
      summary: 'Dentist',
      start: '2026-06-10T15:30',
      end: '2026-06-10T16:00',
      timeZone: 'America/New_York',
      description: 'bring the card',
    });
    expect(created).toMatchObject({ status: 303, location: '/' });
    const afterCreate = await changesSince(token, initial);
    expect(afterCreate.items).toHaveLength(1);
    const event = afterCreate.items[0];
    expect(event).toMatchObject({
      summary: 'Dentist',
      description: 'bring the card',
      status: 'confirmed',
      start: { dateTime: '2026-06-10T19:30:00Z', timeZone: 'America/New_York' },
      end: { dateTime: '2026-06-10T20:00:00Z', timeZone: 'America/New_York' },
    });

    // The edit page shows the event's own values, in its own zone.
    const edit = await page(`${action}/${event.id}`);
    expect(edit.status).toBe(200);
    expect(edit.html).toContain('value="2026-06-10T15:30"');
    expect(edit.html).toContain('value="America/New_York"');

    const edited = await submit(`${action}/${event.id}`, {
      summary: 'Dentist (all day)',
      allDay: 'on',
      startDate: '2026-06-11',
      endDate: '2026-06-12',
    });
    expect(edited.status).toBe(303);
    const afterEdit = await changesSince(token, afterCreate.nextSyncToken);
    expect(afterEdit.items).toHaveLength(1);
    expect(afterEdit.items[0]).toMatchObject({
      id: event.id,
      summary: 'Dentist (all day)',
      start: { date: '2026-06-11' },
      end: { date: '2026-06-13' },
      sequence: event.sequence + 1,
    });
    expect(afterEdit.items[0].etag).not.toBe(event.etag);
    expect(Date.parse(afterEdit.items[0].updated)).toBeGreaterThanOrEqual(Date.parse(event.updated));
    expect((await page()).html).toContain('2026-06-11 – 2026-06-12 (all day)');

    const deleted = await submit(`${action}/${event.id}/delete`, {});
    expect(deleted.status).toBe(303);
    const afterDelete = await changesSince(token, afterEdit.nextSyncToken);
    expect(afterDelete.items).toEqual([expect.objectContaining({ id: event.id, status: 'cancelled' })]);
    expect((await page()).html).not.toContain('Dentist');
  });

  it('revokes a grant: the application loses its tokens', async () => {
    const token = await harness.token(EMAIL);
    expect((await userinfo(base, token)).status).toBe(200);
    const revoked = await submit('/ui/grants/revoke', { client_id: CLIENT.clientId, email: EMAIL });
    expect(revoked.status).toBe(303);
    expect((await userinfo(base, token)).status).toBe(401);
    expect((await page()).html).not.toContain(SCOPE.calendar);
  });

  it('adds an account with its primary calendar', async () => {
    expect((await submit('/ui/accounts', { email: 'New@Example.com' })).status).toBe(303);
    const { html } = await page();
    expect(html).toContain('<h2>new@example.com</h2>');
    expect((await submit('/ui/accounts', { email: 'not an email' })).status).toBe(400);
  });

  it('escapes hostile summaries, descriptions, calendar names and client ids', async () => {
    const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>'&`;
    await harness.token(EMAIL);
    await fetch(`${base}/__emulator/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: hostile, client_secret: 's', redirect_uris: ['http://x/cb'] }),
    });
    await harness.control('POST', `/accounts/${EMAIL}/calendars`, { summary: hostile });
    const created = await harness.control('POST', `/calendars/${EMAIL}/events`, {
      summary: hostile,
      description: hostile,
      location: `"><script>`,
      start: { date: '2026-01-01' },
      end: { date: '2026-01-02' },
    });
    const { html } = await page();
    const edit = await page(`/ui/calendars/${encodeURIComponent(EMAIL)}/events/${created.body.id}`);
    for (const text of [html, edit.html]) {
      expect(text).not.toContain('<script>');
      expect(text).not.toContain('<img');
      expect(text).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    }
  });

  it('refuses forms posted by another site, and bad input with a page saying why', async () => {
    await harness.token(EMAIL);
    const action = `/ui/calendars/${encodeURIComponent(EMAIL)}/events`;
    const fields = { summary: 'x', start: '2026-01-01T10:00', end: '2026-01-01T11:00' };
    expect((await submit(action, fields, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await submit(action, fields, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await submit(action, fields, { origin: base })).status).toBe(303);
    // What a browser sends with the page's own form.
    expect((await submit(action, fields, { origin: base, 'sec-fetch-site': 'same-origin' })).status).toBe(
      303,
    );

    const bad = await submit(action, { summary: 'x', start: 'tomorrow' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain('id="error"');
    const zone = await submit(action, { ...fields, timeZone: 'Mars/Olympus' });
    expect(zone.status).toBe(400);
    expect(zone.html).toContain('Invalid time zone');
    expect((await submit('/ui/calendars/nope/events', fields)).status).toBe(400);
    expect((await page(`${action}/doesnotexist`)).status).toBe(404);
  });

  it('is not served when the control API is off', async () => {
    const { startEmulator } = await import('../../src/emulator/server.js');
    const emulator = await startEmulator({ controlApi: false });
    try {
      expect((await fetch(`${emulator.url}/`)).status).toBe(404);
    } finally {
      await emulator.close();
    }
  });
});
