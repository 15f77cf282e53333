/**
 * A Google that stalls: every call ends within SIDECAR_GOOGLE_TIMEOUT per attempt, is retried, and
 * then fails with google_unavailable; meanwhile the sidecar holds no row lock and no connection in
 * a transaction, so Tryton and the other callers are never blocked by Google.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consent } from '../support/consent.js';
import { type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';
import { until } from '../support/wait.js';

const TIMEOUT_S = 0.4;
const ATTEMPTS = 4;
/** Four timed-out attempts and the jittered pauses between them (at most 0.25 + 0.5 + 1 s). */
const WORST_MS = ATTEMPTS * TIMEOUT_S * 1000 + 1750;
const TABLE = 'google_integration_google_credentials';

let stack: Stack;

beforeAll(async () => {
  // A Tryton database: the calendar service refuses (module_not_ready) where its tables are missing.
  stack = await startStack({
    template: await trytonTemplate(),
    env: { SIDECAR_GOOGLE_TIMEOUT: String(TIMEOUT_S), SIDECAR_REFRESH_INTERVAL: '3600' },
  });
}, 240_000);

afterAll(async () => {
  await stack?.stop();
});

async function noLatency(): Promise<void> {
  for (const endpoint of ['token', 'revoke', 'calendar'])
    await stack.control('/latency', { endpoint, ms: 0 });
}

beforeEach(noLatency);

/** What the sidecar holds in the database right now: transactions left open and locks on the table. */
async function heldBySidecar() {
  const open = await stack.db.raw(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = ? AND application_name = 'tryton-google-sidecar' AND state LIKE 'idle in transaction%'`,
    [stack.database],
  );
  const locks = await stack.db.raw(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE a.application_name = 'tryton-google-sidecar' AND l.relation = ?::regclass`,
    [TABLE],
  );
  return { openTransactions: open.rows[0].n as number, tableLocks: locks.rows[0].n as number };
}

/** Takes and releases the credential's row lock at once (NOWAIT): it fails if anyone holds it. */
async function rowIsFree(id: number): Promise<boolean> {
  try {
    await stack.db.transaction((trx) =>
      trx.raw(`SELECT id FROM ${TABLE} WHERE id = ? FOR UPDATE NOWAIT`, [id]),
    );
    return true;
  } catch {
    return false;
  }
}

describe('a stalled token endpoint', () => {
  it('ends a refresh within its timeout per attempt, holding no lock or transaction meanwhile', async () => {
    const id = await stack.authorizedCredential('stall@example.com');
    await stack.expire([id]);
    const before = (await stack.control('/stats')).token.refresh_token;
    await stack.control('/latency', { endpoint: 'token', ms: 60_000 });
    const started = performance.now();
    const pending = stack.rpc('credentials.get_access_token', { credential_id: id });
    // The emulator counts a call as it arrives: a second refresh call proves that the first attempt
    // timed out and that the sidecar waits on Google again, the moment to look at what it holds.
    await until(
      async () => (await stack.control('/stats')).token.refresh_token - before,
      (calls) => calls >= 2,
      { what: 'the second attempt reaching Google' },
    );
    expect(await rowIsFree(id)).toBe(true);
    expect(await heldBySidecar()).toEqual({ openTransactions: 0, tableLocks: 0 });
    // Another caller of the same credential waits for the same refresh rather than starting one.
    const second = stack.rpc('credentials.get_access_token', { credential_id: id });
    const [answer, other] = await Promise.all([pending, second]);
    const elapsed = performance.now() - started;
    expect(answer.error?.code).toBe(-32005);
    expect(answer.error?.data?.type).toBe('google_unavailable');
    expect(answer.error?.message).toMatch(/did not answer within 0.4 s/);
    expect(other.error?.code).toBe(-32005);
    expect(elapsed).toBeGreaterThanOrEqual(ATTEMPTS * TIMEOUT_S * 1000);
    expect(elapsed).toBeLessThan(WORST_MS + 1500);
    expect((await stack.control('/stats')).token.refresh_token - before).toBe(ATTEMPTS);
    expect((await stack.row(id)).state).toBe('authorized');
  });

  it('ends a revoke within its timeouts and keeps the tokens', async () => {
    const id = await stack.authorizedCredential('stall-revoke@example.com');
    const row = await stack.row(id);
    await stack.control('/latency', { endpoint: 'revoke', ms: 60_000 });
    const started = performance.now();
    const answer = await stack.rpc('credentials.revoke', { credential_id: id });
    expect(performance.now() - started).toBeLessThan(WORST_MS + 1500);
    expect(answer.error?.data?.type).toBe('google_unavailable');
    expect(await stack.row(id)).toEqual(row);
  });

  it('ends a code exchange within its timeouts: the callback page says Google is unavailable', async () => {
    const id = await stack.createCredential();
    const { result } = await stack.rpc('credentials.request_authorization', { credential_id: id });
    const pendingRow = await stack.row(id);
    const { redirect } = await consent(result.authorization_url, { email: 'stall-code@example.com' });
    await stack.control('/latency', { endpoint: 'token', ms: 60_000 });
    const started = performance.now();
    const page = await fetch(redirect);
    expect(performance.now() - started).toBeLessThan(WORST_MS + 1500);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('Google is unavailable');
    // The request stays pending and usable: once Google answers again, the same callback completes.
    expect(await stack.row(id)).toEqual(pendingRow);
    await noLatency();
    expect((await fetch(redirect)).status).toBe(200);
    expect((await stack.row(id)).state).toBe('authorized');
  });
});

describe('a stalled Calendar API', () => {
  it('ends a call of a Google service within its timeouts with google_unavailable', async () => {
    const id = await stack.authorizedCredential('stall-calendar@example.com');
    await stack.control('/latency', { endpoint: 'calendar', ms: 60_000 });
    try {
      const started = performance.now();
      const answer = await stack.rpc('calendar.list_calendars', { credential_id: id });
      expect(performance.now() - started).toBeLessThan(WORST_MS + 1500);
      expect(answer.error?.code).toBe(-32005);
      expect(answer.error?.message).toMatch(/did not answer within 0.4 s/);
    } finally {
      await stack.control('/latency', { endpoint: 'calendar', ms: 0 });
    }
  });
});
