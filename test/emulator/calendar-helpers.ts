/**
 * Drives the emulated Calendar v3 over HTTP as a client does: tokens come from the emulator's own OAuth
 * flow (consent -> code -> token), API calls and control calls are plain fetches.
 */
import type { EmulatorOptions } from '../../src/emulator/server.js';
import {
  accessToken,
  allPages,
  type ApiHarness,
  apiCall,
  CALENDAR,
  controlRequest,
  start,
} from './oauth-helpers.js';

export const SCOPE = {
  calendar: CALENDAR,
  readonly: 'https://www.googleapis.com/auth/calendar.readonly',
  events: 'https://www.googleapis.com/auth/calendar.events',
};

/** Tokens default to the full calendar scope; control calls are under `/__emulator/calendar`. */
export interface CalendarHarness extends ApiHarness {
  /** Every page of an events listing, following nextPageToken; the query is repeated on each page. */
  listAll(
    token: string,
    calendarId: string,
    query?: Record<string, string>,
  ): Promise<{ items: any[]; pages: any[]; nextSyncToken: string }>;
}

export async function startCalendar(options: EmulatorOptions = {}): Promise<CalendarHarness> {
  const emulator = await start(options);
  const api: CalendarHarness['api'] = (token, method, path, callOptions) =>
    apiCall(`${emulator.url}/calendar/v3`, token, method, path, callOptions);
  return {
    emulator,
    token: (email, scopes = [SCOPE.calendar]) => accessToken(emulator.url, email, scopes),
    api,
    control: (method, path, body) => controlRequest(emulator.url, method, `/calendar${path}`, body),
    listAll: async (token, calendarId, query = {}) => {
      const pages = await allPages((pageToken) =>
        api(token, 'GET', `/calendars/${encodeURIComponent(calendarId)}/events`, {
          query: { ...query, ...(pageToken ? { pageToken } : {}) },
        }),
      );
      return {
        items: pages.flatMap((page) => page.items),
        pages,
        nextSyncToken: pages.at(-1)?.nextSyncToken,
      };
    },
    close: () => emulator.close(),
  };
}

export function timed(summary: string, start: string, end: string, extra: Record<string, unknown> = {}) {
  return { summary, start: { dateTime: start }, end: { dateTime: end }, ...extra };
}
