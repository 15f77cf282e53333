/**
 * Refresh: one refresh however many callers ask at once (one process or two), invalid_grant after
 * a user-side revoke, transient failures retried, and the background refresher ahead of expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consent, followRedirect } from '../support/consent.js';
import { call } from '../support/rpc.js';
import { secretsOf, type Stack, startStack, unseal } from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  // A background interval longer than the file, so only on-demand refreshes happen here.
  stack = await startStack({ env: { SIDECAR_REFRESH_INTERVAL: '3600' } });
});

afterAll(async () => {
  if (!stack) return;
  const logs = stack.logs();
  await stack.stop();
  for (const secret of secretsOf(stack)) expect(logs).not.toContain(secret);
});

async function authorizedCredential(email = 'refresh@example.com'): Promise<number> {
  const id = await stack.createCredential();
  const { result } = await stack.rpc('credentials.request_authorization', { credential_id: id });
  const { redirect } = await consent(result.authorization_url, { email });
  expect((await followRedirect(redirect)).status).toBe(200);
  return id;
}

async function expireLocally(id: number): Promise<void> {
  await stack
    .db('google_integration_google_credentials')
    .where({ id })
    .update({ token_expiry: stack.db.raw("timezone('UTC', now()) - interval '1 minute'") });
}

async function refreshCount(): Promise<number> {
  return (await stack.control('/stats')).token.refresh_token;
}

describe('concurrent callers', () => {
  it('50 concurrent get_access_token calls on an expired token cause one refresh', async () => {
    const id = await authorizedCredential();
    await expireLocally(id);
    await stack.control('/latency', { ms: 300, endpoint: 'token' });
    const before = await refreshCount();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => stack.rpc('credentials.get_access_token', { credential_id: id })),
    );
    await stack.control('/latency', { ms: 0, endpoint: 'token' });
    expect(answers.map((answer) => answer.error)).toEqual(Array(50).fill(undefined));
    expect(new Set(answers.map((answer) => answer.result.access_token)).size).toBe(1);
    expect((await refreshCount()) - before).toBe(1);
    const row = await stack.row(id);
    expect(unseal(stack, row, 'access_token')).toBe(answers[0]?.result.access_token);
    expect(row.token_expiry.getTime()).toBeGreaterThan(Date.now() + 50 * 60_000);
  });

  it('the same from two sidecar processes: one refresh reaches Google', async () => {
    const id = await authorizedCredential();
    const second = await stack.startAnotherSidecar();
    await expireLocally(id);
    await stack.control('/latency', { ms: 300, endpoint: 'token' });
    const before = await refreshCount();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        call(index % 2 === 0 ? stack.sidecar.url : second.url, 'credentials.get_access_token', {
          database: stack.database,
          credential_id: id,
        }),
      ),
    );
    await stack.control('/latency', { ms: 0, endpoint: 'token' });
    expect(answers.filter((answer) => answer.error)).toEqual([]);
    expect(new Set(answers.map((answer) => answer.result.access_token)).size).toBe(1);
    expect((await refreshCount()) - before).toBe(1);
  });

  it('a valid token is served without calling Google', async () => {
    const id = await authorizedCredential();
    const before = await stack.control('/stats');
    const { result } = await stack.rpc('credentials.get_access_token', {
      credential_id: id,
      min_validity: 600,
    });
    expect(result.access_token).toMatch(/^ya29\./);
    expect(await stack.control('/stats')).toEqual(before);
  });
});

describe('failures', () => {
  it('invalid_grant after the user revokes access moves the credential to authorization_expired', async () => {
    const id = await authorizedCredential('revoker@example.com');
    await stack.control('/grants/revoke', { email: 'revoker@example.com' });
    await expireLocally(id);
    const { error } = await stack.rpc('credentials.get_access_token', { credential_id: id });
    expect(error).toMatchObject({ code: -32004, data: { type: 'authorization_expired' } });
    const row = await stack.row(id);
    expect(row.state).toBe('authorization_expired');
    expect(row.last_error).toMatch(/invalid_grant/);
    expect(row.last_error).toMatch(/revoked/);
    expect(row.last_error).toMatch(/7 days/);
    expect(row.last_error).toMatch(/6 months/);
    expect(row.last_error).toMatch(/too many refresh tokens/);
    expect(row.refresh_token).toBeNull();
    // Later callers are refused without a call to Google.
    const before = await refreshCount();
    const again = await stack.rpc('credentials.refresh', { credential_id: id });
    expect(again.error?.data?.type).toBe('authorization_expired');
    expect(await refreshCount()).toBe(before);
    // Revoke still completes locally.
    expect((await stack.rpc('credentials.revoke', { credential_id: id })).result).toEqual({
      state: 'without_authorization',
    });
  });

  it('transient 503s are retried until Google answers', async () => {
    const id = await authorizedCredential();
    await expireLocally(id);
    const before = await refreshCount();
    await stack.control('/failures', { endpoint: 'token', status: 503, count: 2 });
    const { result, error } = await stack.rpc('credentials.get_access_token', { credential_id: id });
    expect(error).toBeUndefined();
    expect(result.access_token).toMatch(/^ya29\./);
    expect((await refreshCount()) - before).toBe(3);
    expect((await stack.row(id)).state).toBe('authorized');
  });

  it('Google staying unavailable gives google_unavailable and leaves the credential as it was', async () => {
    const id = await authorizedCredential();
    await expireLocally(id);
    const before = await stack.row(id);
    await stack.control('/failures', { endpoint: 'token', status: 503, count: 4 });
    const { error } = await stack.rpc('credentials.get_access_token', { credential_id: id });
    expect(error).toMatchObject({ code: -32005, data: { type: 'google_unavailable' } });
    expect(await stack.row(id)).toEqual(before);
  });

  it('429 rate limiting is retried as well', async () => {
    const id = await authorizedCredential();
    await expireLocally(id);
    await stack.control('/failures', { endpoint: 'token', status: 429, count: 1 });
    const { error } = await stack.rpc('credentials.refresh', { credential_id: id });
    expect(error).toBeUndefined();
  });

  it('a revoke completes locally when Google says the token is already invalid', async () => {
    const id = await authorizedCredential('gone@example.com');
    await stack.control('/grants/revoke', { email: 'gone@example.com' });
    const before = (await stack.control('/stats')).revoke;
    const { result } = await stack.rpc('credentials.revoke', { credential_id: id });
    expect(result).toEqual({ state: 'without_authorization' });
    expect((await stack.control('/stats')).revoke - before).toBe(1);
    expect(await stack.row(id)).toMatchObject({
      state: 'without_authorization',
      refresh_token: null,
      access_token: null,
    });
  });

  it('a revoke while Google is down fails and keeps the tokens', async () => {
    const id = await authorizedCredential();
    const before = await stack.row(id);
    await stack.control('/failures', { endpoint: 'revoke', status: 503, count: 4 });
    const { error } = await stack.rpc('credentials.revoke', { credential_id: id });
    expect(error?.data?.type).toBe('google_unavailable');
    expect(await stack.row(id)).toEqual(before);
  });
});

describe('metrics', () => {
  it('counts refresh outcomes and callbacks for the operator', async () => {
    const text = await (await fetch(`${stack.sidecar.url}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    expect(value('tryton_google_token_refreshes_total{outcome="refreshed"}')).toBeGreaterThan(0);
    expect(value('tryton_google_token_refreshes_total{outcome="invalid_grant"}')).toBe(1);
    expect(value('tryton_google_token_refreshes_total{outcome="transient"}')).toBeGreaterThan(0);
    expect(value('tryton_google_authorization_callbacks_total{outcome="authorized"}')).toBeGreaterThan(0);
  });
});
