import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { authorize, CALENDAR, postForm, refresh, start, userinfo } from './oauth-helpers.js';

let emulator: RunningEmulator;
let now = Date.now();

beforeAll(async () => {
  emulator = await start({ now: () => now });
});
afterAll(async () => {
  await emulator?.close();
});

describe('POST /revoke', () => {
  it('revokes the grant through its refresh token; a second revoke is invalid_token', async () => {
    const tokens = await authorize(emulator.url);
    const answer = await postForm(`${emulator.url}/revoke`, { token: tokens.refresh_token ?? '' });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({});
    expect((await refresh(emulator.url, tokens.refresh_token ?? '')).body).toEqual({
      error: 'invalid_grant',
      error_description: 'Token has been expired or revoked.',
    });
    expect((await userinfo(emulator.url, tokens.access_token)).status).toBe(401);
    const again = await postForm(`${emulator.url}/revoke`, { token: tokens.refresh_token ?? '' });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: 'invalid_token', error_description: 'Token expired or revoked' });
  });

  it('revokes the whole grant through an access token given in the query', async () => {
    const tokens = await authorize(emulator.url);
    const answer = await fetch(`${emulator.url}/revoke?token=${encodeURIComponent(tokens.access_token)}`, {
      method: 'POST',
    });
    expect(answer.status).toBe(200);
    expect((await refresh(emulator.url, tokens.refresh_token ?? '')).status).toBe(400);
  });

  it('revokes every token of that client and user, and only those', async () => {
    const first = await authorize(emulator.url, { login_hint: 'fay@example.com' });
    const second = await authorize(emulator.url, { login_hint: 'fay@example.com' });
    const other = await authorize(emulator.url, { login_hint: 'gus@example.com' });
    await postForm(`${emulator.url}/revoke`, { token: first.refresh_token ?? '' });
    expect((await refresh(emulator.url, second.refresh_token ?? '')).status).toBe(400);
    expect((await refresh(emulator.url, other.refresh_token ?? '')).status).toBe(200);
  });

  it('answers an unknown token with invalid_token', async () => {
    const answer = await postForm(`${emulator.url}/revoke`, { token: 'ya29.unknown' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_token');
  });
});

describe('GET /v1/userinfo', () => {
  it('answers sub, email and email_verified at both paths', async () => {
    const tokens = await authorize(emulator.url, { login_hint: 'hal@example.com' });
    for (const path of ['/v1/userinfo', '/oauth2/v3/userinfo']) {
      const answer = await userinfo(emulator.url, tokens.access_token, path);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        sub: expect.stringMatching(/^\d{21}$/),
        email: 'hal@example.com',
        email_verified: true,
      });
    }
  });

  it('gives the same sub to the same account every time', async () => {
    const one = await authorize(emulator.url, { login_hint: 'ida@example.com' });
    const two = await authorize(emulator.url, { login_hint: 'ida@example.com' });
    const subOf = async (token: string) => (await userinfo(emulator.url, token)).body.sub;
    expect(await subOf(one.access_token)).toBe(await subOf(two.access_token));
  });

  it('leaves the email out when no email scope was granted', async () => {
    const tokens = await authorize(emulator.url, { scope: `openid ${CALENDAR}` });
    const answer = await userinfo(emulator.url, tokens.access_token);
    expect(answer.body).toEqual({ sub: expect.any(String) });
  });

  it.each([
    ['no token', undefined],
    ['an unknown token', 'ya29.nope'],
  ])('answers 401 Invalid Credentials with %s', async (_label, token) => {
    const answer = await fetch(`${emulator.url}/v1/userinfo`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await answer.json()).toEqual({
      error: 'invalid_request',
      error_description: 'Invalid Credentials',
    });
  });

  it('refuses an access token after expires_in, while its refresh token still works', async () => {
    const tokens = await authorize(emulator.url);
    now += 3599_000;
    expect((await userinfo(emulator.url, tokens.access_token)).status).toBe(401);
    const renewed = await refresh(emulator.url, tokens.refresh_token ?? '');
    expect((await userinfo(emulator.url, renewed.body.access_token)).status).toBe(200);
  });
});
