/**
 * 6. Calendar pull (docs/contracts.md, "Calendar synchronization"): the sidecar (`serve`, child process)
 * pulls events from the emulator's Calendar v3 (child process of its own) into a Tryton database (a clone
 * of the tests' template with google_integration activated, bench/support/tryton.ts), asked through
 * JSON-RPC `calendar.sync` as Tryton's "Sync now" does, and through its background jobs. Events are
 * created in the emulator through its control API, as a person using Google Calendar would.
 *
 *   6a. Initial import of 10,000 event instances into one calendar (timed, all-day, and recurring series
 *       expanded by Google: the sidecar pulls singleEvents), events per second against a raw batch INSERT
 *       of the same rows into google_integration_event + google_integration_event_detail, in batches of
 *       the sidecar's page size (PAGE_SIZE of pull.ts, read from the build: 2,500 today), one
 *       transaction per batch, on a fresh calendar, in the same run. Shown beside: the same with the
 *       sidecar's event_link rows, that plus the emulator's own time to list the calendar, and the CPU
 *       of the sidecar, its database backends and the emulator during the pull.
 *   6b. An idle sync right after: calls that reached Google (emulator /__emulator/stats) and row versions
 *       written or removed in the five tables of the pull (each row's ctid:xmin before and after; any
 *       INSERT, UPDATE or DELETE changes that set, as the fingerprint of test/services/calendar-sync.test.ts).
 *   6c. 50 calendars of 200 events each, the emulator's calendar endpoint slowed by 100 ms: the time to pull
 *       them all as one `calendar.sync` of the credential (50 enabled calendars), and as the background
 *       jobs do it (`sync_calendars` queues one `sync_calendar` job per calendar, 4 run at once), against
 *       what Google's quotas and the sidecar's pacing allow:
 *
 *         bound = max((N - 1) * s + A + W,  N * W + A)
 *
 *         N  calls to Google needed: one events.list page per calendar (200 events <= the 250 of a page);
 *         s  the spacing between two calls of one user: 60,000 ms / 500 (the sidecar's pacer,
 *            src/services/pacer.ts; Google's own 600/min/user would give 100 ms). The project limits (9,000
 *            a minute paced, 10,000 at Google) space calls by 6.7 ms and bind only past ~18 users;
 *         A  one answer: the added 100 ms plus the emulator's own time for a 200-event page (measured here
 *            without added latency, median of 5);
 *         W  writing one page of 200 events at 6a's raw INSERT rate.
 *       The first term: the last call cannot leave before (N - 1) * s, then its answer and its write
 *       follow. The second: every page written one after another on the database. Any number of calendars
 *       may be in flight at once; the bounds of the sidecar's own concurrency (one calendar at a time in
 *       `calendar.sync`, 4 jobs at once per replica) are printed beside it.
 *
 * Knobs: BENCH_CAL_IMPORT (10000), BENCH_CAL_CALENDARS (50), BENCH_CAL_EVENTS (200), BENCH_CAL_LATENCY
 * (100 ms). Runs alone with `BENCH_ONLY=calendar npm run bench`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Build } from './support/build.js';
import {
  calendarCalls,
  cpuMeter,
  createCalendar,
  describeCpu,
  rowVersions,
  versionDiff,
} from './support/calendar.js';
import { type Child, spawnServer } from './support/children.js';
import { fmt } from './support/load.js';
import { compare, line, median, note, section } from './support/report.js';
import {
  authorizedCredentials,
  databaseUri,
  dropDatabase,
  type Emulator,
  rpc,
  sidecarEnv,
  startEmulator,
} from './support/stack.js';
import { createTrytonDatabase } from './support/tryton.js';

const IMPORT_EVENTS = Number(process.env.BENCH_CAL_IMPORT ?? 10_000);
const TEAM_CALENDARS = Number(process.env.BENCH_CAL_CALENDARS ?? 50);
const TEAM_EVENTS = Number(process.env.BENCH_CAL_EVENTS ?? 200);
const LATENCY_MS = Number(process.env.BENCH_CAL_LATENCY ?? 100);
/** events.list maxResults of the measured sidecar, read from its build (pull.ts PAGE_SIZE). */
let PAGE_SIZE = 250;
/** Requests a minute: the sidecar's pacer (src/services/pacer.ts GOOGLE_QUOTAS) and Google's quotas. */
const PACED_PER_USER = 500;
const PACED_PER_PROJECT = 9_000;
const GOOGLE_PER_USER = 600;
const GOOGLE_PER_PROJECT = 10_000;
/** Jobs run at once per database and replica (src/main.ts JOB_CONCURRENCY). */
const JOB_CONCURRENCY = 4;
const JOBS_TIMEOUT_MS = 60_000;
/** Control API calls in flight while the bench fills the emulator. */
const CREATE_CONCURRENCY = 32;

const EVENT = 'google_integration_event';
const DETAIL = 'google_integration_event_detail';
const CALENDAR = 'google_integration_calendar';
const LINK = 'google_integration_sidecar.event_link';
const SYNC = 'google_integration_sidecar.calendar_sync';
/** Every table the pull writes (the fingerprint of test/services/calendar-sync.test.ts). */
const PULL_TABLES = [CALENDAR, EVENT, DETAIL, LINK, SYNC];
/** Tables of the sidecar's other bookkeeping, shown beside. */
const OTHER_TABLES = ['google_integration_sidecar.credential_lease', 'google_integration_google_credentials'];

type EventBody = Record<string, unknown>;
type Counts = { calendars: number; created: number; updated: number; deleted: number };

export async function calendarSync(build: Build): Promise<void> {
  section(
    `6. Calendar pull: sidecar \`serve\` + emulator (child processes), a Tryton database with google_integration; ` +
      `${fmt(IMPORT_EVENTS)}-event import, idle sync, ${TEAM_CALENDARS} calendars x ${TEAM_EVENTS} events at +${LATENCY_MS} ms`,
  );
  const started = performance.now();
  PAGE_SIZE = sidecarPageSize(build);
  const database = await createTrytonDatabase(build);
  let emulator: Emulator | undefined;
  let sidecar: Child | undefined;
  const db = new pg.Client({
    connectionString: databaseUri(database),
    // Every value as PostgreSQL's text: rows read back are written back unchanged (raw INSERT bound).
    types: { getTypeParser: () => (value: string) => value },
  });
  try {
    emulator = await startEmulator(build);
    sidecar = await spawnServer(build.cli, {
      name: 'calendar-serve',
      args: ['serve'],
      // No background pass unless the bench asks for one (6c's jobs).
      env: { ...sidecarEnv(emulator.url, database, 'info'), SIDECAR_SYNC_INTERVAL: '3600' },
    });
    await db.connect();
    const [credential] = await authorizedCredentials(sidecar.url, emulator, database, 1);
    const context: Context = { database, db, emulator, sidecar, credential: credential as number };
    const fillStarted = performance.now();
    const importCalendar = `bench-import@group.calendar.google.com`;
    await createCalendar(emulator, importCalendar, 'Import', 'Europe/Paris');
    const importPosts = await createEvents(emulator, importCalendar, eventBodies('Import', IMPORT_EVENTS, 8));
    const team = Array.from(
      { length: TEAM_CALENDARS },
      (_, index) => `bench-team-${index + 1}@group.calendar.google.com`,
    );
    let teamPosts = 0;
    for (const [index, id] of team.entries()) {
      await createCalendar(emulator, id, `Team ${index + 1}`, ZONES[index % ZONES.length] as string);
      teamPosts += await createEvents(emulator, id, eventBodies(`Team ${index + 1}`, TEAM_EVENTS, 1));
    }
    note(
      `emulator filled through its control API in ${fmt(performance.now() - fillStarted)} ms ` +
        `(${fmt(importPosts + teamPosts)} events.insert, series included; not measured below)`,
    );
    const listed = await rpcResult<{ calendars: Array<{ id: number; google_id: string }> }>(
      context,
      'calendar.list_calendars',
      {},
    );
    const idOf = new Map(listed.calendars.map((cal) => [cal.google_id, cal.id]));
    const importId = idOf.get(importCalendar) as number;
    const teamIds = team.map((googleId) => idOf.get(googleId) as number);

    const imported = await initialImport(context, importId, importCalendar);
    await teamPull(context, teamIds, team[0] as string, imported.rawRowsPerSecond);
  } finally {
    await emulator?.control('/latency', { ms: 0, endpoint: 'calendar' }).catch(() => {});
    await sidecar?.stop();
    await emulator?.stop();
    await db.end().catch(() => {});
    await dropDatabase(database);
  }
  note(`section 6 took ${fmt((performance.now() - started) / 1000)} s`);
}

interface Context {
  readonly database: string;
  readonly db: pg.Client;
  readonly emulator: Emulator;
  readonly sidecar: Child;
  readonly credential: number;
}

/** 6a and 6b. */
async function initialImport(
  context: Context,
  calendarId: number,
  googleId: string,
): Promise<{ rawRowsPerSecond: number }> {
  const { db, credential } = context;
  await db.query(`UPDATE ${CALENDAR} SET sync_enabled = (id = $1) WHERE credential = $2`, [
    calendarId,
    credential,
  ]);
  const empty = await rowVersions(db, PULL_TABLES);
  const callsBefore = await calendarCalls(context.emulator);
  const cpu = await processCpu(context);
  const t0 = performance.now();
  const counts = await rpcResult<Counts>(context, 'calendar.sync', {});
  const importMs = performance.now() - t0;
  const importCpu = await cpu();
  const importCalls = (await calendarCalls(context.emulator)) - callsBefore;

  // 6b: one more pull, nothing changed in Google.
  const before = await rowVersions(db, [...PULL_TABLES, ...OTHER_TABLES]);
  const importWrites = versionDiff(empty, before, PULL_TABLES);
  const idleCallsBefore = await calendarCalls(context.emulator);
  const tokenBefore = await context.emulator.refreshes();
  const t1 = performance.now();
  const idle = await rpcResult<Counts>(context, 'calendar.sync', {});
  const idleMs = performance.now() - t1;
  const idleCalls = (await calendarCalls(context.emulator)) - idleCallsBefore;
  const idleRefreshes = (await context.emulator.refreshes()) - tokenBefore;
  const after = await rowVersions(db, [...PULL_TABLES, ...OTHER_TABLES]);

  // The bound of 6a, on a fresh calendar of the same credential, and Google's own share of the pull.
  const raw = await rawInsert(db, credential, calendarId);
  const rawLinks = await rawInsert(db, credential, calendarId, true);
  const token = await accessToken(context);
  const listing = await listAll(context.emulator.url, token, googleId);

  const rate = (1000 * counts.created) / importMs;
  const rawRate = (1000 * raw.rows) / raw.ms;
  const pages = Math.ceil(IMPORT_EVENTS / PAGE_SIZE);
  note(
    `6a. calendar.sync of ${fmt(IMPORT_EVENTS)} instances: ${fmt(importMs)} ms, ${fmt(counts.created)} created, ` +
      `${importCalls} calls to Google (${pages} pages of ${PAGE_SIZE} needed)`,
  );
  if (counts.created !== IMPORT_EVENTS) note(`    !! created ${counts.created}, expected ${IMPORT_EVENTS}`);
  note(
    `    CPU meanwhile: ${describeCpu(importCpu)}; ` +
      `${fmt(importWrites.written)} row versions written in the ${PULL_TABLES.length} pull tables`,
  );
  note(
    `    raw INSERT: ${fmt(raw.rows)} events + details, ${raw.batches} transactions of <= ${PAGE_SIZE} + ${PAGE_SIZE} ` +
      `rows (multi-row VALUES), one connection: ${fmt(raw.ms)} ms`,
  );
  compare(
    'events/s, initial import',
    `${fmt(rate)} ev/s`,
    { label: 'raw batch INSERT', value: `${fmt(rawRate)} ev/s`, ratio: rate / rawRate },
    'ratio >= 0.50',
  );
  compare('', '', {
    label: 'raw INSERT + event_link rows',
    value: `${fmt((1000 * rawLinks.rows) / rawLinks.ms)} ev/s`,
    ratio: rate / ((1000 * rawLinks.rows) / rawLinks.ms),
  });
  const serialMs = rawLinks.ms + listing.ms;
  note(
    `    Google's own time (the emulator answering the same ${listing.pages} pages, ${fmt(listing.items)} items, ` +
      `asked one after another from here): ${fmt(listing.ms)} ms`,
  );
  compare('', '', {
    label: 'the same + emulator listing, serial',
    value: `${fmt((1000 * IMPORT_EVENTS) / serialMs)} ev/s`,
    ratio: rate / ((1000 * IMPORT_EVENTS) / serialMs),
  });

  const pullDiff = versionDiff(before, after, PULL_TABLES);
  note(
    `6b. idle calendar.sync right after: ${fmt(idleMs)} ms, answer ${JSON.stringify({ created: idle.created, updated: idle.updated, deleted: idle.deleted })}`,
  );
  compare(
    'calls to Google, idle sync',
    fmt(idleCalls),
    { label: 'one events.list with the sync token', value: '1', ratio: idleCalls },
    'ratio 1',
  );
  line(
    'rows written, idle sync',
    `${pullDiff.written} + ${pullDiff.removed}`,
    `vs nothing changed 0 + 0 (written + removed row versions in ${PULL_TABLES.length} pull tables)`,
    'goal 0',
  );
  for (const table of PULL_TABLES) {
    const one = versionDiff(before, after, [table]);
    if (one.written + one.removed > 0) note(`    ${table}: ${one.written} written, ${one.removed} removed`);
  }
  const otherDiff = versionDiff(before, after, OTHER_TABLES);
  note(
    `    beside: ${otherDiff.written} written + ${otherDiff.removed} removed in ${OTHER_TABLES.join(', ')} ` +
      '(a sync lease taken and deleted within the pull leaves no version to see); ' +
      `token refreshes: ${idleRefreshes}`,
  );
  return { rawRowsPerSecond: rawRate };
}

/** 6c. */
async function teamPull(
  context: Context,
  calendarIds: readonly number[],
  sampleGoogleId: string,
  rawRowsPerSecond: number,
): Promise<void> {
  const { db, emulator, credential } = context;
  await db.query(`UPDATE ${CALENDAR} SET sync_enabled = (id = ANY($1)) WHERE credential = $2`, [
    calendarIds,
    credential,
  ]);
  // The emulator's own time for one calendar's page, before any latency is added.
  const token = await accessToken(context);
  const answers: number[] = [];
  for (let run = 0; run < 6; run++) answers.push((await listAll(emulator.url, token, sampleGoogleId)).ms);
  const emulatorPageMs = median(answers.slice(1));
  await emulator.control('/latency', { ms: LATENCY_MS, endpoint: 'calendar' });
  const expected = calendarIds.length * TEAM_EVENTS;

  // One calendar.sync of the credential.
  let calls = await calendarCalls(emulator);
  let cpu = await processCpu(context);
  const t0 = performance.now();
  const counts = await rpcResult<Counts>(context, 'calendar.sync', {});
  const syncMs = performance.now() - t0;
  const syncCpu = await cpu();
  const syncCalls = (await calendarCalls(emulator)) - calls;
  if (counts.created !== expected || counts.calendars !== calendarIds.length)
    note(`    !! calendar.sync answered ${JSON.stringify(counts)}, expected ${expected} created`);

  // The same pull again from scratch, as the background jobs do it: they pull only for credentials
  // whose synchronization is on (the credential's switch; Sync Now needs only the calendars').
  await forget(db, calendarIds);
  await db.query('UPDATE google_integration_google_credentials SET sync_enabled = true WHERE id = $1', [
    credential,
  ]);
  const marker = (await db.query(`SELECT timezone('UTC', now()) AS at`)).rows[0].at as string;
  calls = await calendarCalls(emulator);
  cpu = await processCpu(context);
  const t1 = performance.now();
  await db.query(
    `SELECT google_integration_jobs.add_job('sync_calendars', '{}'::json, run_at := now(), max_attempts := 1,
       job_key := 'sync_calendars', job_key_mode := 'replace')`,
  );
  let done = 0;
  while (done < calendarIds.length && performance.now() - t1 < JOBS_TIMEOUT_MS) {
    await sleep(20);
    const row = await db.query(
      `SELECT count(*) AS n FROM ${CALENDAR} WHERE id = ANY($1) AND sync_status = 'ok' AND last_sync >= $2`,
      [calendarIds, marker],
    );
    done = Number(row.rows[0].n);
  }
  const jobsMs = performance.now() - t1;
  const jobsCpu = await cpu();
  const jobsCalls = (await calendarCalls(emulator)) - calls;
  const held = Number(
    (await db.query(`SELECT count(*) AS n FROM ${EVENT} WHERE calendar = ANY($1)`, [calendarIds])).rows[0].n,
  );
  await emulator.control('/latency', { ms: 0, endpoint: 'calendar' });
  if (done < calendarIds.length || held !== expected)
    note(`    !! jobs: ${done}/${calendarIds.length} calendars pulled, ${held}/${expected} events held`);

  const n = calendarIds.length * Math.ceil(TEAM_EVENTS / PAGE_SIZE);
  const spacing = 60_000 / PACED_PER_USER;
  const answer = LATENCY_MS + emulatorPageMs;
  const write = (1000 * TEAM_EVENTS) / rawRowsPerSecond;
  const boundOf = (s: number) => Math.max((n - 1) * s + answer + write, n * write + answer);
  const bound = boundOf(spacing);
  const googleBound = boundOf(60_000 / GOOGLE_PER_USER);
  const oneAtATime = n * (answer + write);
  const jobsBound = Math.max(bound, Math.ceil(n / JOB_CONCURRENCY) * (answer + write));
  note(
    `6c. ${calendarIds.length} calendars x ${TEAM_EVENTS} events, calendar endpoint +${LATENCY_MS} ms: ` +
      `calendar.sync ${fmt(syncMs)} ms (${syncCalls} calls), background jobs ${fmt(jobsMs)} ms (${jobsCalls} calls)`,
  );
  note(`    CPU meanwhile: calendar.sync: ${describeCpu(syncCpu)}; jobs: ${describeCpu(jobsCpu)}`);
  compare(
    `calendar.sync, ${calendarIds.length} calendars`,
    `${fmt(syncMs)} ms`,
    { label: 'quota bound', value: `${fmt(bound)} ms`, ratio: syncMs / bound },
    'ratio <= 1.25',
  );
  compare('', '', {
    label: 'one calendar at a time N*(A+W)',
    value: `${fmt(oneAtATime)} ms`,
    ratio: syncMs / oneAtATime,
  });
  compare(
    `background jobs, ${calendarIds.length} calendars`,
    `${fmt(jobsMs)} ms`,
    { label: 'quota bound', value: `${fmt(bound)} ms`, ratio: jobsMs / bound },
    'ratio <= 1.25',
  );
  compare('', '', {
    label: `${JOB_CONCURRENCY} jobs at once`,
    value: `${fmt(jobsBound)} ms`,
    ratio: jobsMs / jobsBound,
  });
  note(
    `    quota bound = max((N-1)*s + A + W, N*W + A) = max((${n}-1)*${fmt(spacing)} + ${fmt(answer)} + ` +
      `${fmt(write, 1)}, ${n}*${fmt(write, 1)} + ${fmt(answer)}) ms = ${fmt(bound)} ms`,
  );
  note(
    `      N = ${n} events.list calls (${TEAM_EVENTS} events <= ${PAGE_SIZE} a page); s = 60,000/${PACED_PER_USER} ms ` +
      `(pacer per user; project: 60,000/${fmt(PACED_PER_PROJECT)} = ${fmt(60_000 / PACED_PER_PROJECT, 1)} ms, not binding)`,
  );
  note(
    `      A = ${LATENCY_MS} ms + ${fmt(emulatorPageMs, 1)} ms (the emulator's own answer for one calendar, median); ` +
      `W = ${TEAM_EVENTS} events at 6a's raw INSERT ${fmt(rawRowsPerSecond)} ev/s`,
  );
  note(
    `      at Google's own ${GOOGLE_PER_USER}/min/user (${fmt(GOOGLE_PER_PROJECT)}/min/project) it would be ` +
      `${fmt(googleBound)} ms`,
  );
  note(
    `      one calendar at a time is what calendar.sync does (calendar-service.ts sync()); ${JOB_CONCURRENCY} jobs at ` +
      `once: max(quota bound, ceil(N/${JOB_CONCURRENCY})*(A+W))`,
  );
}

function sidecarPageSize(build: Build): number {
  // The events' page size: pull.ts's (calendar-service.ts's is calendarList's).
  const file = join(dirname(build.cli), 'services', 'calendar', 'pull.js');
  const found = /const PAGE_SIZE = (\d+);/.exec(readFileSync(file, 'utf8'))?.[1];
  if (found === undefined) note(`!! no PAGE_SIZE in ${file}: assuming 250`);
  return Number(found ?? 250);
}

/** Forgets what the sidecar pulled from `calendarIds`, so the next pull is a first, full one again. */
async function forget(db: pg.Client, calendarIds: readonly number[]): Promise<void> {
  await db.query(`DELETE FROM ${EVENT} WHERE calendar = ANY($1)`, [calendarIds]);
  await db.query(`DELETE FROM ${LINK} WHERE calendar_id = ANY($1)`, [calendarIds]);
  await db.query(`DELETE FROM ${SYNC} WHERE calendar_id = ANY($1)`, [calendarIds]);
  await db.query(
    `UPDATE ${CALENDAR} SET sync_status = 'never', last_sync = NULL, last_sync_created = NULL,
       last_sync_updated = NULL, last_sync_deleted = NULL WHERE id = ANY($1)`,
    [calendarIds],
  );
}

/**
 * The rows the sidecar wrote for `sourceCalendar`, inserted again under a fresh calendar of the same
 * credential: per batch of PAGE_SIZE, one transaction of one multi-row INSERT into the events (RETURNING
 * their ids) and one into the details, every column as the sidecar wrote it (create/write stamps as it
 * sets them). The fresh calendar is deleted afterwards (its rows with it).
 */
async function rawInsert(
  db: pg.Client,
  credential: number,
  sourceCalendar: number,
  withLinks = false,
): Promise<{ ms: number; rows: number; batches: number }> {
  const stamps = ['id', 'create_date', 'create_uid', 'write_date', 'write_uid'];
  const columnsOf = async (table: string, skip: readonly string[]) =>
    (
      await db.query(
        `SELECT column_name FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = $1 AND NOT (column_name = ANY($2))
         ORDER BY ordinal_position`,
        [table, [...stamps, ...skip]],
      )
    ).rows.map((row) => row.column_name as string);
  const eventColumns = await columnsOf(EVENT, ['calendar']);
  const detailColumns = await columnsOf(DETAIL, ['event']);
  const source = await db.query({
    text: `SELECT ${[...eventColumns.map((c) => `e."${c}"`), ...detailColumns.map((c) => `d."${c}"`)].join(', ')},
             l.etag, l.content_hash
           FROM ${EVENT} e JOIN ${DETAIL} d ON d.event = e.id
           JOIN ${LINK} l ON l.calendar_id = e.calendar AND l.google_id = e.google_id
           WHERE e.calendar = $1 ORDER BY e.id`,
    values: [sourceCalendar],
    rowMode: 'array',
  });
  const rows = source.rows as unknown[][];
  const fresh = await db.query(
    `INSERT INTO ${CALENDAR} (credential, google_id, name, active, sync_enabled, sync_status,
       create_date, create_uid, write_date, write_uid)
     VALUES ($1, $2, 'raw INSERT bound', true, false, 'never',
       timezone('UTC', now()), 0, timezone('UTC', now()), 0) RETURNING id`,
    [credential, `bench-raw-insert${withLinks ? '-links' : ''}`],
  );
  const calendar = fresh.rows[0].id as string;
  const googleIdAt = eventColumns.indexOf('google_id');
  const detailEnd = eventColumns.length + detailColumns.length;
  const linkSql = (count: number) =>
    `INSERT INTO ${LINK} (calendar_id, google_id, event_id, etag, content_hash) VALUES ${Array.from(
      { length: count },
      (_, row) => `($1, $${row * 4 + 2}, $${row * 4 + 3}, $${row * 4 + 4}, $${row * 4 + 5})`,
    ).join(', ')}`;
  const quoted = (columns: readonly string[]) => columns.map((c) => `"${c}"`).join(', ');
  const valuesSql = (count: number, width: number, first: string) =>
    Array.from({ length: count }, (_, row) => {
      const params = Array.from({ length: width }, (_, col) => `$${row * width + col + 2}`);
      return `(${first}, ${params.join(', ')}, timezone('UTC', now()), 0, timezone('UTC', now()), 0)`;
    }).join(', ');
  const eventSql = (count: number) =>
    `INSERT INTO ${EVENT} (calendar, ${quoted(eventColumns)}, create_date, create_uid, write_date, write_uid)
     VALUES ${valuesSql(count, eventColumns.length, '$1')} RETURNING id`;
  const detailSql = (count: number) =>
    `INSERT INTO ${DETAIL} (event, ${quoted(detailColumns)}, create_date, create_uid, write_date, write_uid)
     VALUES ${Array.from({ length: count }, (_, row) => {
       const params = Array.from(
         { length: detailColumns.length },
         (_, col) => `$${row * (detailColumns.length + 1) + col + 2}`,
       );
       return `($${row * (detailColumns.length + 1) + 1}, ${params.join(', ')}, timezone('UTC', now()), 0, timezone('UTC', now()), 0)`;
     }).join(', ')}`;
  const batches: unknown[][][] = [];
  for (let start = 0; start < rows.length; start += PAGE_SIZE)
    batches.push(rows.slice(start, start + PAGE_SIZE));
  const started = performance.now();
  for (const batch of batches) {
    await db.query('BEGIN');
    const ids = await db.query(eventSql(batch.length), [
      calendar,
      ...batch.flatMap((row) => row.slice(0, eventColumns.length)),
    ]);
    await db.query(
      detailSql(batch.length),
      batch.flatMap((row, index) => [ids.rows[index].id, ...row.slice(eventColumns.length, detailEnd)]),
    );
    if (withLinks)
      await db.query(linkSql(batch.length), [
        calendar,
        ...batch.flatMap((row, index) => [row[googleIdAt], ids.rows[index].id, ...row.slice(detailEnd)]),
      ]);
    await db.query('COMMIT');
  }
  const ms = performance.now() - started;
  await db.query(`DELETE FROM ${LINK} WHERE calendar_id = $1`, [calendar]);
  await db.query(`DELETE FROM ${CALENDAR} WHERE id = $1`, [calendar]);
  return { ms, rows: rows.length, batches: batches.length };
}

/** CPU of the sidecar, the emulator and the sidecar's database backends from now on. */
function processCpu(context: Context) {
  return cpuMeter(context.db, context.database, {
    sidecar: context.sidecar.child.pid as number,
    emulator: context.emulator.child.pid as number,
  });
}

async function rpcResult<T>(context: Context, method: string, params: Record<string, unknown>): Promise<T> {
  const answer = await rpc(context.sidecar.url, method, {
    database: context.database,
    credential_id: context.credential,
    ...params,
  });
  if (!answer.result) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

async function accessToken(context: Context): Promise<string> {
  return (await rpcResult<{ access_token: string }>(context, 'credentials.get_access_token', {}))
    .access_token;
}

/** Pages through a calendar's events as the sidecar's first pull does (singleEvents, 250 a page). */
async function listAll(
  emulatorUrl: string,
  token: string,
  calendarId: string,
): Promise<{ ms: number; pages: number; items: number }> {
  let pageToken: string | undefined;
  let pages = 0;
  let items = 0;
  const started = performance.now();
  do {
    const query = new URLSearchParams({ singleEvents: 'true', maxResults: String(PAGE_SIZE) });
    if (pageToken) query.set('pageToken', pageToken);
    const response = await fetch(
      `${emulatorUrl}/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events?${query}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    if (!response.ok) throw new Error(`events.list: ${response.status} ${await response.text()}`);
    const page = (await response.json()) as { items?: unknown[]; nextPageToken?: string };
    pages++;
    items += page.items?.length ?? 0;
    pageToken = page.nextPageToken;
  } while (pageToken);
  return { ms: performance.now() - started, pages, items };
}

/** events.insert through the control API, a few at a time; returns how many were sent. */
async function createEvents(
  emulator: Emulator,
  calendarId: string,
  bodies: readonly EventBody[],
): Promise<number> {
  const url = `${emulator.url}/__emulator/calendar/calendars/${encodeURIComponent(calendarId)}/events`;
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        if (response.status !== 201)
          throw new Error(`events.insert: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
      }
    }),
  );
  return bodies.length;
}

const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC'];
const DAY_MS = 86_400_000;
const day = (offset: number) => new Date(Date.UTC(2026, 0, 5) + offset * DAY_MS).toISOString().slice(0, 10);

/**
 * Events whose instances number exactly `instances`: `series` recurring series (timed daily or weekly in
 * a zone, or weekly all-day) holding a tenth of them, the rest single events over two years, one in six
 * all-day, some with a description, a location, attendees or private visibility.
 */
function eventBodies(prefix: string, instances: number, series: number): EventBody[] {
  const perSeries = Math.floor(instances / 10 / series);
  const bodies: EventBody[] = [];
  for (let index = 0; index < series; index++) {
    const zone = ZONES[index % ZONES.length] as string;
    const start = day(index * 2);
    const recurrence = [`RRULE:FREQ=${index % 2 ? 'WEEKLY' : 'DAILY'};COUNT=${perSeries}`];
    bodies.push(
      index % 3 === 2
        ? {
            summary: `${prefix} series ${index + 1} (all day)`,
            start: { date: start },
            end: { date: day(index * 2 + 1) },
            recurrence: [`RRULE:FREQ=WEEKLY;COUNT=${perSeries}`],
          }
        : {
            summary: `${prefix} series ${index + 1}`,
            description: 'A recurring meeting',
            start: { dateTime: `${start}T08:30:00`, timeZone: zone },
            end: { dateTime: `${start}T09:00:00`, timeZone: zone },
            recurrence,
          },
    );
  }
  const singles = instances - perSeries * series;
  for (let index = 0; index < singles; index++) {
    const offset = index % 730;
    const extra: EventBody = {
      ...(index % 3 === 0 ? { description: `Agenda of meeting ${index + 1}\nPoints to discuss.` } : {}),
      ...(index % 5 === 0 ? { location: `Room ${(index % 40) + 1}` } : {}),
      ...(index % 7 === 0
        ? { attendees: [{ email: `a${index % 50}@example.com` }, { email: `b${index % 30}@example.com` }] }
        : {}),
      ...(index % 13 === 0 ? { visibility: 'private' } : {}),
    };
    if (index % 6 === 5) {
      bodies.push({
        summary: `${prefix} day ${index + 1}`,
        start: { date: day(offset) },
        end: { date: day(offset + 1 + (index % 3)) },
        ...extra,
      });
    } else {
      const zone = ZONES[index % ZONES.length] as string;
      const hour = String(7 + (index % 11)).padStart(2, '0');
      bodies.push({
        summary: `${prefix} meeting ${index + 1}`,
        start: { dateTime: `${day(offset)}T${hour}:00:00`, timeZone: zone },
        end: { dateTime: `${day(offset)}T${hour}:45:00`, timeZone: zone },
        ...extra,
      });
    }
  }
  return bodies;
}
