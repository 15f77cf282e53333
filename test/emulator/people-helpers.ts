/**
 * Drives the emulated People API over HTTP as a client does: tokens come from the emulator's own OAuth
 * flow (consent -> code -> token), API calls, control calls and the clock are plain fetches.
 */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { EmulatorOptions, RunningEmulator } from '../../src/emulator/server.js';
import {
  type Answer,
  accessToken,
  allPages,
  type ApiHarness,
  apiCall,
  controlRequest,
  type Query,
  start,
} from './oauth-helpers.js';

export const CONTACTS = 'https://www.googleapis.com/auth/contacts';
export const CONTACTS_READONLY = 'https://www.googleapis.com/auth/contacts.readonly';
export const FIELDS =
  'metadata,names,emailAddresses,phoneNumbers,addresses,organizations,urls,memberships,clientData';
export const DAY_MS = 86_400_000;

/**
 * Tokens default to the contacts scope; control calls are under `/__emulator` (`/people/...`, `/failures`,
 * `/clock`, ...).
 */
export interface PeopleHarness extends ApiHarness {
  readonly url: string;
  /** Every page of a connections listing; the query is repeated on each page, as Google requires. */
  listAll(
    token: string,
    query?: Query,
  ): Promise<{ people: any[]; pages: any[]; nextSyncToken: string | undefined }>;
  advance(ms: number): Promise<void>;
  /** Seeds contacts through the control API (visible at once); answers them as rendered. */
  seed(email: string, contacts: unknown[]): Promise<any[]>;
}

export async function startPeople(options: EmulatorOptions = {}): Promise<PeopleHarness> {
  const emulator = await start(options);
  return harnessOf(() => emulator);
}

/** A test file's harness (see usePeople): the People harness and the access token of its account. */
export interface PeopleSession extends PeopleHarness {
  /** An access token of the session's account (contacts scope), taken afresh before each test. */
  accessToken: string;
}

/**
 * The set-up of a test file on one account: an emulator started before its tests and closed after them,
 * a fresh access token of `email` before each test, and the global reset after each.
 */
export function usePeople(email: string): PeopleSession {
  let emulator: RunningEmulator | undefined;
  const session: PeopleSession = Object.assign(
    harnessOf(() => {
      if (!emulator) throw new Error('the emulator runs only while the tests do');
      return emulator;
    }),
    { accessToken: '' },
  );
  beforeAll(async () => {
    emulator = await start();
  });
  beforeEach(async () => {
    session.accessToken = await session.token(email);
  });
  afterEach(async () => {
    await session.control('POST', '/reset');
  });
  afterAll(async () => {
    await emulator?.close();
  });
  return session;
}

/** The harness over the emulator `running` answers (started now, or by a test hook later). */
function harnessOf(running: () => RunningEmulator): PeopleHarness {
  const api: PeopleHarness['api'] = (token, method, path, callOptions) =>
    apiCall(`${running().url}/v1`, token, method, path, callOptions);
  const control: PeopleHarness['control'] = (method, path, body) =>
    controlRequest(running().url, method, path, body);
  return {
    get emulator() {
      return running();
    },
    get url() {
      return running().url;
    },
    token: (email, scopes = [CONTACTS]) => accessToken(running().url, email, scopes),
    api,
    control,
    listAll: async (token, query = {}) => {
      const pages = await allPages((pageToken) =>
        api(token, 'GET', '/people/me/connections', {
          query: { personFields: FIELDS, ...query, ...(pageToken ? { pageToken } : {}) },
        }),
      );
      return {
        people: pages.flatMap((page) => page.connections ?? []),
        pages,
        nextSyncToken: pages.at(-1)?.nextSyncToken,
      };
    },
    advance: async (ms) => {
      const answer = await control('POST', '/clock', { advance_ms: ms });
      if (answer.status !== 200) throw new Error(`clock answered ${answer.status}`);
    },
    seed: async (email, contacts) => {
      const answer = await control('POST', `/people/accounts/${encodeURIComponent(email)}/contacts`, {
        contacts,
      });
      if (answer.status !== 201)
        throw new Error(`seed answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      return answer.body.items;
    },
    close: () => running().close(),
  };
}

/** Google's error shape, reduced to what clients branch on. */
export function errorOf(answer: Answer): { code: number; status: string; reason: string; message: string } {
  const error = answer.body?.error ?? {};
  return {
    code: error.code,
    status: error.status,
    reason: error.details?.find(
      (detail: any) => detail['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo',
    )?.reason,
    message: error.message,
  };
}

export const person = (name: string, extra: Record<string, unknown> = {}) => ({
  names: [{ unstructuredName: name }],
  ...extra,
});
