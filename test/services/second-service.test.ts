/**
 * Adding a Google service is one subclass and a field of `Services` (docs/services.md): a small
 * service written here, on the same base as the calendar, gets its token through the refresh
 * path, its calls paced and retried by the one policy, a fresh token after a 401, and the
 * documented errors, with nothing else to write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CredentialRef } from '../../src/credentials/context.js';
import { SidecarError } from '../../src/errors.js';
import { GoogleService, type GoogleSession } from '../../src/services/google-service.js';
import { consent, followRedirect } from '../support/consent.js';
import { type InProcessSidecar, startInProcess } from '../support/in-process.js';
import { call } from '../support/rpc.js';

const READONLY = 'https://www.googleapis.com/auth/calendar.readonly';

/** The number of calendars in the account's list: the smallest useful service. */
class CalendarCountService extends GoogleService<void, { calendars: number }> {
  readonly name: string = 'calendar-count';
  readonly scopes: readonly string[] = [READONLY];
  outcomes: string[] = [];

  protected async execute(session: GoogleSession): Promise<{ calendars: number }> {
    const list = await session.call('calendarList.list', async (options) => {
      const response = await fetch(`${session.apiRootUrl}calendar/v3/users/me/calendarList`, options);
      const body = await response.json();
      // The base turns such an answer into a GoogleError (status, reason, Retry-After).
      if (!response.ok)
        throw { response: { status: response.status, data: body, headers: response.headers } };
      return body as { items: unknown[] };
    });
    return { calendars: list.items.length };
  }

  protected override async recordSuccess() {
    this.outcomes.push('ok');
  }

  protected override async recordFailure(_ref: CredentialRef, _input: undefined, error: SidecarError) {
    this.outcomes.push(error.type);
  }
}

/** The same service asking for a scope the account never granted. */
class DriveService extends CalendarCountService {
  override readonly name = 'drive';
  override readonly scopes = ['https://www.googleapis.com/auth/drive'];
}

let stack: InProcessSidecar;
let ref: CredentialRef;
let service: CalendarCountService;

const control = (path: string, body: unknown) => stack.control(path, 'POST', body);

const calendarCalls = async () => {
  const stats = (await stack.control('/stats', 'GET')).calendar;
  return Object.values(stats as Record<string, number>).reduce((a, b) => a + b, 0);
};

beforeAll(async () => {
  stack = await startInProcess({ emulator: true });
  const redirect = `${stack.sidecar.url}/${stack.database}/google/callback`;
  await control('/clients', {
    client_id: 'count.apps',
    client_secret: 'test-secret-count',
    redirect_uris: [redirect],
  });
  const id = await stack.insertCredential({
    client_id: 'count.apps',
    client_secret: 'test-secret-count',
    redirect_uri: redirect,
    scopes: READONLY,
  });
  const request = await call(stack.sidecar.url, 'credentials.request_authorization', {
    database: stack.database,
    credential_id: id,
  });
  const { redirect: back } = await consent(request.result.authorization_url, {
    email: 'counter@example.com',
  });
  expect((await followRedirect(back)).status).toBe(200);
  ref = { database: stack.database, db: stack.db, id };
  service = new CalendarCountService(stack.sidecar.serviceContext);
});

afterAll(async () => {
  await stack?.stop();
});

describe('a service added by subclassing GoogleService', () => {
  it('runs with a token the base obtained', async () => {
    expect(await service.run(ref)).toEqual({ calendars: 1 });
    expect(service.outcomes).toEqual(['ok']);
  });

  it('has its calls retried by the one policy and re-authenticated after a 401', async () => {
    await control('/failures', { endpoint: 'calendar', status: 503, count: 2 });
    expect(await service.run(ref)).toEqual({ calendars: 1 });
    await control('/tokens/expire', { email: 'counter@example.com' });
    expect(await service.run(ref)).toEqual({ calendars: 1 });
  });

  it('refuses, without calling Google, when its scope was not granted, and records it', async () => {
    const drive = new DriveService(stack.sidecar.serviceContext);
    const calls = await calendarCalls();
    const error = await drive.run(ref).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SidecarError);
    expect((error as SidecarError).type).toBe('scope_not_granted');
    expect((error as SidecarError).message).toMatch(/Re-authorize/);
    expect(drive.outcomes).toEqual(['scope_not_granted']);
    expect(await calendarCalls()).toBe(calls);
  });
});
