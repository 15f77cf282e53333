/**
 * The background refresher: tokens close to expiry are refreshed without any caller, once per
 * credential even with two sidecar processes claiming work, and a failing one cools down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { consent, followRedirect } from '../support/consent.js';
import { type SidecarProcess, startServe } from '../support/processes.js';
import { call } from '../support/rpc.js';
import { passesEnded, secretsOf, type Stack, startStack } from '../support/stack.js';
import { until } from '../support/wait.js';

let stack: Stack;
let second: SidecarProcess;

beforeAll(async () => {
  stack = await startStack({ env: { SIDECAR_REFRESH_INTERVAL: '1', SIDECAR_REFRESH_AHEAD: '300' } });
  second = await stack.startAnotherSidecar();
});

afterAll(async () => {
  if (!stack) return;
  const logs = stack.logs();
  await stack.stop();
  for (const secret of secretsOf(stack)) expect(logs).not.toContain(secret);
});

async function authorizedCredential(email: string): Promise<number> {
  const id = await stack.createCredential();
  const { result } = await stack.rpc('credentials.request_authorization', { credential_id: id });
  const { redirect } = await consent(result.authorization_url, { email });
  expect((await followRedirect(redirect)).status).toBe(200);
  return id;
}

async function expiresIn(id: number, seconds: number): Promise<void> {
  await stack
    .db('google_integration_google_credentials')
    .where({ id })
    .update({ token_expiry: stack.db.raw(`timezone('UTC', now()) + interval '${seconds} seconds'`) });
}

describe('background refresh', () => {
  it('refreshes tokens that expire within SIDECAR_REFRESH_AHEAD, each once', async () => {
    const ids = [
      await authorizedCredential('bg1@example.com'),
      await authorizedCredential('bg2@example.com'),
    ];
    const before = (await stack.control('/stats')).token.refresh_token;
    for (const id of ids) await expiresIn(id, 60);
    const rows = await until(
      () => Promise.all(ids.map((id) => stack.row(id))),
      (found) => found.every((row) => row.token_expiry.getTime() > Date.now() + 30 * 60_000),
      { what: 'both tokens refreshed' },
    );
    for (const row of rows) expect(row.token_expiry.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    // A few more ticks of both processes: nothing is refreshed twice. Waiting for the passes to end
    // (not for a time) proves they ran: the one that was refreshing has ended, and a whole one after.
    await passesEnded(stack, 'refresh_due_tokens', 1);
    expect((await stack.control('/stats')).token.refresh_token - before).toBe(2);
    expect(stack.logs()).toContain('"msg":"background refresh"');
    // Both replicas run the passes from one job of the job engine, never two.
    const queued = await stack.db.raw(
      "SELECT count(*)::int AS n FROM google_integration_jobs.jobs WHERE key = 'refresh_due_tokens'",
    );
    expect(queued.rows[0].n).toBe(1);
  });

  it('cools a failing credential down instead of retrying it every tick', async () => {
    const id = await authorizedCredential('bg3@example.com');
    const before = (await stack.control('/stats')).token.refresh_token;
    await stack.control('/failures', { endpoint: 'token', status: 503, count: 100 });
    await expiresIn(id, 60);
    const backoff = await until(
      () => stack.db('google_integration_sidecar.refresh_backoff').where({ credential_id: id }).first(),
      (row) => row !== undefined,
      { what: 'a refresh failure recorded' },
    );
    expect(backoff.failures).toBe(1);
    // The pass that failed has ended, and the next pass saw the credential due and cooling down.
    await passesEnded(stack, 'refresh_due_tokens', 1);
    // One claim, its retries (4 attempts), and then quiet during the 30 s cool-down.
    expect((await stack.control('/stats')).token.refresh_token - before).toBe(4);
    expect((await stack.row(id)).state).toBe('authorized');
    await stack.control('/reset', {});
  });
});

describe('after a restart', () => {
  it('resumes background refresh without waiting for a caller', async () => {
    const id = await authorizedCredential('restart@example.com');
    // No replica is left running: only the replacement can refresh.
    await Promise.all([stack.sidecar.stop(), second.stop()]);
    const replacement = await stack.startAnotherSidecar();
    const before = (await stack.control('/stats')).token.refresh_token;
    await expiresIn(id, 60);
    const row = await until(
      () => stack.row(id),
      (found) => found.token_expiry.getTime() > Date.now() + 30 * 60_000,
      { what: 'the token refreshed by the replacement' },
    );
    expect(row.token_expiry.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect((await stack.control('/stats')).token.refresh_token - before).toBe(1);
    expect(replacement.output()).toContain('"msg":"job runner started"');
  });
});

describe('a sidecar started with other encryption keys', () => {
  it('runs no background work in the database and says why', async () => {
    const stranger = await startServe({
      ...stack.env,
      SIDECAR_ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
    });
    try {
      // Its first use of the database checks the keys.
      await call(stranger.url, 'credentials.status', { database: stack.database, credential_id: 1 });
      await until(
        async () => stranger.output(),
        (output) => output.includes('do not open'),
        { timeoutMs: 5_000, what: 'the key check refusing the database' },
      );
      expect(stranger.output()).toContain('SIDECAR_ENCRYPTION_KEYS do not open what this database holds');
      expect(stranger.output()).not.toContain('"msg":"job runner started"');
    } finally {
      await stranger.stop();
    }
  });
});
