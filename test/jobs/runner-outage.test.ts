/**
 * A process that never dies of a database blip (docs/contracts.md, "Scale-out rules", *Timeouts*):
 * PostgreSQL made unreachable (a TCP proxy in front of it, cut) while the job runner completes and
 * fails jobs. The `tryton-google serve` process stays up, says so in a warning, and once PostgreSQL is
 * back every job has run and its completion or failure is written: none lost, none left locked.
 * Real sidecar process, emulator and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URI } from '../support/postgres.js';
import { type Stack, startStack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/wait.js';

const JOBS = 'google_integration_jobs';
/** How long PostgreSQL stays unreachable at least. */
const OUTAGE_MS = 3_000;
/** How long Google takes to answer the refresh that is under way when PostgreSQL goes. */
const GOOGLE_LATENCY_MS = 1_500;

describe('PostgreSQL unreachable while jobs complete and fail', () => {
  let proxy: TcpProxy;
  let stack: Stack;

  beforeAll(async () => {
    const target = new URL(POSTGRES_URI);
    proxy = await startTcpProxy(Number(target.port || 5432), target.hostname);
    const throughProxy = new URL(POSTGRES_URI);
    throughProxy.host = `127.0.0.1:${proxy.port}`;
    // The sidecar reaches PostgreSQL through the proxy; the test (stack.db) directly.
    stack = await startStack({
      env: {
        DATABASE_URI: throughProxy.toString(),
        // Heartbeats every second: a job whose lock was taken as PostgreSQL went, and answered into
        // the void, is released within seconds of the replaced runner's stop.
        SIDECAR_REFRESH_INTERVAL: '4',
        SIDECAR_SYNC_INTERVAL: '4',
        SIDECAR_DATABASE_TIMEOUT: '1',
      },
    });
  });

  afterAll(async () => {
    proxy?.restore();
    await stack?.stop();
    await proxy?.close();
  });

  /**
   * Jobs that complete (a refresh pass: the credential's refresh is under way elsewhere, so it
   * skips it) and jobs that fail (a calendar round without its ids), queued directly.
   */
  const queueJobs = (count: number) =>
    stack.db.raw(
      `SELECT ${JOBS}.add_job(task, '{}'::json, max_attempts => 1)
         FROM unnest(array['refresh_due_tokens', 'sync_calendar']) AS task, generate_series(1, ?)`,
      [count],
    );
  /** The test's jobs (no key) by task: how many are left, not run yet or locked, failed as they should. */
  const jobs = async () =>
    (
      await stack.db.raw(
        `SELECT task_identifier AS task, count(*)::int AS left,
                count(*) FILTER (WHERE attempts = 0 OR locked_by IS NOT NULL)::int AS pending,
                count(*) FILTER (WHERE attempts = 1 AND last_error LIKE 'sync_calendar needs%')::int AS failed
           FROM ${JOBS}.jobs WHERE key IS NULL GROUP BY task_identifier ORDER BY task_identifier`,
      )
    ).rows as Array<{ task: string; left: number; pending: number; failed: number }>;
  const output = () => stack.sidecar.output();
  const alive = () => stack.sidecar.child.exitCode === null && stack.sidecar.child.signalCode === null;

  it('stays up, warns, and writes every completion and failure once PostgreSQL is back', async () => {
    await until(
      async () => output(),
      (text) => text.includes('"msg":"job runner started"'),
      {
        what: 'the job runner started',
      },
    );
    expect(output()).not.toContain("Your pool doesn't have");
    // A credential whose token is due: the first refresh pass to run calls Google, slowly.
    const id = await stack.authorizedCredential('outage@example.com');
    await stack.expire([id]);
    await stack.control('/latency', { ms: GOOGLE_LATENCY_MS, endpoint: 'token' });
    const refreshes = async () => (await stack.control('/stats')).token.refresh_token as number;
    const before = await refreshes();
    await queueJobs(100);
    await until(refreshes, (count) => count > before, { what: 'a refresh pass waiting for Google' });

    // Cut while that pass waits for Google and the runner takes, completes and fails the others;
    // more jobs arrive during the outage.
    const cutAt = output().length;
    proxy.cut();
    try {
      await queueJobs(10);
      // The pass under way at least fails for want of the database: its failure waits to be written.
      await until(
        async () => output().slice(cutAt),
        (text) => text.includes('"msg":"job completion or failure waiting for the database"'),
        { what: 'a completion or failure waiting for the database' },
      );
      expect(output().slice(cutAt)).toMatch(/"level":40.*"msg":"job runner connection lost"/);
      // The outage lasts: the release is tried again (250 ms, doubling), the runner's own polling,
      // listening and heartbeat fail meanwhile, and the sidecar says it is not ready.
      const outageEnds = Date.now() + OUTAGE_MS;
      await until(
        async () => (await fetch(`${stack.sidecar.url}/readyz`)).status,
        (status) => status === 503 && Date.now() > outageEnds,
        { what: 'an outage of a few seconds' },
      );
      expect(alive()).toBe(true);
    } finally {
      proxy.restore();
    }

    await queueJobs(10);
    const done = await until(jobs, (now) => now.every((row) => row.pending === 0), {
      what: 'every job run, its completion or failure written, nothing locked',
      timeoutMs: 60_000,
    });
    const byTask = Object.fromEntries(done.map((row) => [row.task, row]));
    // Every round failed as it should, written once; most passes completed (deleted), the one
    // under way at the cut failed.
    expect(byTask.sync_calendar?.failed).toBe(120);
    expect(byTask.sync_calendar?.left).toBe(120);
    expect(byTask.refresh_due_tokens?.left ?? 0).toBeLessThan(120);
    expect(alive()).toBe(true);
    expect((await fetch(`${stack.sidecar.url}/healthz`)).status).toBe(200);
    expect(output()).toContain('"msg":"job completions and failures written after waiting for the database"');
    expect(output()).not.toMatch(/Unhandled|unhandledRejection|inconsistent state|committing seppuku/i);
    expect(await stack.sidecar.stop('SIGTERM')).toBe(0);
  }, 180_000);
});
