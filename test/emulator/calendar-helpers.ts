/**
 * Drives the emulated Calendar v3 over HTTP as a client does: tokens come from the emulator's own OAuth
 * flow (consent -> code -> token), API calls and control calls are plain fetches.
 */
import type { EmulatorOptions, RunningEmulator } from '../../src/emulator/server.js';
import { authorize, CALENDAR, start } from './oauth-helpers.js';

export const SCOPE = {
  calendar: CALENDAR,
  readonly: 'https://www.googleapis.com/auth/calendar.readonly',
  events: 'https://www.googleapis.com/auth/calendar.events',
};

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

export interface CalendarHarness {
  readonly emulator: RunningEmulator;
  /** An access token of `email` for `scopes` (default the full calendar scope), through the consent flow. */
  token(email: string, scopes?: readonly string[]): Promise<string>;
  api(token: string | undefined, method: string, path: string, options?: CallOptions): Promise<Answer>;
  control(method: string, path: string, body?: unknown): Promise<Answer>;
  /** Every page of an events listing, following nextPageToken; the query is repeated on each page. */
  listAll(
    token: string,
    calendarId: string,
    query?: Record<string, string>,
  ): Promise<{ items: any[]; pages: any[]; nextSyncToken: string }>;
  close(): Promise<void>;
}

export interface CallOptions {
  readonly query?: Record<string, string | string[]>;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export async function startCalendar(options: EmulatorOptions = {}): Promise<CalendarHarness> {
  const emulator = await start(options);
  const call = async (method: string, url: string, body: unknown, headers: Record<string, string>) => {
    const answer = await fetch(url, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await answer.text();
    return { status: answer.status, headers: answer.headers, body: text ? JSON.parse(text) : undefined };
  };
  const api: CalendarHarness['api'] = (token, method, path, callOptions = {}) => {
    const url = new URL(`${emulator.url}/calendar/v3${path}`);
    for (const [name, value] of Object.entries(callOptions.query ?? {}))
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item);
    return call(method, url.toString(), callOptions.body, {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...callOptions.headers,
    });
  };
  return {
    emulator,
    token: async (email, scopes = [SCOPE.calendar]) =>
      (await authorize(emulator.url, { login_hint: email, scope: `openid email ${scopes.join(' ')}` }))
        .access_token,
    api,
    control: (method, path, body) =>
      call(
        method,
        `${emulator.url}/__emulator/calendar${path}`,
        body ?? (method === 'GET' ? undefined : {}),
        {},
      ),
    listAll: async (token, calendarId, query = {}) => {
      const pages: any[] = [];
      let pageToken: string | undefined;
      do {
        const answer = await api(token, 'GET', `/calendars/${encodeURIComponent(calendarId)}/events`, {
          query: { ...query, ...(pageToken ? { pageToken } : {}) },
        });
        if (answer.status !== 200)
          throw new Error(`list answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        pages.push(answer.body);
        pageToken = answer.body.nextPageToken;
      } while (pageToken);
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
