/**
 * The authorization life of a credential end to end: request_authorization, the emulator's consent
 * page, the sidecar's callback, stored (encrypted) tokens, refresh and revoke — and the refusals,
 * each of which must leave the stored row exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consent, followRedirect } from '../support/consent.js';
import { call } from '../support/rpc.js';
import { CALENDAR_SCOPE, secretsOf, type Stack, startStack, unseal } from '../support/stack.js';

let stack: Stack;
const verifiers: string[] = [];

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  if (!stack) return;
  const logs = stack.logs();
  await stack.stop();
  // Nothing secret in the sidecar's logs over the whole file.
  for (const secret of secretsOf(stack, verifiers)) expect(logs).not.toContain(secret);
});

async function authorize(id: number) {
  const { result, error } = await stack.rpc('credentials.request_authorization', { credential_id: id });
  expect(error).toBeUndefined();
  verifiers.push(unseal(stack, await stack.row(id), 'code_verifier'));
  return result as { authorization_url: string; expires_at: string };
}

describe('the full flow', () => {
  it('authorizes through the consent page, then refreshes and revokes', async () => {
    const id = await stack.createCredential();
    const request = await authorize(id);
    const url = new URL(request.authorization_url);
    expect(url.origin).toBe(stack.emulator.url);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: stack.clientId,
      access_type: 'offline',
      prompt: 'consent',
      include_granted_scopes: 'true',
      code_challenge_method: 'S256',
      response_type: 'code',
      redirect_uri: `${stack.sidecar.url}/${stack.database}/google/callback`,
    });
    expect(url.searchParams.get('scope')?.split(' ')).toEqual(['openid', 'email', CALENDAR_SCOPE]);
    expect(
      Buffer.from(url.searchParams.get('state')?.split('.')[0] ?? '', 'base64url').length,
    ).toBeGreaterThanOrEqual(16);
    expect(Date.parse(request.expires_at) - Date.now()).toBeGreaterThan(9 * 60_000);

    const pending = await stack.row(id);
    expect(pending.state).toBe('authorization_pending');
    expect(pending.authorization_url).toBe(request.authorization_url);
    expect(pending.code_verifier).toMatch(/^gcm1\./);
    expect(pending.oauth_state).toMatch(/^[0-9a-f]{64}$/);

    const { redirect } = await consent(request.authorization_url, { email: 'owner@example.com' });
    const page = await followRedirect(redirect);
    expect(page.status).toBe(200);
    expect(page.html).toContain('Google account connected');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'/);

    const row = await stack.row(id);
    expect(row).toMatchObject({
      state: 'authorized',
      account_email: 'owner@example.com',
      oauth_state: null,
      code_verifier: null,
      last_error: null,
      write_uid: 0,
    });
    expect(row.granted_scopes.split(' ')).toContain(CALENDAR_SCOPE);
    expect(row.access_token).toMatch(/^gcm1\./);
    expect(row.refresh_token).toMatch(/^gcm1\./);
    // The row was inserted without write_date: every sidecar update sets it, so an open form notices.
    expect(pending.write_date).toBeInstanceOf(Date);
    expect(row.write_date.getTime()).toBeGreaterThanOrEqual(pending.write_date.getTime());
    expect(Math.abs(row.write_date.getTime() - Date.now())).toBeLessThan(60_000);
    for (const secret of secretsOf(stack)) expect(page.html).not.toContain(secret);

    const token = await stack.rpc('credentials.get_access_token', { credential_id: id });
    expect(token.result.access_token).toBe(unseal(stack, row, 'access_token'));
    expect(token.result.access_token).toMatch(/^ya29\./);
    const statsBefore = await stack.control('/stats');

    const refreshed = await stack.rpc('credentials.refresh', { credential_id: id });
    expect(refreshed.result.state).toBe('authorized');
    expect((await stack.control('/stats')).token.refresh_token).toBe(statsBefore.token.refresh_token + 1);
    const afterRefresh = await stack.row(id);
    expect(unseal(stack, afterRefresh, 'access_token')).not.toBe(token.result.access_token);
    // Google's refresh answer has no refresh token: the stored one survives.
    expect(unseal(stack, afterRefresh, 'refresh_token')).toBe(unseal(stack, row, 'refresh_token'));

    const status = await stack.rpc('credentials.status', { credential_id: id });
    expect(status.result).toMatchObject({ state: 'authorized', account_email: 'owner@example.com' });

    const refreshToken = unseal(stack, afterRefresh, 'refresh_token');
    const revoked = await stack.rpc('credentials.revoke', { credential_id: id });
    expect(revoked.result).toEqual({ state: 'without_authorization' });
    expect(await stack.row(id)).toMatchObject({
      state: 'without_authorization',
      access_token: null,
      refresh_token: null,
      token_expiry: null,
      granted_scopes: null,
    });
    // Google no longer honours the grant.
    const check = await fetch(`${stack.emulator.url}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: stack.clientId,
        client_secret: stack.clientSecret,
      }),
    });
    expect(((await check.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('also completes through the single /google/callback URI', async () => {
    const id = await stack.createCredential({ redirect_uri: `${stack.sidecar.url}/google/callback` });
    const request = await authorize(id);
    const { redirect } = await consent(request.authorization_url);
    expect(new URL(redirect).pathname).toBe('/google/callback');
    expect((await followRedirect(redirect)).status).toBe(200);
    expect((await stack.row(id)).state).toBe('authorized');
  });

  it('records partial scopes and refuses a caller that needs the missing one', async () => {
    const id = await stack.createCredential();
    const request = await authorize(id);
    // A new account: with include_granted_scopes, Google would add what another consent of the same account granted.
    const { redirect } = await consent(request.authorization_url, {
      email: 'partial@example.com',
      keep: (scope) => scope !== CALENDAR_SCOPE,
    });
    const page = await followRedirect(redirect);
    expect(page.html).toContain('did not grant');
    const row = await stack.row(id);
    expect(row.state).toBe('authorized');
    expect(row.granted_scopes.split(' ')).not.toContain(CALENDAR_SCOPE);
    expect(row.last_error).toContain(`missing: ${CALENDAR_SCOPE}`);
    const before = await stack.control('/stats');
    const refused = await stack.rpc('credentials.get_access_token', {
      credential_id: id,
      scopes: [CALENDAR_SCOPE],
    });
    expect(refused.error).toMatchObject({
      code: -32008,
      data: { type: 'scope_not_granted', missing: [CALENDAR_SCOPE] },
    });
    expect(await stack.control('/stats')).toEqual(before);
  });

  it('leaves a denied credential ready for a new attempt', async () => {
    const id = await stack.createCredential();
    const request = await authorize(id);
    const { redirect } = await consent(request.authorization_url, { decision: 'deny' });
    expect(new URL(redirect).searchParams.get('error')).toBe('access_denied');
    const page = await followRedirect(redirect);
    expect(page.html).toContain('Access to Google was denied');
    expect(await stack.row(id)).toMatchObject({
      state: 'without_authorization',
      oauth_state: null,
      code_verifier: null,
      last_error: expect.stringContaining('access_denied'),
    });
    const again = await authorize(id);
    const { redirect: second } = await consent(again.authorization_url);
    await followRedirect(second);
    expect((await stack.row(id)).state).toBe('authorized');
  });

  it('writes a refusal of the OAuth client itself (a wrong secret) into last_error and ends the request', async () => {
    const id = await stack.createCredential({ client_secret: 'test-secret-that-google-does-not-know' });
    const request = await authorize(id);
    const { redirect } = await consent(request.authorization_url, { email: 'wrong-secret@example.com' });
    const page = await followRedirect(redirect);
    expect(page.status).toBe(400);
    expect(page.html).toContain('invalid_client');
    expect(await stack.row(id)).toMatchObject({
      state: 'without_authorization',
      oauth_state: null,
      code_verifier: null,
      access_token: null,
      last_error: expect.stringMatching(/invalid_client.*Client Secret.*press Authorize\./s),
    });
  });

  it('refuses request_authorization for an incomplete credential, changing nothing', async () => {
    const id = await stack.createCredential({ client_secret: null });
    const before = await stack.row(id);
    const { error } = await stack.rpc('credentials.request_authorization', { credential_id: id });
    expect(error).toMatchObject({
      code: -32007,
      data: { type: 'credential_incomplete', missing: ['client_secret'] },
    });
    expect(await stack.row(id)).toEqual(before);
  });
});

describe('refusals leave the stored data unchanged', () => {
  async function pendingCredential() {
    const id = await stack.createCredential();
    const request = await authorize(id);
    const { redirect } = await consent(request.authorization_url);
    return { id, request, redirect: new URL(redirect), before: await stack.row(id) };
  }

  async function expectRefused(url: URL | string, id: number, before: Record<string, unknown>, status = 400) {
    const page = await followRedirect(url.toString());
    expect(page.status).toBe(status);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await stack.row(id)).toEqual(before);
    return page.html;
  }

  it('a forged state', async () => {
    const { id, redirect, before } = await pendingCredential();
    const state = redirect.searchParams.get('state') as string;
    const [nonce, database, mac] = state.split('.') as [string, string, string];
    redirect.searchParams.set('state', `${nonce.slice(0, -2)}AA.${database}.${mac}`);
    expect(await expectRefused(redirect, id, before)).toContain('state is not valid');
  });

  it('a reused state', async () => {
    const { id, redirect } = await pendingCredential();
    expect((await followRedirect(redirect.toString())).status).toBe(200);
    const after = await stack.row(id);
    expect(await expectRefused(redirect, id, after)).toContain('unknown or was already used');
  });

  it('an expired state (older than 10 minutes)', async () => {
    const { id, redirect } = await pendingCredential();
    await stack
      .db('google_integration_google_credentials')
      .where({ id })
      .update({ authorization_requested_at: stack.db.raw("timezone('UTC', now()) - interval '11 minutes'") });
    const before = await stack.row(id);
    expect(await expectRefused(redirect, id, before)).toContain('expired');
  });

  it('a state of another database', async () => {
    const { id, redirect, before } = await pendingCredential();
    const elsewhere = new URL(redirect);
    elsewhere.pathname = '/some_other_database/google/callback';
    expect(await expectRefused(elsewhere, id, before)).toContain('belongs to another database');
  });

  it('a wrong PKCE verifier (a code obtained for another verifier)', async () => {
    const mine = await pendingCredential();
    const theirs = await pendingCredential();
    const mixed = new URL(mine.redirect);
    mixed.searchParams.set('code', theirs.redirect.searchParams.get('code') as string);
    expect(await expectRefused(mixed, mine.id, mine.before)).toMatch(/code verifier/i);
    // The genuine callback still completes: a forged one does not burn the user's flow.
    expect((await followRedirect(mine.redirect.toString())).status).toBe(200);
    expect((await stack.row(mine.id)).state).toBe('authorized');
  });

  it('a malformed callback and an unknown database', async () => {
    const { id, before, redirect } = await pendingCredential();
    const noCode = new URL(redirect);
    noCode.searchParams.delete('code');
    await expectRefused(noCode, id, before);
    const doubled = new URL(redirect);
    doubled.searchParams.append('state', 'second');
    await expectRefused(doubled, id, before);
    await expectRefused(`${stack.sidecar.url}/bad%20name/google/callback?code=x&state=y`, id, before);
    const unknown = new URL(redirect);
    unknown.pathname = '/gi_test_unknown_db/google/callback';
    await expectRefused(unknown, id, before);
  });
});

describe('JSON-RPC refusals', () => {
  it('unauthenticated and malformed calls change nothing', async () => {
    const id = await stack.createCredential();
    const before = await stack.row(id);
    const unauthenticated = await fetch(`${stack.sidecar.url}/rpc`, {
      method: 'POST',
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'credentials.request_authorization',
        params: { database: stack.database, credential_id: id },
      }),
    });
    expect(unauthenticated.status).toBe(401);
    for (const params of [
      { credential_id: String(id) },
      { credential_id: id, min_validity: -5 },
      { credential_id: id, extra: 1 },
    ]) {
      const { error } = await stack.rpc('credentials.request_authorization', params);
      expect(error?.code).toBe(-32602);
    }
    const { error } = await stack.rpc('credentials.get_access_token', { credential_id: id });
    expect(error).toMatchObject({ code: -32003, data: { type: 'not_authorized' } });
    expect(await stack.row(id)).toEqual(before);
  });

  it('describes itself with rpc.discover', async () => {
    const { result } = await call(stack.sidecar.url, 'rpc.discover', undefined);
    expect(result.openrpc).toMatch(/^1\./);
    expect(result.methods.map((method: { name: string }) => method.name)).toEqual([
      'credentials.request_authorization',
      'credentials.get_access_token',
      'credentials.refresh',
      'credentials.revoke',
      'credentials.status',
      'calendar.list_calendars',
      'calendar.sync',
      'contacts.sync',
      'rpc.discover',
    ]);
  });
});
