import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { emulatorEndpoints } from '../../src/emulator/server.js';
import { authorize, authUrl, CLIENT, postJson, refresh, start, userinfo } from './oauth-helpers.js';

let emulator: RunningEmulator;
const control = (path: string) => `${emulator.url}/__emulator${path}`;
const stats = async () => (await fetch(control('/stats'))).json();

beforeAll(async () => {
  emulator = await start();
});
afterEach(async () => {
  await postJson(control('/reset'), {});
});
afterAll(async () => {
  await emulator?.close();
});

describe('emulatorEndpoints', () => {
  it('points every sidecar variable at the emulator', () => {
    expect(emulatorEndpoints('http://127.0.0.1:4000')).toEqual({
      GOOGLE_AUTH_URL: 'http://127.0.0.1:4000/o/oauth2/v2/auth',
      GOOGLE_TOKEN_URL: 'http://127.0.0.1:4000/token',
      GOOGLE_REVOKE_URL: 'http://127.0.0.1:4000/revoke',
      GOOGLE_USERINFO_URL: 'http://127.0.0.1:4000/v1/userinfo',
      GOOGLE_API_ROOT_URL: 'http://127.0.0.1:4000/',
    });
  });

  it('binds to 127.0.0.1 by default', () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('POST /__emulator/clients', () => {
  it('registers a client that can then start a consent', async () => {
    const registered = await postJson(control('/clients'), {
      client_id: 'new-client',
      client_secret: 'new-secret',
      redirect_uris: ['http://127.0.0.1:1/cb'],
    });
    expect(registered.status).toBe(201);
    const page = await fetch(
      authUrl(emulator.url, { client_id: 'new-client', redirect_uri: 'http://127.0.0.1:1/cb' }),
    );
    expect(page.status).toBe(200);
    const listed = await (await fetch(control('/clients'))).json();
    expect(JSON.stringify(listed)).not.toContain('new-secret');
  });

  it('answers 400 with the issues for a bad body', async () => {
    const answer = await postJson(control('/clients'), { client_id: '', redirect_uris: ['not a url'] });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_request');
    expect(answer.body.issues.map((issue: { path: string }) => issue.path)).toEqual(
      expect.arrayContaining(['client_id', 'client_secret', 'redirect_uris.0']),
    );
  });
});

describe('POST /__emulator/grants/revoke', () => {
  it('revokes matching grants: refresh answers invalid_grant', async () => {
    const jan = await authorize(emulator.url, { login_hint: 'jan@example.com' });
    const kim = await authorize(emulator.url, { login_hint: 'kim@example.com' });
    const answer = await postJson(control('/grants/revoke'), { email: 'jan@example.com' });
    expect(answer.body.revoked).toBe(2);
    expect((await refresh(emulator.url, jan.refresh_token ?? '')).body.error).toBe('invalid_grant');
    expect((await userinfo(emulator.url, jan.access_token)).status).toBe(401);
    expect((await refresh(emulator.url, kim.refresh_token ?? '')).status).toBe(200);
  });
});

describe('POST /__emulator/tokens/expire', () => {
  it('expires access tokens; their refresh tokens still work', async () => {
    const tokens = await authorize(emulator.url);
    const answer = await postJson(control('/tokens/expire'), { client_id: CLIENT.clientId });
    expect(answer.body.expired).toBe(1);
    expect((await userinfo(emulator.url, tokens.access_token)).status).toBe(401);
    const renewed = await refresh(emulator.url, tokens.refresh_token ?? '');
    expect(renewed.status).toBe(200);
    expect((await userinfo(emulator.url, renewed.body.access_token)).status).toBe(200);
  });
});

describe('POST /__emulator/failures', () => {
  it('fails the next N calls, counts them, then behaves normally', async () => {
    const tokens = await authorize(emulator.url);
    const queued = await postJson(control('/failures'), { endpoint: 'token', status: 503, count: 2 });
    expect(queued.body.pending).toEqual({ token: 2 });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const failed = await refresh(emulator.url, tokens.refresh_token ?? '');
      expect(failed.status).toBe(503);
      expect(failed.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(failed.body.error).toBe('temporarily_unavailable');
    }
    expect((await refresh(emulator.url, tokens.refresh_token ?? '')).status).toBe(200);
    expect(await stats()).toEqual({
      auth: 1,
      token: { authorization_code: 1, refresh_token: 3 },
      revoke: 0,
      userinfo: 0,
      calendar: {},
      people: {},
    });
  });

  it('answers 429 with Retry-After, and a custom body and headers when given', async () => {
    const tokens = await authorize(emulator.url);
    await postJson(control('/failures'), { endpoint: 'userinfo', status: 429, count: 1 });
    await postJson(control('/failures'), {
      endpoint: 'userinfo',
      status: 500,
      count: 1,
      body: { custom: true },
      headers: { 'X-Test': 'yes' },
    });
    const limited = await userinfo(emulator.url, tokens.access_token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body.error.status).toBe('RESOURCE_EXHAUSTED');
    const custom = await userinfo(emulator.url, tokens.access_token);
    expect(custom.status).toBe(500);
    expect(custom.headers.get('x-test')).toBe('yes');
    expect(custom.body).toEqual({ custom: true });
    expect((await userinfo(emulator.url, tokens.access_token)).status).toBe(200);
  });

  it('refuses an unknown endpoint name', async () => {
    expect((await postJson(control('/failures'), { endpoint: 'nope', status: 503 })).status).toBe(400);
  });
});

describe('POST /__emulator/latency', () => {
  // Delays far above a loaded machine's own slowness, so that "not delayed" cannot be mistaken.
  it('delays calls of one endpoint, then none once set back to 0', async () => {
    await postJson(control('/latency'), { ms: 2_000, endpoint: 'revoke' });
    const timed = async (url: string, init?: RequestInit) => {
      const started = performance.now();
      await (await fetch(url, init)).text();
      return performance.now() - started;
    };
    expect(await timed(`${emulator.url}/revoke`, { method: 'POST' })).toBeGreaterThanOrEqual(1_990);
    expect(await timed(`${emulator.url}/v1/userinfo`)).toBeLessThan(1_000);
    await postJson(control('/latency'), { ms: 0, endpoint: 'revoke' });
    await postJson(control('/latency'), { ms: 1_500 });
    expect(await timed(`${emulator.url}/v1/userinfo`)).toBeGreaterThanOrEqual(1_490);
  });
});

describe('POST /__emulator/reset', () => {
  it('forgets tokens, stats, failures and latency but keeps clients', async () => {
    const tokens = await authorize(emulator.url);
    await postJson(control('/failures'), { endpoint: 'userinfo', status: 503, count: 5 });
    await postJson(control('/latency'), { ms: 3_000 });
    const reset = await postJson(control('/reset'), {});
    expect(reset.status).toBe(200);
    expect(await stats()).toEqual({
      auth: 0,
      token: { authorization_code: 0, refresh_token: 0 },
      revoke: 0,
      userinfo: 0,
      calendar: {},
      people: {},
    });
    const started = performance.now();
    expect((await userinfo(emulator.url, tokens.access_token)).status).toBe(401);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect((await fetch(authUrl(emulator.url))).status).toBe(200);
  });

  it('forgets clients too with {clients: true}', async () => {
    await postJson(control('/reset'), { clients: true });
    expect((await fetch(authUrl(emulator.url))).status).toBe(400);
    emulator.state.registerClient(CLIENT);
  });
});

describe('control API isolation', () => {
  it('is not counted, delayed or failed', async () => {
    await postJson(control('/failures'), { endpoint: 'auth', status: 503, count: 1 });
    await postJson(control('/latency'), { ms: 2_000 });
    const started = performance.now();
    expect((await fetch(control('/stats'))).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('can be left out', async () => {
    const bare = await start({ controlApi: false });
    try {
      expect((await fetch(`${bare.url}/__emulator/stats`)).status).toBe(404);
    } finally {
      await bare.close();
    }
  });
});
