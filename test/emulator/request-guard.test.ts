import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestGuard } from '../../src/emulator/request-guard.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { authorize, authUrl, CLIENT, start, userinfo } from './oauth-helpers.js';
import { rawRequest } from './raw-request.js';

let emulator: RunningEmulator;
let port: string;

beforeAll(async () => {
  emulator = await start({ allowedHosts: ['emulator.test'] });
  port = new URL(emulator.url).port;
});
afterAll(async () => {
  await emulator?.close();
});

const url = (path: string) => `${emulator.url}${path}`;
const jsonPost = (headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: '{}',
});

/** Whether the state still holds what a reset would forget: the grant and its working token. */
async function stillThere(accessToken: string): Promise<boolean> {
  return (await userinfo(emulator.url, accessToken)).status === 200 && emulator.state.listGrants().length > 0;
}

describe('the control API refuses what a web page could send', () => {
  it.each([
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
    ['an Origin of another site', { origin: 'http://evil.example' }],
    ['Origin: null', { origin: 'null' }],
    // Sec-Fetch-Site decides when present, whatever Origin says.
    ['a cross-site Sec-Fetch-Site with our Origin', { 'sec-fetch-site': 'cross-site', origin: 'OWN' }],
  ])('POST /__emulator/reset with %s: 403, nothing reset', async (_name, headers) => {
    const tokens = await authorize(emulator.url, { login_hint: 'guard@example.com' });
    const sent = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, value === 'OWN' ? emulator.url : value]),
    );
    const answer = await rawRequest(url('/__emulator/reset'), jsonPost(sent));
    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({ error: 'forbidden', error_description: expect.any(String) });
    expect(await stillThere(tokens.access_token)).toBe(true);
  });

  it('guards GET too: the state holds every calendar', async () => {
    const answer = await rawRequest(url('/__emulator/calendar/state'), {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(answer.status).toBe(403);
    expect(answer.json.error).toBe('forbidden');
  });

  it('answers 415 to a body that is not JSON (what a form or a simple request sends), nothing reset', async () => {
    const tokens = await authorize(emulator.url, { login_hint: 'guard@example.com' });
    for (const headers of [
      { 'content-type': 'text/plain;charset=UTF-8' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      {},
    ]) {
      const answer = await rawRequest(url('/__emulator/reset'), { method: 'POST', headers, body: '{}' });
      expect(answer.status).toBe(415);
      expect(answer.json.error).toBe('unsupported_media_type');
    }
    const put = await rawRequest(url('/__emulator/calendar/calendars/guard@example.com/events/x'), {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(put.status).toBe(415);
    expect(await stillThere(tokens.access_token)).toBe(true);
  });

  it('passes the same origin, a typed-in address and plain Node fetch, with or without a body', async () => {
    for (const headers of [
      { 'sec-fetch-site': 'same-origin', origin: emulator.url },
      { 'sec-fetch-site': 'none' },
      { origin: emulator.url },
    ])
      expect((await rawRequest(url('/__emulator/stats'), { headers })).status).toBe(200);
    expect((await rawRequest(url('/__emulator/reset'), jsonPost({ origin: emulator.url }))).status).toBe(200);
    expect((await fetch(url('/__emulator/stats'))).status).toBe(200);
    // No body at all needs no content type.
    expect((await fetch(url('/__emulator/reset'), { method: 'POST' })).status).toBe(200);
    expect(
      (
        await fetch(url('/__emulator/reset'), {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: '{"clients": false}',
        })
      ).status,
    ).toBe(200);
  });
});

describe('the Host header (DNS rebinding)', () => {
  it('refuses another host on the control API and the web page', async () => {
    const tokens = await authorize(emulator.url, { login_hint: 'guard@example.com' });
    const control = await rawRequest(url('/__emulator/reset'), jsonPost({ host: `evil.example:${port}` }));
    expect(control.status).toBe(403);
    expect(control.json).toEqual({ error: 'forbidden', error_description: expect.stringContaining('evil') });
    expect((await rawRequest(url('/__emulator/stats'), { headers: { host: 'evil.example' } })).status).toBe(
      403,
    );
    const page = await rawRequest(url('/'), { headers: { host: `evil.example:${port}` } });
    expect(page.status).toBe(403);
    expect(page.type).toContain('text/html');
    expect(page.text).toContain('id="error"');
    const form = await rawRequest(url('/ui/accounts'), {
      method: 'POST',
      headers: { host: `evil.example:${port}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'email=x%40example.com',
    });
    expect(form.status).toBe(403);
    expect(
      (await rawRequest(url('/ui/calendars/x/events/y'), { headers: { host: 'evil.example' } })).status,
    ).toBe(403);
    expect(await stillThere(tokens.access_token)).toBe(true);
  });

  it('accepts loopback names on any port, and names given in allowedHosts', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'localhost',
      `[::1]:${port}`,
      `emulator.test:${port}`,
      'EMULATOR.TEST:1',
    ]) {
      expect((await rawRequest(url('/__emulator/stats'), { headers: { host } })).status, host).toBe(200);
      expect((await rawRequest(url('/'), { headers: { host } })).status, host).toBe(200);
    }
    // The cross-site check compares Origin with the Host the request names.
    const own = await rawRequest(url('/__emulator/stats'), {
      headers: { host: `emulator.test:${port}`, origin: `http://emulator.test:${port}` },
    });
    expect(own.status).toBe(200);
  });

  it('leaves the Google-like routes alone: the sidecar and browsers reach them under any name', async () => {
    const consent = await rawRequest(authUrl(emulator.url), { headers: { host: 'evil.example' } });
    expect(consent.status).toBe(200);
    expect(consent.text).toContain(CLIENT.clientId);
    const api = await rawRequest(url('/calendar/v3/users/me/calendarList'), {
      headers: { host: 'evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expect(api.status).toBe(401);
  });
});

describe('RequestGuard host names', () => {
  it('allows the bound address unless it is a wildcard', () => {
    const bound = new RequestGuard({ boundHost: '192.0.2.7' });
    expect(bound.hostAllowed('192.0.2.7:8766')).toBe(true);
    expect(bound.hostAllowed('192.0.2.8:8766')).toBe(false);
    const v6 = new RequestGuard({ boundHost: 'fd00::7' });
    expect(v6.hostAllowed('[fd00::7]:8766')).toBe(true);
    for (const wildcard of ['0.0.0.0', '::']) {
      const guard = new RequestGuard({ boundHost: wildcard });
      expect(guard.hostAllowed('0.0.0.0:8766')).toBe(false);
      expect(guard.hostAllowed('[::]:8766')).toBe(false);
      expect(guard.hostAllowed('127.0.0.1:8766')).toBe(true);
    }
  });

  it('refuses missing and malformed Host headers', () => {
    const guard = new RequestGuard({ allowedHosts: ['[fd00::1]', 'Name.Test'] });
    expect(guard.hostAllowed(undefined)).toBe(false);
    expect(guard.hostAllowed('')).toBe(false);
    expect(guard.hostAllowed('::1')).toBe(false);
    expect(guard.hostAllowed('localhost:80:80')).toBe(false);
    expect(guard.hostAllowed('localhost.evil.example')).toBe(false);
    expect(guard.hostAllowed('[fd00::1]')).toBe(true);
    expect(guard.hostAllowed('name.test:443')).toBe(true);
  });
});
