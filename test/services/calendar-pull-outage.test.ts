/**
 * A pull broken by a database outage: Sync Now answers -32006, and the calendar does not keep
 * saying `ok` once the database is back (docs/contracts.md, "JSON-RPC" of the calendar sync). The
 * sidecar reaches PostgreSQL through a proxy the test cuts while the pull waits on Google.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { POSTGRES_URI } from '../support/postgres.js';
import { type Stack, startStack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { trytonTemplate } from '../support/tryton.js';
import { until } from '../support/wait.js';

const EMAIL = 'outage@example.com';
let proxy: TcpProxy;
let stack: Stack;

beforeAll(async () => {
  const target = new URL(POSTGRES_URI);
  proxy = await startTcpProxy(Number(target.port || 5432), target.hostname);
  const through = new URL(POSTGRES_URI);
  through.port = String(proxy.port);
  stack = await startStack({
    template: await trytonTemplate(),
    env: {
      DATABASE_URI: through.toString(),
      SIDECAR_DATABASE_TIMEOUT: '1',
      SIDECAR_REFRESH_INTERVAL: '3600',
      SIDECAR_SYNC_INTERVAL: '3600',
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
});

const listCalls = async () => {
  const stats = await stack.control('/stats');
  return (stats.calendar as Record<string, number>)['events.list'] ?? 0;
};

it('answers -32006, and the calendar says failing once the database is back', async () => {
  const credentialId = await stack.authorizedCredential(EMAIL);
  const listed = await stack.rpc('calendar.list_calendars', { credential_id: credentialId });
  const calendarId = listed.result.calendars[0].id as number;
  await stack.db('google_integration_calendar').where({ id: calendarId }).update({ sync_enabled: true });
  await stack.control(`/calendar/calendars/${encodeURIComponent(EMAIL)}/events`, {
    summary: 'Before the outage',
    start: { date: '2026-12-07' },
    end: { date: '2026-12-08' },
  });
  expect((await stack.rpc('calendar.sync', { credential_id: credentialId })).result).toMatchObject({
    created: 1,
  });
  const calendar = () => stack.db('google_integration_calendar').where({ id: calendarId }).first();
  expect(await calendar()).toMatchObject({ sync_status: 'ok' });

  await stack.control(`/calendar/calendars/${encodeURIComponent(EMAIL)}/events`, {
    summary: 'During the outage',
    start: { date: '2026-12-08' },
    end: { date: '2026-12-09' },
  });
  await stack.control('/latency', { ms: 1500, endpoint: 'calendar' });
  const before = await listCalls();
  const syncing = stack.rpc('calendar.sync', { credential_id: credentialId });
  // The pull waits on Google: the database goes away under it.
  await until(listCalls, (calls) => calls > before, { what: 'the pull listing' });
  proxy.cut();
  const answer = await syncing;
  expect(answer.error?.code).toBe(-32006);
  expect(answer.error?.data?.type).toBe('database_unavailable');
  proxy.restore();
  await stack.control('/latency', { ms: 0, endpoint: 'calendar' });
  const failing = await until(calendar, (row) => row.sync_status === 'failing', {
    what: 'the failure recorded once the database is back',
  });
  expect(failing.last_error).toMatch(
    /^The database was unavailable during the pull \(.+\); it is pulled again later\.$/,
  );
  // Logged once the write has committed, and read from the sidecar's output after the row shows it.
  await until(
    async () => stack.logs().includes('failure of an earlier pull recorded'),
    (logged) => logged,
    { what: 'the recorded failure logged' },
  );

  // The next pull that ends says ok again.
  expect((await stack.rpc('calendar.sync', { credential_id: credentialId })).result).toMatchObject({
    created: 1,
  });
  expect(await calendar()).toMatchObject({ sync_status: 'ok', last_error: null });
});
