import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import {
  authUrl,
  CALENDAR,
  CLIENT,
  consent,
  parseConsentForm,
  pkcePair,
  REDIRECT_URI,
  start,
  USERINFO_EMAIL,
} from './oauth-helpers.js';

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await start();
});
afterAll(async () => {
  await emulator?.close();
});

describe('GET /o/oauth2/v2/auth', () => {
  it('renders the consent form for a registered client', async () => {
    const answer = await fetch(
      authUrl(emulator.url, { code_challenge: pkcePair().challenge, login_hint: 'ann@example.com' }),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
    expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await answer.text();
    expect(html).toContain(CLIENT.clientId);
    const form = parseConsentForm(html);
    expect(form.method).toBe('post');
    expect(form.action).toBe('/o/oauth2/v2/auth/decision');
    const byName = (name: string) => form.fields.filter((field) => field.name === name);
    expect(byName('email')[0]?.value).toBe('ann@example.com');
    expect(byName('request')[0]?.value).toMatch(/^req_/);
    expect(byName('scope').map((field) => [field.value, field.checked])).toEqual([
      ['openid', true],
      ['email', true],
      [CALENDAR, true],
    ]);
    expect(byName('decision').map((field) => field.value)).toEqual(['allow', 'deny']);
    // The pending request lives server-side: the page does not carry the parameters in the form.
    expect(html).not.toContain('state-123');
    expect(html).not.toContain(CLIENT.clientSecret);
  });

  it('keeps the markup other tests read with regular expressions (test/support/consent.ts)', async () => {
    const html = await (await fetch(authUrl(emulator.url))).text();
    expect(html).toMatch(/<form id="consent" method="post" action="\/o\/oauth2\/v2\/auth\/decision">/);
    expect(html).toMatch(/<input type="hidden" name="request" value="req_[\w-]+">/);
    expect(html).toContain(`<input type="checkbox" id="scope-2" name="scope" value="${CALENDAR}" checked>`);
    expect(html).toContain(
      '<input type="checkbox" id="scope-0" name="scope" value="openid" checked disabled>',
    );
  });

  it('escapes what it echoes', async () => {
    const answer = await fetch(authUrl(emulator.url, { scope: 'openid <script>alert(1)</script>' }));
    const html = await answer.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;');
  });

  it('shows an error page, not a redirect, for an unknown client', async () => {
    const answer = await fetch(authUrl(emulator.url, { client_id: 'nobody' }), { redirect: 'manual' });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('location')).toBeNull();
    expect(await answer.text()).toContain('Error 400: invalid_client');
  });

  it('shows "Error 400: redirect_uri_mismatch" for an unregistered redirect URI', async () => {
    const answer = await fetch(authUrl(emulator.url, { redirect_uri: 'http://evil.example/cb' }), {
      redirect: 'manual',
    });
    expect(answer.status).toBe(400);
    expect(answer.headers.get('location')).toBeNull();
    const html = await answer.text();
    expect(html).toContain('Error 400: redirect_uri_mismatch');
    expect(html).toContain('http://evil.example/cb');
  });

  it.each([
    ['no scope', { scope: undefined }],
    ['no response_type', { response_type: undefined }],
    ['response_type=token', { response_type: 'token' }],
    [
      'an unknown code_challenge_method',
      { code_challenge: pkcePair().challenge, code_challenge_method: 'S512' },
    ],
  ])('redirects with error=invalid_request for %s', async (_label, overrides) => {
    const answer = await fetch(authUrl(emulator.url, overrides), { redirect: 'manual' });
    expect(answer.status).toBe(302);
    const location = new URL(answer.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('state')).toBe('state-123');
  });
});

describe('the decision', () => {
  it('allow redirects with code, state, granted scope, authuser and prompt', async () => {
    const location = await consent(authUrl(emulator.url), emulator.url);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('code')).toMatch(/^4\//);
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.get('scope')).toBe(`openid ${USERINFO_EMAIL} ${CALENDAR}`);
    expect(location.searchParams.get('authuser')).toBe('0');
    expect(location.searchParams.get('prompt')).toBe('consent');
    expect(location.search).toContain('scope=openid%20'); // Google writes spaces as %20
  });

  it('keeps a query string the redirect URI already has', async () => {
    const location = await consent(
      authUrl(emulator.url, { redirect_uri: 'http://localhost:9999/cb?x=1' }),
      emulator.url,
    );
    expect(location.searchParams.get('x')).toBe('1');
    expect(location.searchParams.get('code')).toMatch(/^4\//);
  });

  it('deny redirects with error=access_denied and the state, without a code', async () => {
    const location = await consent(authUrl(emulator.url), emulator.url, { decision: 'deny' });
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('state-123');
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('leaves an unticked scope out of the grant, but never the sign-in scopes', async () => {
    const location = await consent(authUrl(emulator.url), emulator.url, {
      untick: [CALENDAR, 'openid', 'email'],
      email: 'bob@example.com',
    });
    expect(location.searchParams.get('scope')).toBe(`openid ${USERINFO_EMAIL}`);
  });

  it('answers one decision per consent page', async () => {
    const page = await fetch(authUrl(emulator.url));
    const form = parseConsentForm(await page.text());
    const requestId = form.fields.find((field) => field.name === 'request')?.value ?? '';
    const post = () =>
      fetch(`${emulator.url}${form.action}`, {
        method: 'POST',
        body: new URLSearchParams({ request: requestId, email: 'a@example.com', decision: 'allow' }),
        redirect: 'manual',
      });
    expect((await post()).status).toBe(302);
    const second = await post();
    expect(second.status).toBe(400);
    expect(await second.text()).toContain('unknown, used or expired');
  });

  it('rejects a forged request id', async () => {
    const answer = await fetch(`${emulator.url}/o/oauth2/v2/auth/decision`, {
      method: 'POST',
      body: new URLSearchParams({ request: 'req_forged', email: 'a@example.com', decision: 'allow' }),
      redirect: 'manual',
    });
    expect(answer.status).toBe(400);
  });

  it('offers accounts that consented before', async () => {
    await consent(authUrl(emulator.url), emulator.url, { email: 'Carol@Example.com' });
    const html = await (await fetch(authUrl(emulator.url))).text();
    expect(html).toContain('<option value="carol@example.com">');
  });

  it('answers prompt=none with interaction_required', async () => {
    const answer = await fetch(authUrl(emulator.url, { prompt: 'none' }), { redirect: 'manual' });
    expect(new URL(answer.headers.get('location') ?? '').searchParams.get('error')).toBe(
      'interaction_required',
    );
  });
});
