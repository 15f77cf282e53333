/**
 * Calendar v3 through google-auth-library's OAuth2Client.request (gaxios), the transport the official
 * `@googleapis/calendar` client uses: a full sync over pages, an incremental one, 410 as a GaxiosError,
 * and a 401 that the client answers by refreshing its token and retrying.
 */
import { OAuth2Client } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { CALENDAR, clientConsent, controlRequest, oauthClientOptions, start } from './oauth-helpers.js';

describe('Calendar v3 through OAuth2Client.request', () => {
  let emulator: RunningEmulator;
  let client: OAuth2Client;
  const root = () => `${emulator.url}/calendar/v3`;
  const control = (path: string, body: unknown) => controlRequest(emulator.url, 'POST', path, body);

  beforeAll(async () => {
    emulator = await start();
    client = new OAuth2Client({
      ...oauthClientOptions(emulator.url),
      // Without it the client trusts expiry_date and does not retry a 401 after a refresh.
      forceRefreshOnFailure: true,
    });
    client.setCredentials(
      await clientConsent(client, emulator.url, 'gal@example.com', {
        access_type: 'offline',
        prompt: 'consent',
        scope: ['openid', 'email', CALENDAR],
      }),
    );
  });
  afterAll(async () => {
    await emulator?.close();
  });

  it('syncs fully over pages, then incrementally, and meets 410 as a GaxiosError', async () => {
    for (let index = 0; index < 5; index += 1) {
      await client.request({
        url: `${root()}/calendars/primary/events`,
        method: 'POST',
        params: { sendUpdates: 'none' },
        data: {
          summary: `E${index}`,
          start: { dateTime: `2030-01-0${index + 1}T10:00:00Z` },
          end: { dateTime: `2030-01-0${index + 1}T11:00:00Z` },
        },
      });
    }
    const items: any[] = [];
    let pageToken: string | undefined;
    let syncToken: string | undefined;
    do {
      const page = await client.request<any>({
        url: `${root()}/calendars/primary/events`,
        params: { maxResults: 2, singleEvents: true, ...(pageToken ? { pageToken } : {}) },
      });
      items.push(...page.data.items);
      pageToken = page.data.nextPageToken;
      syncToken = page.data.nextSyncToken;
    } while (pageToken);
    expect(items.map((item) => item.summary)).toEqual(['E0', 'E1', 'E2', 'E3', 'E4']);

    const first = items[0];
    await client.request({
      url: `${root()}/calendars/primary/events/${first.id}`,
      method: 'PATCH',
      headers: { 'If-Match': first.etag },
      data: { summary: 'E0 edited' },
    });
    const stale = client.request({
      url: `${root()}/calendars/primary/events/${first.id}`,
      method: 'DELETE',
      headers: { 'If-Match': first.etag },
    });
    await expect(stale).rejects.toMatchObject({ status: 412 });
    const increment = await client.request<any>({
      url: `${root()}/calendars/primary/events`,
      params: { syncToken, singleEvents: true },
    });
    expect(increment.data.items.map((item: any) => item.summary)).toEqual(['E0 edited']);

    await control('/calendar/sync-tokens/invalidate', {});
    const gone = await client
      .request({
        url: `${root()}/calendars/primary/events`,
        params: { syncToken: increment.data.nextSyncToken },
      })
      .catch((error) => error);
    expect(gone.status).toBe(410);
    expect(gone.response.data.error.errors[0].reason).toBe('fullSyncRequired');
  });

  it('refreshes its access token after a 401 and retries', async () => {
    await control('/tokens/expire', {});
    const answer = await client.request<any>({ url: `${root()}/users/me/calendarList` });
    expect(answer.status).toBe(200);
    expect(answer.data.items[0]).toMatchObject({ id: 'gal@example.com', primary: true });
  });
});
