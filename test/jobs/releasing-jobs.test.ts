/**
 * Background work survives the replicas that run it (docs/contracts.md, "Releasing jobs"): a sidecar
 * stopped cleanly in the middle of a background pull leaves nothing locked; the jobs of a killed one
 * run again on another replica within seconds instead of graphile-worker's 4 hours; a calendar whose
 * pulls stopped happening says `stalled`; and a changed SIDECAR_SYNC_INTERVAL applies at the next
 * start. Real sidecar processes, emulator and PostgreSQL.
 */
import type { Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { startServe } from '../support/processes.js';
import { type Stack, startStack } from '../support/stack.js';
import { trytonTemplate } from '../support/tryton.js';
import { until } from '../support/wait.js';

const JOBS = 'google_integration_jobs';
let stack: Stack | undefined;

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** A credential with synchronization on and its primary calendar enabled, with one event at Google. */
async function backgroundCalendar(current: Stack, email: string) {
  // graphile-worker creates its schema as the runner starts: jobs are queued once it has.
  await until(
    async () => current.logs(),
    (logs) => logs.includes('job runner started'),
    {
      what: 'the job runner started',
    },
  );
  const credentialId = await current.authorizedCredential(email);
  const listed = await current.rpc('calendar.list_calendars', { credential_id: credentialId });
  const calendarId = listed.result.calendars[0].id as number;
  await current.db('google_integration_calendar').where({ id: calendarId }).update({ sync_enabled: true });
  await current
    .db('google_integration_google_credentials')
    .where({ id: credentialId })
    .update({ sync_enabled: true });
  await current.control(`/calendar/calendars/${encodeURIComponent(email)}/events`, {
    summary: 'Pulled in the background',
    start: { dateTime: '2026-12-10T09:00:00Z' },
    end: { dateTime: '2026-12-10T10:00:00Z' },
  });
  return { credentialId, calendarId };
}

/** Queues the calendar's background pull as the periodic pass does. */
async function queuePull(db: Knex, credentialId: number, calendarId: number) {
  await db.raw(
    `SELECT ${JOBS}.add_job('sync_calendar', json_build_object('credential_id', ?::int, 'calendar_id', ?::int),
       queue_name => ?, job_key => ?, max_attempts => 5)`,
    [credentialId, calendarId, `calendar:${calendarId}`, `sync_calendar:${calendarId}`],
  );
}

async function locks(db: Knex) {
  const result = await db.raw(
    `SELECT 'job:' || coalesce(key, id::text) AS what, locked_by FROM ${JOBS}._private_jobs WHERE locked_by IS NOT NULL
     UNION ALL
     SELECT 'queue:' || queue_name, locked_by FROM ${JOBS}._private_job_queues WHERE locked_by IS NOT NULL`,
  );
  return result.rows as Array<{ what: string; locked_by: string }>;
}

const pulledEvents = async (db: Knex, calendarId: number) =>
  Number((await db('google_integration_event').where({ calendar: calendarId }).count())[0]?.count);

describe('a sidecar stopped during a background pull', () => {
  it('stopped cleanly (SIGTERM), finishes the pull and leaves no job or queue locked', async () => {
    stack = await startStack({
      template: await trytonTemplate(),
      env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '3600' },
    });
    const { credentialId, calendarId } = await backgroundCalendar(stack, 'sigterm@example.com');
    await stack.control('/latency', { ms: 1500, endpoint: 'calendar' });
    await queuePull(stack.db, credentialId, calendarId);
    const db = stack.db;
    await until(
      () => locks(db),
      (held) => held.some((lock) => lock.what === `queue:calendar:${calendarId}`),
      {
        what: 'the pull running',
      },
    );
    expect(await stack.sidecar.stop('SIGTERM')).toBe(0);
    expect(await locks(db)).toEqual([]);
    const left = await db.raw(`SELECT count(*)::int AS n FROM ${JOBS}.jobs WHERE key = ?`, [
      `sync_calendar:${calendarId}`,
    ]);
    expect(left.rows[0].n).toBe(0);
    expect(await pulledEvents(db, calendarId)).toBe(1);
  });

  it('killed (SIGKILL), has its jobs run again by another replica within four heartbeats', async () => {
    // Heartbeats every second (a quarter of the 4 s interval): a dead runner lapses after 3 s.
    stack = await startStack({
      template: await trytonTemplate(),
      env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '4' },
    });
    const db = stack.db;
    const { credentialId, calendarId } = await backgroundCalendar(stack, 'sigkill@example.com');
    await stack.control('/latency', { ms: 5000, endpoint: 'calendar' });
    await queuePull(db, credentialId, calendarId);
    const [held] = await until(
      () => locks(db),
      (found) => found.some((lock) => lock.what === `queue:calendar:${calendarId}`),
      { what: 'the pull running' },
    );
    const killedAt = performance.now();
    await stack.replaceSidecar('SIGKILL');
    await stack.control('/latency', { ms: 0, endpoint: 'calendar' });
    await until(
      () => locks(db),
      (found) => !found.some((lock) => lock.locked_by === held?.locked_by),
      { what: "the killed runner's locks released" },
    );
    const releasedMs = performance.now() - killedAt;
    await until(
      () => pulledEvents(db, calendarId),
      (count) => count === 1,
      { what: 'the pull done again' },
    );
    console.log(
      `killed runner's locks released after ${releasedMs} ms (bound: 4 heartbeats = 4000 ms + a start)`,
    );
    expect(releasedMs).toBeLessThan(15_000);
    expect(stack.logs()).toContain('released the jobs of job runners that stopped without releasing them');
  });
});

describe('a calendar whose background pulls stopped happening', () => {
  it('says stalled, and ok again once its pull runs', async () => {
    stack = await startStack({
      template: await trytonTemplate(),
      env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '1' },
    });
    const db = stack.db;
    const current = await backgroundCalendar(stack, 'stalled@example.com');
    const { calendarId } = current;
    const calendar = () => db('google_integration_calendar').where({ id: calendarId }).first();
    await until(calendar, (row) => row.sync_status === 'ok', { what: 'a first background pull' });
    // A pull that hangs on a live runner, due two minutes ago: its queue waits behind it.
    await db.transaction(async (trx) => {
      await trx.raw(
        `INSERT INTO google_integration_sidecar.job_runner VALUES ('pool-hung', 'test', now() + interval '1 hour')`,
      );
      await trx.raw(
        `SELECT ${JOBS}.add_job('sync_calendar', '{}'::json, queue_name => ?, job_key => 'hung',
           run_at => now() - interval '2 minutes')`,
        [`calendar:${calendarId}`],
      );
      await trx.raw(
        `UPDATE ${JOBS}._private_jobs SET locked_by = 'pool-hung', locked_at = now() WHERE key = 'hung'`,
      );
      await trx.raw(
        `UPDATE ${JOBS}._private_job_queues SET locked_by = 'pool-hung', locked_at = now() WHERE queue_name = ?`,
        [`calendar:${calendarId}`],
      );
    });
    const stalled = await until(calendar, (row) => row.sync_status === 'stalled', { what: 'stalled' });
    expect(stalled.last_error).toMatch(
      /^No background pull since \d{4}-\d\d-\d\d \d\d:\d\d UTC, though one is due every 1 s/,
    );
    await db.raw(`SELECT ${JOBS}.force_unlock_workers(ARRAY['pool-hung'])`);
    await db.raw(`DELETE FROM ${JOBS}._private_jobs WHERE key = 'hung'`);
    // The next pull that ends, whoever runs it (here Sync Now, not the queue's backoff), says ok.
    const { credentialId } = current;
    expect(
      (await stack.rpc('calendar.sync', { credential_id: credentialId, calendar_id: calendarId })).error,
    ).toBeUndefined();
    const again = await calendar();
    expect(again).toMatchObject({ sync_status: 'ok', last_error: null });
  });
});

describe('SIDECAR_SYNC_INTERVAL', () => {
  it('lowered, applies at the next start instead of after the pass queued with the old one', async () => {
    stack = await startStack({
      template: await trytonTemplate(),
      env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_SYNC_INTERVAL: '86400' },
    });
    const db = stack.db;
    const current = stack;
    await until(
      async () => current.logs(),
      (logs) => logs.includes('job runner started'),
      {
        what: 'the job runner started',
      },
    );
    const nextPass = async (task: string) =>
      (
        await db.raw(
          `SELECT extract(epoch FROM run_at - now())::int AS seconds FROM ${JOBS}.jobs WHERE key = ? AND locked_by IS NULL`,
          [task],
        )
      ).rows[0]?.seconds as number | undefined;
    await until(
      () => nextPass('sync_calendars'),
      (seconds) => seconds !== undefined && seconds > 80_000,
      {
        what: 'the pass queued a day ahead',
      },
    );
    await until(
      () => nextPass('refresh_due_tokens'),
      (seconds) => seconds !== undefined && seconds > 3_000,
      {
        what: 'the refresh pass queued an hour ahead',
      },
    );
    await stack.sidecar.stop();
    const lowered = await startServe({
      ...stack.env,
      SIDECAR_SYNC_INTERVAL: '2',
      SIDECAR_REFRESH_INTERVAL: '2',
    });
    try {
      await until(
        () => nextPass('sync_calendars'),
        (seconds) => seconds !== undefined && seconds <= 2,
        {
          what: 'the pass queued with the new interval',
        },
      );
      await until(
        () => nextPass('refresh_due_tokens'),
        (seconds) => seconds !== undefined && seconds <= 2,
        {
          what: 'the refresh pass queued with the new interval',
        },
      );
    } finally {
      await lowered.stop();
    }
  });
});
