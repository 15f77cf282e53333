import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import {
  authorize,
  authUrl,
  CALENDAR,
  CLIENT,
  consent,
  exchangeCode,
  pkcePair,
  postForm,
  refresh,
  start,
  USERINFO_EMAIL,
  userinfo,
} from './oauth-helpers.js';

let emulator: RunningEmulator;
let now = Date.now();

beforeAll(async () => {
  emulator = await start({ now: () => now });
});
afterAll(async () => {
  await emulator?.close();
});

async function codeFor(overrides: Record<string, string | undefined> = {}, email?: string) {
  const { verifier, challenge } = pkcePair();
  const location = await consent(
    authUrl(emulator.url, { code_challenge: challenge, code_challenge_method: 'S256', ...overrides }),
    emulator.url,
    email === undefined ? {} : { email },
  );
  return { code: location.searchParams.get('code') ?? '', verifier };
}

describe('authorization_code grant', () => {
  it('exchanges a code with the right S256 verifier for Google-shaped tokens', async () => {
    const { code, verifier } = await codeFor({}, 'dana@example.com');
    const answer = await exchangeCode(emulator.url, code, verifier);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toEqual({
      access_token: expect.stringMatching(/^ya29\./),
      expires_in: 3599,
      refresh_token: expect.stringMatching(/^1\/\//),
      scope: `openid ${USERINFO_EMAIL} ${CALENDAR}`,
      token_type: 'Bearer',
      id_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
    });
    const claims = JSON.parse(Buffer.from(answer.body.id_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({
      iss: 'https://accounts.google.com',
      aud: CLIENT.clientId,
      email: 'dana@example.com',
      email_verified: true,
      sub: expect.stringMatching(/^\d{21}$/),
    });
  });

  it('lists what it issued, for leak checks', async () => {
    const tokens = await authorize(emulator.url);
    expect(emulator.state.issuedSecrets()).toEqual(
      expect.arrayContaining([tokens.access_token, tokens.refresh_token]),
    );
  });

  it('gives no refresh token to access_type=online', async () => {
    const tokens = await authorize(emulator.url, { access_type: 'online' });
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.access_token).toMatch(/^ya29\./);
  });

  it('accepts plain PKCE and no PKCE at all', async () => {
    const verifier = pkcePair().verifier;
    const plain = await consent(authUrl(emulator.url, { code_challenge: verifier }), emulator.url);
    expect((await exchangeCode(emulator.url, plain.searchParams.get('code') ?? '', verifier)).status).toBe(
      200,
    );
    const none = await consent(authUrl(emulator.url), emulator.url);
    expect((await exchangeCode(emulator.url, none.searchParams.get('code') ?? '', undefined)).status).toBe(
      200,
    );
  });

  it('refuses a missing verifier, then a wrong one, and still accepts the right one', async () => {
    const { code, verifier } = await codeFor();
    const missing = await exchangeCode(emulator.url, code, undefined);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ error: 'invalid_grant', error_description: 'Missing code verifier.' });
    const wrong = await exchangeCode(emulator.url, code, pkcePair().verifier);
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'Invalid code verifier.' });
    expect((await exchangeCode(emulator.url, code, verifier)).status).toBe(200);
  });

  it('refuses a redirect_uri other than the one used at /auth', async () => {
    const { code, verifier } = await codeFor();
    const answer = await exchangeCode(emulator.url, code, verifier, { redirect_uri: CLIENT.redirectUris[1] });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'redirect_uri_mismatch', error_description: 'Bad Request' });
  });

  it('refuses a reused code and revokes the tokens the first exchange issued', async () => {
    const { code, verifier } = await codeFor();
    const first = await exchangeCode(emulator.url, code, verifier);
    expect(first.status).toBe(200);
    const second = await exchangeCode(emulator.url, code, verifier);
    expect(second.status).toBe(400);
    expect(second.body).toEqual({ error: 'invalid_grant', error_description: 'Bad Request' });
    expect((await userinfo(emulator.url, first.body.access_token)).status).toBe(401);
    expect((await refresh(emulator.url, first.body.refresh_token)).body).toEqual({
      error: 'invalid_grant',
      error_description: 'Token has been expired or revoked.',
    });
  });

  it('refuses a code after its lifetime (moved clock)', async () => {
    const { code, verifier } = await codeFor();
    now += 601_000;
    const answer = await exchangeCode(emulator.url, code, verifier);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_grant');
  });

  it('refuses a code after a tiny configured lifetime (real clock)', async () => {
    const short = await start({ codeTtlSeconds: 0.05 });
    try {
      const { verifier, challenge } = pkcePair();
      const location = await consent(
        authUrl(short.url, { code_challenge: challenge, code_challenge_method: 'S256' }),
        short.url,
      );
      await sleep(100);
      const answer = await exchangeCode(short.url, location.searchParams.get('code') ?? '', verifier);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: 'invalid_grant', error_description: 'Bad Request' });
    } finally {
      await short.close();
    }
  });

  it('refuses an unknown code', async () => {
    const answer = await exchangeCode(emulator.url, 'not-a-code', 'x'.repeat(43));
    expect(answer.body).toEqual({ error: 'invalid_grant', error_description: 'Malformed auth code.' });
  });
});

describe('client authentication', () => {
  it('answers 401 invalid_client for an unknown client', async () => {
    const { code, verifier } = await codeFor();
    const answer = await exchangeCode(emulator.url, code, verifier, { client_id: 'unknown-client' });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      error: 'invalid_client',
      error_description: 'The OAuth client was not found.',
    });
  });

  it('answers 401 invalid_client for a wrong secret', async () => {
    const { code, verifier } = await codeFor();
    const answer = await exchangeCode(emulator.url, code, verifier, { client_secret: 'wrong' });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'invalid_client', error_description: 'Unauthorized' });
  });

  it('accepts HTTP Basic client authentication', async () => {
    const { code, verifier } = await codeFor();
    const basic = Buffer.from(
      `${encodeURIComponent(CLIENT.clientId)}:${encodeURIComponent(CLIENT.clientSecret)}`,
    ).toString('base64');
    const answer = await postForm(
      `${emulator.url}/token`,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CLIENT.redirectUris[0] ?? '',
        code_verifier: verifier,
      },
      { authorization: `Basic ${basic}` },
    );
    expect(answer.status).toBe(200);
  });

  it('refuses a code issued to another client', async () => {
    emulator.state.registerClient({
      clientId: 'other',
      clientSecret: 'other-secret',
      redirectUris: ['http://o/cb'],
    });
    const { code, verifier } = await codeFor();
    const answer = await exchangeCode(emulator.url, code, verifier, {
      client_id: 'other',
      client_secret: 'other-secret',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('invalid_grant');
  });
});

describe('refresh_token grant', () => {
  it('issues a new access token, without a new refresh token', async () => {
    const tokens = await authorize(emulator.url);
    const answer = await refresh(emulator.url, tokens.refresh_token ?? '');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toEqual({
      access_token: expect.stringMatching(/^ya29\./),
      expires_in: 3599,
      scope: tokens.scope,
      token_type: 'Bearer',
      id_token: expect.any(String),
    });
    expect(answer.body.access_token).not.toBe(tokens.access_token);
    expect((await userinfo(emulator.url, answer.body.access_token)).status).toBe(200);
    expect((await userinfo(emulator.url, tokens.access_token)).status).toBe(200);
  });

  it('refuses an unknown refresh token', async () => {
    const answer = await refresh(emulator.url, '1//unknown');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: 'invalid_grant',
      error_description: 'Token has been expired or revoked.',
    });
  });

  it('refuses a refresh token of another client', async () => {
    const tokens = await authorize(emulator.url);
    const answer = await postForm(`${emulator.url}/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
      client_id: 'other',
      client_secret: 'other-secret',
    });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('unauthorized_client');
  });

  it('adds earlier grants with include_granted_scopes=true, not without', async () => {
    await authorize(emulator.url, { scope: `openid email ${CALENDAR}`, login_hint: 'erin@example.com' });
    const narrow = 'https://www.googleapis.com/auth/drive.file';
    const included = await authorize(emulator.url, {
      scope: `openid ${narrow}`,
      login_hint: 'erin@example.com',
    });
    expect(included.scope.split(' ').sort()).toEqual(['openid', narrow, USERINFO_EMAIL, CALENDAR].sort());
    const alone = await authorize(emulator.url, {
      scope: `openid ${narrow}`,
      login_hint: 'erin@example.com',
      include_granted_scopes: 'false',
    });
    expect(alone.scope).toBe(`openid ${narrow}`);
  });
});

describe('other grants', () => {
  it('answers unsupported_grant_type', async () => {
    const answer = await postForm(`${emulator.url}/token`, {
      grant_type: 'password',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe('unsupported_grant_type');
  });
});
