/**
 * 7. Calendar push (docs/contracts.md, "Calendar synchronization", "Two-way rules"): appointments made in
 * Tryton reach Google. trytond (the project's virtualenv) serves a Tryton database with google_integration
 * (a clone of the tests' template, bench/support/tryton.ts); a user who is only in the "Google Calendar"
 * group makes and changes appointments through Tryton's ORM over trytond's JSON-RPC, as Tryton's web
 * client does: `model.google_integration.event.create` / `write`, each one committed Tryton transaction
 * that sets pending_push, so the module's trigger queues the calendar's round (`sync_calendar` job) and
 * the sidecar (`serve`, child process, 4 jobs at once) pushes to the emulator (child process, its quotas
 * switched on: 600 calls/min/user, 10,000/min/project, as Google). Between the sidecar and the emulator's
 * Calendar API sits a recording pass-through (bench/support/google-tap.ts): it tells when each event was
 * at Google, how the calls were spaced, and which were refused for rate limits (the sidecar retries
 * those silently).
 *
 *   7a. 1,000 appointments created in one `create` (one transaction) on one calendar: commit (the RPC's
 *       answer) -> the 1,000th at Google, against what the pacer alone allows: the round's list call, then
 *       1,000 inserts, each a spacing s after the one before: N*s + A (A: the emulator's answer to an
 *       insert, median). s is measured: the sidecar's own Pacer (src/services/pacer.ts, from the build)
 *       booking slots for one user in this process. Rate-limit answers counted (goal 0).
 *   7b. 50 calendars x 20 appointments, created in one `create`, the emulator's calendar endpoint slowed by
 *       100 ms: commit -> the last at Google and -> every round done, against the bound of the quotas and
 *       the sidecar's concurrency together: max((calls - 1)*s + A, ceil(C/J)*(one round's calls, one
 *       after another)), J = 4 rounds at once (JOB_CONCURRENCY of main.ts; calendar.sync's
 *       CONCURRENT_CALENDARS is the same 4).
 *   7c. 200 saves one after another (a create, then a change of its summary, and so on), each after the
 *       previous round ended and one pacer spacing more: commit -> the event (or its change) at Google,
 *       p50 and p99, against the floor the round's shape and the pacer give (its pull lists first, the
 *       push leaves s later: s + A), goal p99 < 2 s.
 *   7d. Idle rounds of the 50 calendars (`calendar.sync` of the credential, as Sync Now): calls at Google
 *       (one events.list each), and writes on both sides: row versions (ctid:xmin) of Tryton's calendar
 *       tables and of every table of the sidecar's schema, and the emulator's writes (/__emulator/stats).
 *       Twice: first after 7c changed another calendar of the account (the emulator's sync tokens carry
 *       its store-wide change number, so every calendar's next token differs, as Google's may), then
 *       right after, when nothing at all changed.
 *
 * Knobs: BENCH_PUSH_CHANGES (1000), BENCH_PUSH_CALENDARS (50), BENCH_PUSH_PER_CALENDAR (20),
 * BENCH_PUSH_LATENCY (100 ms), BENCH_PUSH_SAVES (200), BENCH_PUSH_PROFILE=1 (the sidecar under
 * --cpu-prof, its CPU by owner per figure). Runs alone with `BENCH_ONLY=push npm run bench`.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { TrytonSession } from '../test/support/trytond.js';
import { type Build, CACHE } from './support/build.js';
import {
  calendarStats,
  cpuMeter,
  createCalendar,
  describeCpu,
  rowVersions,
  versionDiff,
} from './support/calendar.js';
import { type Child, spawnServer } from './support/children.js';
import { byCategory, latestProfile, summarizeProfile, top } from './support/cpu-profile.js';
import { GoogleTap, isRateLimited, succeeded, type TappedCall } from './support/google-tap.js';
import { fmt } from './support/load.js';
import { compare, line, median, note, percentile, section } from './support/report.js';
import {
  authorizedCredentials,
  databaseUri,
  dropDatabase,
  type Emulator,
  POSTGRES_URI,
  rpc,
  sidecarEnv,
  startEmulator,
} from './support/stack.js';
import {
  type BenchTrytond,
  calendarUser,
  createTrytonDatabase,
  startBenchTrytond,
  trytonDatetime,
} from './support/tryton.js';

const CHANGES = Number(process.env.BENCH_PUSH_CHANGES ?? 1_000);
const TEAM_CALENDARS = Number(process.env.BENCH_PUSH_CALENDARS ?? 50);
const TEAM_CHANGES = Number(process.env.BENCH_PUSH_PER_CALENDAR ?? 20);
const LATENCY_MS = Number(process.env.BENCH_PUSH_LATENCY ?? 100);
const SAVES = Number(process.env.BENCH_PUSH_SAVES ?? 200);
const PROFILE = process.env.BENCH_PUSH_PROFILE === '1';
/** Takes of one user's slot when the pacer's spacing is measured. */
const PACER_TAKES = 26;
const PROFILES = join(CACHE, 'profiles', 'push');

const EVENT = 'google_integration_event';
const CALENDAR = 'google_integration_calendar';
/** Tryton's tables of the calendar sync (written by Tryton's ORM and the sidecar). */
const TRYTON_TABLES = [
  CALENDAR,
  'google_integration_calendar_member',
  EVENT,
  'google_integration_event_detail',
  'google_integration_event_tombstone',
  'google_integration_event_conflict',
  'google_integration_google_credentials',
];
const SIDECAR_SCHEMA = 'google_integration_sidecar';
/** The job runner's heartbeat (src/jobs/runner-heartbeat.ts): written on its own clock, not by a round. */
const HEARTBEAT = `${SIDECAR_SCHEMA}.job_runner`;
const WRITE_OPS = /\.(insert|patch|update|delete|move|import|quickAdd|clear)$/;
const DAY_MS = 86_400_000;

interface Context {
  readonly database: string;
  readonly db: pg.Client;
  readonly emulator: Emulator;
  readonly tap: GoogleTap;
  readonly sidecar: Child;
  readonly trytond: BenchTrytond;
  /** A Tryton user in the "Google Calendar" group only. */
  readonly planner: TrytonSession;
  readonly credential: number;
  /** The pacer's spacing of one user's calls, measured (ms). */
  readonly spacing: number;
  /** The sidecar's concurrency, read from the build. */
  readonly jobs: number;
  readonly concurrentCalendars: number;
}

/** One Tryton calendar and the Google calendar it is. */
interface Cal {
  readonly id: number;
  readonly google: string;
}

/** The sidecar's CPU profile windows (process.hrtime.bigint()), by figure. */
const windows: Array<{ name: string; from: bigint; to: bigint }> = [];

export async function calendarPush(build: Build): Promise<void> {
  section(
    `7. Calendar push: Tryton (trytond JSON-RPC, a "Google Calendar" user) -> trigger -> sidecar \`serve\` -> ` +
      `emulator (quotas on); ${fmt(CHANGES)} changes on one calendar, ${TEAM_CALENDARS} calendars x ` +
      `${TEAM_CHANGES} at +${LATENCY_MS} ms, ${SAVES} saves -> Google, idle rounds of ${TEAM_CALENDARS} calendars`,
  );
  const started = performance.now();
  const built = readConcurrency(build);
  if (PROFILE) {
    rmSync(PROFILES, { recursive: true, force: true });
    mkdirSync(PROFILES, { recursive: true });
  }
  const database = await createTrytonDatabase(build, 'gi_bench_push');
  let emulator: Emulator | undefined;
  let tap: GoogleTap | undefined;
  let sidecar: Child | undefined;
  let trytond: BenchTrytond | undefined;
  const db = new pg.Client({ connectionString: databaseUri(database) });
  try {
    emulator = await startEmulator(build);
    tap = await GoogleTap.start(emulator.url);
    sidecar = await spawnServer(build.cli, {
      name: 'push-serve',
      args: ['serve'],
      // Rounds come from Tryton's trigger (and Sync Now in 7d): no background pass.
      env: {
        ...sidecarEnv(emulator.url, database, 'info'),
        GOOGLE_API_ROOT_URL: `${tap.url}/`,
        SIDECAR_SYNC_INTERVAL: '3600',
      },
      ...(PROFILE ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', PROFILES] } : {}),
    });
    await db.connect();
    const setupStarted = performance.now();
    const [credential] = await authorizedCredentials(sidecar.url, emulator, database, 1);
    trytond = await startBenchTrytond(database, sidecar.url);
    const planner = await calendarUser(trytond, database, 'planner');

    const pushGoogle = 'bench-push@group.calendar.google.com';
    const savesGoogle = 'bench-saves@group.calendar.google.com';
    const teamGoogle = Array.from(
      { length: TEAM_CALENDARS },
      (_, index) => `bench-push-team-${index + 1}@group.calendar.google.com`,
    );
    await createCalendar(emulator, pushGoogle, 'Push', 'Europe/Paris');
    await createCalendar(emulator, savesGoogle, 'Saves', 'Europe/Paris');
    for (const [index, google] of teamGoogle.entries())
      await createCalendar(emulator, google, `Team ${index + 1}`, 'Europe/Paris');
    const listed = await sidecarRpc<{ calendars: Array<{ id: number; google_id: string }> }>(
      sidecar,
      database,
      credential as number,
      'calendar.list_calendars',
    );
    const idOf = new Map(listed.calendars.map((one) => [one.google_id, one.id]));
    const cal = (google: string): Cal => ({ id: idOf.get(google) as number, google });
    const pushCal = cal(pushGoogle);
    const savesCal = cal(savesGoogle);
    const teamCals = teamGoogle.map(cal);
    const all = [pushCal, savesCal, ...teamCals];
    // Tryton's admin switches their synchronization on (only admins may); then a first Sync Now.
    await trytond.admin.call('model.google_integration.calendar.write', [
      all.map((one) => one.id),
      { sync_enabled: true },
      {},
    ]);
    await sidecarRpc(sidecar, database, credential as number, 'calendar.sync');
    const quotas = await emulator.control('/calendar/quotas', { enabled: true });
    const { spacing, quotas: pacerQuotas } = await pacerSpacing(build, database);
    note(
      `set up in ${fmt((performance.now() - setupStarted) / 1000)} s: ${all.length} empty calendars owned by the ` +
        `credential's account, synchronized and pulled once; emulator quotas ${JSON.stringify(quotas)}`,
    );
    note(
      `pacer: the build's Pacer (GOOGLE_QUOTAS ${JSON.stringify(pacerQuotas)}) spaced ${PACER_TAKES} takes of one ` +
        `user by s = ${fmt(spacing, 2)} ms here (60,000/${pacerQuotas.perUser} = ${fmt(60_000 / pacerQuotas.perUser, 2)})`,
    );
    const context: Context = {
      database,
      db,
      emulator,
      tap,
      sidecar,
      trytond,
      planner,
      credential: credential as number,
      spacing,
      jobs: built.jobConcurrency,
      concurrentCalendars: built.concurrentCalendars,
    };
    await pushOne(context, pushCal);
    await pushTeam(context, teamCals);
    await saveToGoogle(context, savesCal);
    // 7d: the 50 calendars alone.
    await trytond.admin.call('model.google_integration.calendar.write', [
      [pushCal.id, savesCal.id],
      { sync_enabled: false },
      {},
    ]);
    await idleRound(context, teamCals);
  } finally {
    await emulator?.control('/latency', { ms: 0, endpoint: 'calendar' }).catch(() => {});
    await trytond?.stop();
    await sidecar?.stop();
    await tap?.stop();
    await emulator?.stop();
    await db.end().catch(() => {});
    await dropDatabase(database);
  }
  if (PROFILE) printProfile();
  note(`section 7 took ${fmt((performance.now() - started) / 1000)} s`);
}

/** 7a. */
async function pushOne(context: Context, cal: Cal): Promise<void> {
  const { tap, spacing } = context;
  const values = Array.from({ length: CHANGES }, (_, index) => appointment(cal.id, index, 'Push'));
  const mark = markFigure('7a');
  const from = tap.calls.length;
  const cpu = await meter(context);
  const created = await createInTryton(context, values);
  const bound = CHANGES * spacing;
  const timeoutMs = 3 * bound + 60_000;
  const last = await tap.waitForKeys(
    from,
    CHANGES,
    (call) =>
      call.op === 'events.insert' && call.calendar === cal.google && succeeded(call)
        ? call.eventId
        : undefined,
    timeoutMs,
    '7a: appointments at Google',
  );
  const done = await roundsDone(context, [cal], timeoutMs);
  const usage = await cpu();
  mark();
  const calls = tap.since(from);
  const check = await checkPushed(context, created.ids, calls);
  const insertMs = answerMs(calls, 'events.insert');
  const listMs = answerMs(calls, 'events.list');
  const atGoogle = last.answeredAt - created.committedAt;
  const doneMs = done - created.committedAt;
  const lastBound = CHANGES * spacing + insertMs;
  const doneBound = (CHANGES + 1) * spacing + listMs;
  note(
    `7a. ${fmt(CHANGES)} appointments on one calendar, made in one \`create\` of google_integration.event over ` +
      `trytond's JSON-RPC (one transaction; its trigger queued one round): the create took ${fmt(created.ms)} ms`,
  );
  describeCalls(calls, created.committedAt, context);
  note(`    ${check}`);
  note(`    CPU meanwhile: ${describeCpu(usage)}`);
  compare(
    `all ${fmt(CHANGES)} at Google`,
    `${fmt(atGoogle)} ms`,
    { label: 'pacer bound N*s + A', value: `${fmt(lastBound)} ms`, ratio: atGoogle / lastBound },
    'ratio <= 1.10',
  );
  rateLimitLine(calls);
  compare('round done (all synced in Tryton)', `${fmt(doneMs)} ms`, {
    label: '(N+1)*s + A(list)',
    value: `${fmt(doneBound)} ms`,
    ratio: doneMs / doneBound,
  });
  note(
    `    pacer bound = N*s + A = ${fmt(CHANGES)} * ${fmt(spacing, 2)} + ${fmt(insertMs, 1)} ms: the round's ` +
      `events.list, then ${fmt(CHANGES)} events.insert each s after the one before, the last answered in A ` +
      `(the emulator's median insert here); "done" adds the round's closing events.list`,
  );
}

/** 7b. */
async function pushTeam(context: Context, cals: readonly Cal[]): Promise<void> {
  const { tap, spacing, emulator } = context;
  const values = cals.flatMap((cal, c) =>
    Array.from({ length: TEAM_CHANGES }, (_, index) => appointment(cal.id, c * TEAM_CHANGES + index, 'Team')),
  );
  const googleIds = new Set(cals.map((cal) => cal.google));
  const total = cals.length * TEAM_CHANGES;
  await emulator.control('/latency', { ms: LATENCY_MS, endpoint: 'calendar' });
  try {
    const mark = markFigure('7b');
    const from = tap.calls.length;
    const cpu = await meter(context);
    const created = await createInTryton(context, values);
    const rough = (cals.length * (TEAM_CHANGES + 2) - 1) * spacing;
    const timeoutMs = 3 * rough + 60_000;
    const last = await tap.waitForKeys(
      from,
      total,
      (call) =>
        call.op === 'events.insert' && googleIds.has(call.calendar ?? '') && succeeded(call)
          ? `${call.calendar}/${call.eventId}`
          : undefined,
      timeoutMs,
      '7b: appointments at Google',
    );
    const done = await roundsDone(context, cals, timeoutMs);
    const usage = await cpu();
    mark();
    const calls = tap.since(from);
    const check = await checkPushed(context, created.ids, calls);
    const insertMs = answerMs(calls, 'events.insert');
    const listMs = answerMs(calls, 'events.list');
    const atGoogle = last.answeredAt - created.committedAt;
    const doneMs = done - created.committedAt;
    const c = cals.length;
    const waves = Math.ceil(c / context.jobs);
    // One round, one call after another: its list, its inserts, its closing list.
    const round = 2 * listMs + TEAM_CHANGES * insertMs;
    const quotaLast = (c + total - 1) * spacing + insertMs;
    const quotaDone = (c * (TEAM_CHANGES + 2) - 1) * spacing + listMs;
    const concurrencyLast = waves * round - listMs;
    const concurrencyDone = waves * round;
    const boundLast = Math.max(quotaLast, concurrencyLast);
    const boundDone = Math.max(quotaDone, concurrencyDone);
    note(
      `7b. ${c} calendars x ${TEAM_CHANGES} appointments made in one \`create\` (${fmt(total)} events, one ` +
        `transaction, ${c} rounds queued by the trigger), calendar endpoint +${LATENCY_MS} ms: the create took ` +
        `${fmt(created.ms)} ms`,
    );
    describeCalls(calls, created.committedAt, context);
    note(`    ${check}`);
    note(`    CPU meanwhile: ${describeCpu(usage)}`);
    compare(
      `all ${fmt(total)} at Google`,
      `${fmt(atGoogle)} ms`,
      { label: 'quota+concurrency bound', value: `${fmt(boundLast)} ms`, ratio: atGoogle / boundLast },
      'ratio <= 1.25',
    );
    compare(
      `every round done (${c} calendars)`,
      `${fmt(doneMs)} ms`,
      { label: 'quota+concurrency bound', value: `${fmt(boundDone)} ms`, ratio: doneMs / boundDone },
      'ratio <= 1.25',
    );
    rateLimitLine(calls);
    note(
      `    bound = max(quota, concurrency). quota: (calls - 1)*s + A: all at Google needs ${c} events.list + ` +
        `${fmt(total)} events.insert = ${fmt(c + total)} calls -> ${fmt(quotaLast)} ms; every round done, ` +
        `${fmt(c * (TEAM_CHANGES + 2))} calls -> ${fmt(quotaDone)} ms (s = ${fmt(spacing, 2)} ms, one credential)`,
    );
    note(
      `      concurrency: ${context.jobs} rounds at once (JOB_CONCURRENCY; calendar.sync's CONCURRENT_CALENDARS ` +
        `${context.concurrentCalendars}), each a list, ${TEAM_CHANGES} inserts and a list one after another: ` +
        `ceil(${c}/${context.jobs}) * (2*${fmt(listMs, 1)} + ${TEAM_CHANGES}*${fmt(insertMs, 1)}) = ${fmt(concurrencyDone)} ms ` +
        `(A: the emulator's median answers here, +${LATENCY_MS} ms included)`,
    );
  } finally {
    await emulator.control('/latency', { ms: 0, endpoint: 'calendar' });
  }
}

/** 7c. */
async function saveToGoogle(context: Context, cal: Cal): Promise<void> {
  const { tap, planner, spacing } = context;
  const latencies: Array<{ kind: 'create' | 'change'; ms: number; pickup: number; save: number }> = [];
  const mark = markFigure('7c');
  const from = tap.calls.length;
  const cpu = await meter(context);
  let current: { id: number; google: string } | undefined;
  for (let index = 0; index < SAVES; index++) {
    const first = tap.calls.length;
    const started = performance.now();
    let committedAt: number;
    let match: (call: TappedCall) => boolean;
    if (current === undefined || index % 2 === 0) {
      const [id] = (await planner.call('model.google_integration.event.create', [
        [appointment(cal.id, index, 'Save')],
        {},
      ])) as number[];
      committedAt = performance.now();
      const [row] = (await planner.call('model.google_integration.event.read', [
        [id],
        ['google_id'],
        {},
      ])) as Array<{ google_id: string }>;
      const google = (row as { google_id: string }).google_id;
      current = { id: id as number, google };
      match = (call) => call.op === 'events.insert' && call.eventId === google && succeeded(call);
    } else {
      const { id, google } = current;
      await planner.call('model.google_integration.event.write', [
        [id],
        { summary: `Save ${index} changed` },
        {},
      ]);
      committedAt = performance.now();
      match = (call) => call.op === 'events.patch' && call.eventId === google && succeeded(call);
    }
    const seen = await tap.waitFor(first, match, 30_000, `7c: save ${index + 1} at Google`);
    const roundStart = tap.since(first).find((call) => call.calendar === cal.google);
    latencies.push({
      kind: index % 2 === 0 ? 'create' : 'change',
      ms: seen.answeredAt - committedAt,
      pickup: (roundStart?.sentAt ?? seen.sentAt) - committedAt,
      save: committedAt - started,
    });
    await roundsDone(context, [cal], 30_000);
    // A person's pace: the next save comes once the round ended and one pacer spacing more.
    await sleep(spacing);
  }
  const usage = await cpu();
  mark();
  const calls = tap.since(from);
  const insertMs = answerMs(calls, 'events.insert');
  const floor = spacing + insertMs;
  const all = latencies.map((one) => one.ms);
  const p50 = percentile(all, 50);
  const p99 = percentile(all, 99);
  const of = (kind: string) => latencies.filter((one) => one.kind === kind).map((one) => one.ms);
  const pickups = latencies.map((one) => one.pickup);
  note(
    `7c. ${SAVES} saves through Tryton's ORM one after another (a create, then a change of its summary, ...), ` +
      `each once the previous round ended and s more; no added latency`,
  );
  note(
    `    the save's RPC p50 ${fmt(median(latencies.map((one) => one.save)), 1)} ms; commit -> the round's first call ` +
      `at Google (trigger, job pickup, lease) p50 ${fmt(percentile(pickups, 50), 1)} ms, p99 ${fmt(percentile(pickups, 99), 1)} ms`,
  );
  note(
    `    creates: p50 ${fmt(percentile(of('create'), 50), 1)} ms, p99 ${fmt(percentile(of('create'), 99), 1)} ms; ` +
      `changes: p50 ${fmt(percentile(of('change'), 50), 1)} ms, p99 ${fmt(percentile(of('change'), 99), 1)} ms; ` +
      `max ${fmt(Math.max(...all), 1)} ms; calls ${describeOps(calls)}`,
  );
  note(`    CPU meanwhile: ${describeCpu(usage)}`);
  compare('save -> at Google, p50', `${fmt(p50, 1)} ms`, {
    label: 'floor s + A',
    value: `${fmt(floor, 1)} ms`,
    ratio: p50 / floor,
  });
  compare(
    'save -> at Google, p99',
    `${fmt(p99, 1)} ms`,
    { label: 'floor s + A', value: `${fmt(floor, 1)} ms`, ratio: p99 / floor },
    `p99 < 2,000 ms: ratio to 2,000 ${fmt(p99 / 2000, 2)}`,
  );
  rateLimitLine(calls);
  note(
    `    floor = s + A = ${fmt(spacing, 2)} + ${fmt(insertMs, 1)} ms: a round pulls first (one events.list), the ` +
      'pacer lets its insert or patch leave s later, answered in A (median insert here)',
  );
}

/**
 * 7d. Two idle rounds one after the other: the first comes after other calendars of the account changed
 * (7c's saves, as in daily use), the second right after the first, when nothing at all changed.
 */
async function idleRound(context: Context, cals: readonly Cal[]): Promise<void> {
  const { db } = context;
  await roundsDone(context, cals, 60_000);
  const sidecarTables = (
    await db.query(
      `SELECT table_schema || '.' || table_name AS name FROM information_schema.tables
       WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`,
      [SIDECAR_SCHEMA],
    )
  ).rows
    .map((row) => row.name as string)
    .filter((table) => table !== HEARTBEAT);
  const trytonTables: string[] = [];
  for (const table of TRYTON_TABLES)
    if ((await db.query('SELECT to_regclass($1) AS found', [table])).rows[0].found) trytonTables.push(table);
  note(
    `7d. idle rounds of the ${cals.length} calendars (calendar.sync of the credential, as Sync Now), nothing ` +
      `changed in them since 7b; row versions in Tryton's ${trytonTables.map((t) => t.replace('google_integration_', '')).join(', ')} ` +
      `and every table of ${SIDECAR_SCHEMA} (${sidecarTables.map((t) => t.slice(SIDECAR_SCHEMA.length + 1)).join(', ')}; ` +
      `beside: job_runner, the job runner's heartbeat, written every few seconds whatever runs)`,
  );
  for (const [index, label] of ['after 7c changed other calendars', 'again right after'].entries()) {
    const round = await idleOnce(context, cals, trytonTables, sidecarTables, `7d${index + 1}`);
    note(
      `    ${label}: ${fmt(round.ms)} ms, answer ${JSON.stringify(round.answer)}; calls ${describeOps(round.calls)}, ` +
        `${round.listed}/${cals.length} calendars listed; emulator change counter ${round.seq[0]} -> ${round.seq[1]}`,
    );
    compare(
      `calls to Google, idle round ${index + 1}`,
      fmt(round.calls.length),
      {
        label: 'one events.list per calendar',
        value: fmt(cals.length),
        ratio: round.calls.length / cals.length,
      },
      'ratio 1',
    );
    line(
      `rows written in Tryton, round ${index + 1}`,
      `${round.tryton.written} + ${round.tryton.removed}`,
      `vs nothing changed 0 + 0 (written + removed row versions, ${trytonTables.length} tables)`,
      'goal 0',
    );
    line(
      `rows written by the sidecar, round ${index + 1}`,
      `${round.sidecar.written} + ${round.sidecar.removed}`,
      `vs 0 + 0 (${sidecarTables.length} tables of ${SIDECAR_SCHEMA})`,
      'goal 0',
    );
    for (const [table, one] of round.byTable)
      note(
        `      ${table}: ${one.written} written, ${one.removed} removed${table === HEARTBEAT ? ' (beside)' : ''}`,
      );
    line(
      `writes at Google, round ${index + 1}`,
      fmt(round.writesAtGoogle),
      'vs 0 (insert/patch/update/delete calls in /__emulator/stats)',
      'goal 0',
    );
    rateLimitLine(round.calls);
  }
}

async function idleOnce(
  context: Context,
  cals: readonly Cal[],
  trytonTables: readonly string[],
  sidecarTables: readonly string[],
  figure: string,
) {
  const { db, emulator, tap } = context;
  const tables = [...trytonTables, ...sidecarTables, HEARTBEAT];
  const before = await rowVersions(db, tables);
  const statsBefore = await calendarStats(emulator);
  const seqBefore = await changeCounter(emulator);
  const from = tap.calls.length;
  const mark = markFigure(figure);
  const started = performance.now();
  const answer = await sidecarRpc<Record<string, number>>(
    context.sidecar,
    context.database,
    context.credential,
    'calendar.sync',
  );
  const ms = performance.now() - started;
  mark();
  const after = await rowVersions(db, tables);
  const statsAfter = await calendarStats(emulator);
  const seqAfter = await changeCounter(emulator);
  const calls = tap.since(from);
  const listed = new Set(calls.filter((call) => call.op === 'events.list').map((call) => call.calendar));
  const byTable: Array<[string, { written: number; removed: number }]> = [];
  for (const table of tables) {
    const one = versionDiff(before, after, [table]);
    if (one.written + one.removed > 0) byTable.push([table, one]);
  }
  return {
    ms,
    answer,
    calls,
    listed: cals.filter((cal) => listed.has(cal.google)).length,
    seq: [seqBefore, seqAfter] as const,
    tryton: versionDiff(before, after, trytonTables),
    sidecar: versionDiff(before, after, sidecarTables),
    byTable,
    writesAtGoogle: Object.entries(statsAfter)
      .filter(([op]) => WRITE_OPS.test(op))
      .reduce((sum, [op, count]) => sum + count - (statsBefore[op] ?? 0), 0),
  };
}

// ---------------------------------------------------------------------------------------------------

/** Makes `values` in Tryton, as the planner, in one `create` call: one transaction, committed at its answer. */
async function createInTryton(
  context: Context,
  values: readonly Record<string, unknown>[],
): Promise<{ ids: number[]; ms: number; committedAt: number }> {
  const started = performance.now();
  const ids = (await context.planner.call('model.google_integration.event.create', [values, {}])) as number[];
  const committedAt = performance.now();
  return { ids, ms: committedAt - started, committedAt };
}

/** An appointment as Tryton's form makes one: timed, in the calendar's zone, some with more text. */
function appointment(calendar: number, index: number, label: string): Record<string, unknown> {
  const start = new Date(Date.UTC(2027, 0, 4, 7 + (index % 10)) + Math.floor(index / 10) * DAY_MS);
  return {
    calendar,
    summary: `${label} ${index + 1}`,
    all_day: false,
    starts_at: trytonDatetime(start),
    ends_at: trytonDatetime(new Date(start.getTime() + 45 * 60_000)),
    ...(index % 3 === 0 ? { description: `Agenda of ${label.toLowerCase()} ${index + 1}` } : {}),
    ...(index % 5 === 0 ? { location: `Room ${(index % 40) + 1}` } : {}),
  };
}

/**
 * Resolves with performance.now() once no round of `cals` is queued or running (the jobs the trigger
 * queued) and none of their events waits for a push.
 */
async function roundsDone(context: Context, cals: readonly Cal[], timeoutMs: number): Promise<number> {
  const ids = cals.map((cal) => cal.id);
  const queues = ids.map((id) => `calendar:${id}`);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const row = (
      await context.db.query(
        `SELECT (SELECT count(*) FROM google_integration_jobs.jobs
                  WHERE queue_name = ANY($1) AND attempts < max_attempts)::int AS jobs,
                (SELECT count(*) FROM ${EVENT} WHERE calendar = ANY($2) AND sync_status = 'pending_push')::int AS pending`,
        [queues, ids],
      )
    ).rows[0] as { jobs: number; pending: number };
    if (row.jobs === 0 && row.pending === 0) return performance.now();
    if (performance.now() > deadline) {
      const failing = await context.db.query(
        `SELECT id, sync_status, last_error FROM ${CALENDAR} WHERE id = ANY($1) AND sync_status <> 'ok'`,
        [ids],
      );
      throw new Error(
        `rounds not done after ${timeoutMs} ms: ${row.jobs} jobs, ${row.pending} events pending; ` +
          `calendars not ok: ${JSON.stringify(failing.rows)}`,
      );
    }
    await sleep(20);
  }
}

/** Tryton's rows after the push: synced, and each at Google once (one successful insert of its id). */
async function checkPushed(
  context: Context,
  ids: readonly number[],
  calls: readonly TappedCall[],
): Promise<string> {
  const rows = (await context.planner.call('model.google_integration.event.read', [
    ids,
    ['google_id', 'sync_status'],
    {},
  ])) as Array<{ google_id: string; sync_status: string }>;
  const inserted = new Map<string, number>();
  for (const call of calls)
    if (call.op === 'events.insert' && succeeded(call) && call.eventId)
      inserted.set(call.eventId, (inserted.get(call.eventId) ?? 0) + 1);
  const synced = rows.filter((row) => row.sync_status === 'synced').length;
  const once = rows.filter((row) => inserted.get(row.google_id) === 1).length;
  const problems = synced !== ids.length || once !== ids.length ? '  !! not every event' : '';
  return `check: ${fmt(synced)}/${fmt(ids.length)} events synced in Tryton, ${fmt(once)}/${fmt(ids.length)} inserted at Google exactly once under Tryton's id${problems}`;
}

/** Median time the emulator took to answer `op` (from the pass-through: sent -> whole answer back). */
function answerMs(calls: readonly TappedCall[], op: string): number {
  const times = calls.filter((call) => call.op === op && succeeded(call)).map((c) => c.answeredAt - c.sentAt);
  return times.length ? median(times) : 0;
}

function describeOps(calls: readonly TappedCall[]): string {
  const ops = new Map<string, number>();
  for (const call of calls) ops.set(call.op, (ops.get(call.op) ?? 0) + 1);
  return [...ops].map(([op, count]) => `${op} ${fmt(count)}`).join(', ') || 'none';
}

/** The calls at Google during a figure: what, how spaced, how fast the round began, what failed. */
function describeCalls(calls: readonly TappedCall[], committedAt: number, context: Context): void {
  const sent = calls.map((call) => call.sentAt).sort((a, b) => a - b);
  const gaps = sent.slice(1).map((at, index) => at - (sent[index] as number));
  const mean = gaps.length ? ((sent.at(-1) as number) - (sent[0] as number)) / gaps.length : 0;
  const failed = calls.filter((call) => !succeeded(call));
  note(
    `    calls at Google: ${describeOps(calls)}; the first ${fmt((sent[0] ?? committedAt) - committedAt, 1)} ms ` +
      `after the commit; spacing at Google median ${fmt(gaps.length ? median(gaps) : 0, 2)} ms, mean ` +
      `${fmt(mean, 2)} ms (pacer s ${fmt(context.spacing, 2)} ms); emulator answers: insert ` +
      `${fmt(answerMs(calls, 'events.insert'), 1)} ms, list ${fmt(answerMs(calls, 'events.list'), 1)} ms (medians)` +
      (failed.length ? `; ${failed.length} failed: ${describeFailures(failed)}` : ''),
  );
}

function describeFailures(calls: readonly TappedCall[]): string {
  const kinds = new Map<string, number>();
  for (const call of calls) {
    const kind = `${call.op} ${call.status}${call.reason ? ` ${call.reason}` : ''}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return [...kinds].map(([kind, count]) => `${count} x ${kind}`).join(', ');
}

function rateLimitLine(calls: readonly TappedCall[]): void {
  const limited = calls.filter(isRateLimited);
  line(
    'rate-limit answers from Google',
    fmt(limited.length),
    `vs 0 (403 rateLimitExceeded/userRateLimitExceeded/quotaExceeded, 429, of ${fmt(calls.length)} calls)`,
    'goal 0',
  );
}

async function changeCounter(emulator: Emulator): Promise<number> {
  const state = (await emulator.control('/calendar/state')) as { seq?: number };
  return Number(state.seq ?? Number.NaN);
}

async function meter(context: Context) {
  return cpuMeter(context.db, context.database, {
    sidecar: context.sidecar.child.pid as number,
    emulator: context.emulator.child.pid as number,
    trytond: context.trytond.process.child.pid as number,
  });
}

async function sidecarRpc<T = unknown>(
  sidecar: Child,
  database: string,
  credential: number,
  method: string,
): Promise<T> {
  const answer = await rpc(sidecar.url, method, { database, credential_id: credential });
  if (!answer.result) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  return answer.result as T;
}

/**
 * The spacing the sidecar's own Pacer (from the build, with its GOOGLE_QUOTAS) gives one user's calls, taken
 * one after another in this process, on the bench's database (the pacer books its slots there).
 */
async function pacerSpacing(
  build: Build,
  database: string,
): Promise<{ spacing: number; quotas: PacerModule['GOOGLE_QUOTAS'] }> {
  const { Pacer, GOOGLE_QUOTAS } = (await import(
    pathToFileURL(join(dirname(build.cli), 'services', 'pacer.js')).href
  )) as PacerModule;
  const { createKnex } = (await import(pathToFileURL(join(dirname(build.cli), 'db', 'pools.js')).href)) as {
    createKnex(uri: string, database: string): { destroy(): Promise<void> };
  };
  const knex = createKnex(POSTGRES_URI, database);
  const pacer = new Pacer();
  const times: number[] = [];
  try {
    for (let take = 0; take < PACER_TAKES; take++) {
      await pacer.take(knex, { user: 'bench-pacer', project: 'bench-pacer' });
      times.push(performance.now());
    }
  } finally {
    await knex.destroy();
  }
  return {
    spacing: ((times.at(-1) as number) - (times[0] as number)) / (PACER_TAKES - 1),
    quotas: GOOGLE_QUOTAS,
  };
}

interface PacerModule {
  readonly Pacer: new () => { take(db: unknown, caller: { user: string; project: string }): Promise<void> };
  readonly GOOGLE_QUOTAS: { readonly perUser: number; readonly perProject: number };
}

/** The sidecar's concurrency, read from the build. */
function readConcurrency(build: Build): { jobConcurrency: number; concurrentCalendars: number } {
  const constant = (file: string, name: string, fallback: number) => {
    const found = new RegExp(`const ${name} = ([\\d_]+);`).exec(readFileSync(file, 'utf8'))?.[1];
    if (found === undefined) note(`!! no ${name} in ${file}: assuming ${fallback}`);
    return Number((found ?? String(fallback)).replaceAll('_', ''));
  };
  const src = dirname(build.cli);
  return {
    jobConcurrency: constant(join(src, 'main.js'), 'JOB_CONCURRENCY', 4),
    concurrentCalendars: constant(
      join(src, 'services', 'calendar', 'calendar-service.js'),
      'CONCURRENT_CALENDARS',
      4,
    ),
  };
}

/** Marks a figure's window for the profile; call the result at its end. */
function markFigure(name: string): () => void {
  const from = process.hrtime.bigint();
  return () => {
    windows.push({ name, from, to: process.hrtime.bigint() });
  };
}

function printProfile(): void {
  const file = latestProfile(PROFILES);
  note(`sidecar CPU profile (${file}), by figure:`);
  for (const window of windows) {
    const profile = summarizeProfile(file, window);
    note(
      `  ${window.name}: ${fmt(profile.busyMs)} ms busy in ${fmt(profile.windowMs)} ms` +
        (profile.windowed ? '' : ' (no sample in the window: the whole profile)'),
    );
    for (const [category, ms] of top(byCategory(profile), 8))
      note(`      ${fmt(ms).padStart(7)} ms  ${category}`);
  }
}
