/**
 * The token cache on two replicas: valid tokens are served from memory, and every change of a
 * credential, by a replica or by Tryton, is seen on every replica as soon as its notification is in
 * (at once by the replica that wrote it); when the change feed is lost, nothing stale is served.
 */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SidecarProcess } from '../support/processes.js';
import { call } from '../support/rpc.js';
import { type Stack, startStack, unseal } from '../support/stack.js';
import { until } from '../support/wait.js';

const TABLE = 'google_integration_google_credentials';

let stack: Stack;
let first: string;
let second: string;
let secondProcess: SidecarProcess;

beforeAll(async () => {
  stack = await startStack({ env: { SIDECAR_REFRESH_INTERVAL: '3600' } });
  first = stack.sidecar.url;
  secondProcess = await stack.startAnotherSidecar();
  second = secondProcess.url;
});

afterAll(async () => {
  await stack?.stop();
});

const token = (url: string, id: number) =>
  call(url, 'credentials.get_access_token', { database: stack.database, credential_id: id });

/**
 * How long another process may take to read a notification off its socket after the commit (it is
 * milliseconds; the bound is generous for a loaded machine).
 */
const HEARD = { timeout: 1_000, interval: 20 };

const LISTEN = 'LISTEN google_integration_credential';

/** The connections of the stack's database that listen to the change feed now. */
async function listeners(): Promise<number> {
  const result = await stack.db.raw(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = ? AND query = ? AND state = 'idle' AND pid <> pg_backend_pid()`,
    [stack.database, LISTEN],
  );
  return result.rows[0].n as number;
}

/**
 * Opens the change feed of both replicas (a replica's first token call of a database opens it) and
 * waits until both listen: from then on, what a replica reads is kept in memory. A feed marks itself
 * live as its LISTEN answers, and PostgreSQL shows the connection idle after it as it sends that
 * answer, long before the test's next request can reach the replica: two idle listening connections
 * are the event that proves both feeds live.
 */
async function feedsListening(id: number): Promise<void> {
  await Promise.all([token(first, id), token(second, id)]);
  await until(listeners, (count) => count === 2, { what: 'both replicas listening to the change feed' });
}

/** Changes the row without firing triggers, as if the change feed had missed it. */
async function silently(work: (trx: Knex.Transaction) => Promise<unknown>): Promise<void> {
  await stack.db.transaction(async (trx) => {
    await trx.raw('SET LOCAL session_replication_role = replica');
    await work(trx);
  });
}

describe('the token cache', () => {
  it('answers from memory: a change the feed does not hear is not seen', async () => {
    const id = await stack.authorizedCredential('cached@example.com');
    // The first call of a database starts its change feed; from the next one on, rows are kept.
    await feedsListening(id);
    const original = (await token(second, id)).result.access_token;
    await silently((trx) => trx(TABLE).where({ id }).update({ state: 'without_authorization' }));
    expect((await token(second, id)).result.access_token).toBe(original);
    // The same change, heard: once the notification is in, calls read the row again.
    await stack.db(TABLE).where({ id }).update({ state: 'without_authorization' });
    await expect.poll(async () => (await token(second, id)).error?.data?.type, HEARD).toBe('not_authorized');
  });

  it('hands out the new token right after its own refresh, before the feed brings the change', async () => {
    const id = await stack.authorizedCredential('refreshed@example.com');
    await feedsListening(id);
    const original = (await token(first, id)).result.access_token;
    // The feed stays silent about the refresh, as when its notification is still on its way.
    await stack.db.raw(`ALTER TABLE ${TABLE} DISABLE TRIGGER google_integration_sidecar_changed`);
    try {
      const refreshed = await call(first, 'credentials.refresh', {
        database: stack.database,
        credential_id: id,
      });
      expect(refreshed.error).toBeUndefined();
      const next = (await token(first, id)).result.access_token;
      expect(next).not.toBe(original);
      expect(next).toBe(unseal(stack, await stack.db(TABLE).where({ id }).first(), 'access_token'));
    } finally {
      await stack.db.raw(`ALTER TABLE ${TABLE} ENABLE TRIGGER google_integration_sidecar_changed`);
    }
  });

  it('sees a revoke on another replica as soon as the notification is in, every time', async () => {
    for (let round = 0; round < 3; round++) {
      const id = await stack.authorizedCredential(`revoked${round}@example.com`);
      expect((await token(first, id)).result?.access_token).toEqual(expect.any(String));
      expect((await token(second, id)).result?.access_token).toEqual(expect.any(String));
      expect(
        (await call(first, 'credentials.revoke', { database: stack.database, credential_id: id })).result,
      ).toEqual({ state: 'without_authorization' });
      await expect
        .poll(async () => (await token(second, id)).error?.data?.type, HEARD)
        .toBe('not_authorized');
    }
  });

  it("sees Tryton's own changes (a deletion) as soon as the notification is in", async () => {
    const id = await stack.authorizedCredential('deleted@example.com');
    expect((await token(second, id)).result?.access_token).toEqual(expect.any(String));
    await stack.db(TABLE).where({ id }).delete();
    await expect
      .poll(async () => (await token(second, id)).error?.data?.type, HEARD)
      .toBe('credential_not_found');
  });

  it('serves nothing stale while its change feed is down', async () => {
    const id = await stack.authorizedCredential('feedless@example.com');
    const original = (await token(second, id)).result.access_token;
    const lost = () => secondProcess.output().split('credential change feed lost').length - 1;
    const lostBefore = lost();
    const terminated = await stack.db.raw(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = ? AND query = ? AND pid <> pg_backend_pid()`,
      [stack.database, LISTEN],
    );
    expect(terminated.rows.length).toBe(2);
    // The replica says so as it drops its feed (and what it kept): the event that proves it is down.
    await until(
      async () => lost(),
      (count) => count > lostBefore,
      { what: 'the replica losing its feed' },
    );
    // Missed by the feed (it is down), yet the next call must see it.
    await silently((trx) => trx(TABLE).where({ id }).update({ state: 'without_authorization' }));
    expect((await token(second, id)).error?.data?.type).toBe('not_authorized');
    await stack.db(TABLE).where({ id }).update({ state: 'authorized' });
    expect(unseal(stack, await stack.row(id), 'access_token')).toBe(original);
    expect((await token(second, id)).result?.access_token).toBe(original);
  });
});
