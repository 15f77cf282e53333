/**
 * 9. Contacts sync (docs/contracts.md, "Contacts synchronization"): Google Contacts (the emulator, a child
 * process) into Tryton parties through the module's route (Tryton's ORM in trytond, the project's
 * virtualenv), asked for by JSON-RPC `contacts.sync` of the sidecar (`serve`, child process) as Tryton's
 * *Sync Contacts Now* does. Contacts are seeded through the emulator's control API, as a person's phone
 * would; the credential lists Calendar and Contacts, made through Tryton's ORM and authorized through
 * the emulator's consent (bench/support/contacts.ts). Two recording pass-throughs sit between the
 * sidecar and the People API, and between the sidecar and trytond's route: they say when each call
 * left and was answered, which is how the round's time is split below.
 *
 *   9a. First import of 5,000 contacts (a name, an e-mail and a phone each) into parties: one
 *       `contacts.sync` round, against the same 5,000 parties (same name, e-mail and phone mechanisms)
 *       created by Tryton's ORM in ONE transaction: `party.party.create` of all of them in a Python
 *       process of the virtualenv on a fresh clone of the same template, as the admin with access
 *       checks on (the route's user), create and commit timed (bench/support/contacts.ts
 *       `ormBaseline`). Shown beside: the same create as one trytond JSON-RPC call (the measured
 *       database, after 9b). Goal: round / baseline <= 2.0. Then where the round's time went: the People
 *       calls (by operation), the pacer's waits between them (the contract paces People calls at 60 a
 *       minute per account: one a second), the route's calls (by action), the sidecar's own work, and the
 *       CPU of each process.
 *   9b. An idle round right after: People calls (bound: one `people.connections.list`, no mutation), route
 *       calls (bound 0: `pending` is read only when a row is pending), and rows written on both sides:
 *       row versions (ctid:xmin) of Tryton's party tables and of the module's contact tables, party
 *       write_dates, and the contacts' etags at Google: bound 0. The sidecar's own bookkeeping and the
 *       credential's status columns are shown beside.
 *
 * The sidecar runs with TRYTOND_TIMEOUT raised (BENCH_CONTACTS_TIMEOUT, 120 s), so that a slow route
 * call is measured rather than failed; the slowest route call is printed against the default.
 *
 * Knobs: BENCH_CONTACTS_IMPORT (5000), BENCH_CONTACTS_TIMEOUT (120 s). Runs alone with `BENCH_ONLY=contacts npm run bench`.
 */
import type { Build } from './support/build.js';
import { type Cpu, cpuMeter, describeCpu, rowVersions, versionDiff } from './support/calendar.js';
import {
  type ContactsBench,
  type RouteProfile,
  googleEtags,
  ormBaseline,
  peopleOperation,
  peopleStats,
  personOf,
  routeAction,
  type SeedContact,
  seedAtGoogle,
  seedContacts,
  startContactsBench,
  statsDiff,
} from './support/contacts.js';
import type { TappedCall } from './support/google-tap.js';
import { fmt } from './support/load.js';
import { compare, line, note, section } from './support/report.js';

const IMPORT = Number(process.env.BENCH_CONTACTS_IMPORT ?? 5_000);
const ACCOUNT = 'contacts.owner@example.com';
/** The contract's pacing of People calls per account (60 a minute). */
const PEOPLE_SPACING_MS = 1_000;
/** connections.list's page size the round asks for (people-api.ts PAGE_SIZE). */
const PAGE_SIZE = 1_000;
/** Tries of one step of the fallback import before the section gives up. */
const ROUND_ATTEMPTS = 3;
/** The sidecar's limit on a route call: TRYTOND_TIMEOUT, 60 s unless set (src/config.ts). */
const ROUTE_TIMEOUT_MS = 60_000;
/**
 * The limit the bench's sidecar runs with: a route call slower than the default fails its round (and
 * what trytond committed meanwhile is not linked), so the import would not be measured on a loaded
 * machine. The slowest call is printed against the default.
 */
const BENCH_TIMEOUT_S = Number(process.env.BENCH_CONTACTS_TIMEOUT ?? 120);
/** New contacts per round when the one-round import fails: the route's `match` takes 1,000 e-mails. */
const FALLBACK_STEP = 1_000;

/** Tryton's tables a round may write (parties, their mechanisms and categories, the module's rows). */
const TRYTON_TABLES = [
  'party_party',
  'party_contact_mechanism',
  'party_address',
  '"party_party-party_category"',
  'party_category',
  'google_integration_party_contact',
  'google_integration_contact_conflict',
];
/** The sidecar's bookkeeping, shown beside. */
const SIDECAR_TABLES = [
  'google_integration_sidecar.contact_link',
  'google_integration_sidecar.contact_sync',
  'google_integration_sidecar.contact_group',
];
const CREDENTIALS = 'google_integration_google_credentials';

type Counts = Record<
  'created' | 'updated' | 'archived' | 'pushed' | 'deleted' | 'conflicts' | 'held',
  number
>;

export async function contactsSync(build: Build): Promise<void> {
  section(
    `9. Contacts sync: sidecar \`serve\` + emulator (People API) + trytond (the module's route, Tryton's ORM); ` +
      `first import of ${fmt(IMPORT)} contacts vs Tryton's ORM in one transaction, idle round`,
  );
  const started = performance.now();
  const contacts = seedContacts(IMPORT);
  // The baseline first, alone on the machine (its own database, dropped before the stack starts).
  const baseline = await ormBaseline(build, contacts);
  if (baseline.created !== IMPORT || baseline.mechanisms !== 2 * IMPORT)
    note(`!! the baseline made ${baseline.created} parties and ${baseline.mechanisms} mechanisms`);
  const bench = await startContactsBench(build, ACCOUNT, { TRYTOND_TIMEOUT: String(BENCH_TIMEOUT_S) });
  note(
    `the sidecar runs with TRYTOND_TIMEOUT=${BENCH_TIMEOUT_S} s (default ${ROUTE_TIMEOUT_MS / 1000} s): ` +
      'slow route calls are measured, not failed; see "slowest route call"',
  );
  try {
    const fillStarted = performance.now();
    await seedAtGoogle(bench.emulator, ACCOUNT, contacts.map(personOf));
    note(
      `emulator filled through its control API in ${fmt(performance.now() - fillStarted)} ms ` +
        `(${fmt(IMPORT)} contacts of ${ACCOUNT}; not measured below)`,
    );
    const imported = await firstImport(bench, contacts, baseline);
    await idleRound(bench);
    await jsonRpcCreate(bench, contacts, imported.ms);
  } finally {
    await bench.stop();
  }
  note(`section 9 took ${fmt((performance.now() - started) / 1000)} s`);
}

/** One contacts.sync and what it caused: its People calls and route calls, the CPU meanwhile. */
interface Round {
  readonly t0: number;
  readonly t1: number;
  readonly counts: Counts | undefined;
  readonly error: string | undefined;
  readonly people: Record<string, number>;
  readonly peopleCalls: readonly TappedCall[];
  readonly routeCalls: readonly TappedCall[];
  readonly cpu: Cpu;
}

async function timedRound(bench: ContactsBench): Promise<Round> {
  const peopleBefore = await peopleStats(bench.emulator);
  const peopleFrom = bench.peopleTap.calls.length;
  const routeFrom = bench.routeTap.calls.length;
  const cpu = await cpuMeter(bench.db, bench.database, {
    sidecar: bench.sidecar.child.pid as number,
    trytond: bench.trytond.child.pid as number,
    emulator: bench.emulator.child.pid as number,
  });
  const t0 = performance.now();
  let counts: Counts | undefined;
  let error: string | undefined;
  try {
    counts = await bench.rpc<Counts>('contacts.sync');
  } catch (failure) {
    error = (failure as Error).message;
  }
  const t1 = performance.now();
  return {
    t0,
    t1,
    counts,
    error,
    cpu: await cpu(),
    people: statsDiff(peopleBefore, await peopleStats(bench.emulator)),
    peopleCalls: bench.peopleTap.since(peopleFrom),
    routeCalls: bench.routeTap.since(routeFrom),
  };
}

/**
 * 9a. One round of the 5,000. When it fails, the failure is printed and the same 5,000 are imported
 * again from scratch (the emulator's contacts forgotten) in rounds of at most 1,000 new contacts, seeded
 * before each round, so that what the import costs is still measured; the figure says so.
 */
async function firstImport(
  bench: ContactsBench,
  contacts: readonly SeedContact[],
  baseline: { ms: number; created: number; profile: RouteProfile },
): Promise<{ ms: number }> {
  let rounds = [await timedRound(bench)];
  let how = 'one round';
  const failed = rounds[0]?.error;
  if (failed !== undefined) {
    note(
      `9a. !! contacts.sync of ${fmt(IMPORT)} new contacts FAILED after ${fmt(span(rounds))} ms: ${failed}`,
    );
    note(
      `    route calls of that round: ${describeCounts(countBy(rounds[0]?.routeCalls ?? [], routeAction))}` +
        `; answers ${[...new Set((rounds[0]?.routeCalls ?? []).map((call) => call.status))].join(', ')}`,
    );
    note(
      `    instead: the same ${fmt(IMPORT)} again from scratch, ${fmt(FALLBACK_STEP)} seeded before each round ` +
        `(each round then matches at most ${fmt(FALLBACK_STEP)} e-mails); the rounds' times summed`,
    );
    await bench.emulator.control('/people/reset', {});
    rounds = [];
    for (let start = 0; start < contacts.length; start += FALLBACK_STEP) {
      await seedAtGoogle(
        bench.emulator,
        bench.email,
        contacts.slice(start, start + FALLBACK_STEP).map(personOf),
      );
      // A round that fails is tried again (its time counted): the next one re-links by e-mail what
      // the failed one already created in Tryton.
      for (let attempt = 1; ; attempt++) {
        const round = await timedRound(bench);
        rounds.push(round);
        if (round.error === undefined) break;
        note(
          `    !! the round of contacts ${start + 1}+ failed after ${fmt(span([round]))} ms: ${round.error}`,
        );
        if (attempt === ROUND_ATTEMPTS) throw new Error(`contacts.sync of ${start + 1}+: ${round.error}`);
      }
    }
    const failures = rounds.filter((round) => round.error !== undefined).length;
    how = `${rounds.length} rounds of <= ${fmt(FALLBACK_STEP)}${failures > 0 ? `, ${failures} of them failed` : ''}`;
  }
  const ms = rounds.reduce((sum, round) => sum + round.t1 - round.t0, 0);
  const counts = sumCounts(rounds.map((round) => round.counts ?? ({} as Counts)));
  const parties = Number(
    (
      await bench.db.query(
        `SELECT count(*) AS n FROM google_integration_party_contact WHERE credential = $1 AND sync_status = 'synced'`,
        [bench.credential],
      )
    ).rows[0].n,
  );
  const peopleCalls = rounds.flatMap((round) => [...round.peopleCalls]);
  const routeCalls = rounds.flatMap((round) => [...round.routeCalls]);

  note(
    `9a. contacts.sync of ${fmt(IMPORT)} new contacts, ${how}: ${fmt(ms)} ms, answer ${JSON.stringify(counts)}; ` +
      `${fmt(parties)} parties synced in Tryton`,
  );
  if (counts.created !== IMPORT) note(`    !! created ${counts.created}, expected ${IMPORT}`);
  note(
    `    Tryton's ORM, one transaction (party.party.create of ${fmt(baseline.created)} parties with their e-mail ` +
      `and phone mechanisms, Python in the virtualenv on a clone of the same template): ${fmt(baseline.ms)} ms`,
  );
  compare(
    `contacts.sync, ${fmt(IMPORT)} contacts${rounds.length > 1 ? ` (${rounds.length} rounds)` : ''}`,
    `${fmt(ms)} ms`,
    { label: "Tryton's ORM, one transaction", value: `${fmt(baseline.ms)} ms`, ratio: ms / baseline.ms },
    'ratio <= 2.0',
  );
  note(
    `    People calls (emulator's count): ${describeCounts(sumRecords(rounds.map((round) => round.people)))}`,
  );
  note(
    `    route calls: ${describeCounts(countBy(routeCalls, routeAction))} ` +
      `(${fmt(routeCalls.filter((call) => call.status !== 200).length)} not 200)`,
  );
  note(`    CPU meanwhile: ${describeCpu(sumCpu(rounds.map((round) => round.cpu)))}`);
  splitTime(rounds, peopleCalls, routeCalls, parties);
  describeProfile(baseline.profile);
  return { ms };
}

/**
 * Where the rounds' wall time went, from the two pass-throughs: time inside People calls, the gaps
 * between two People calls of a round with no route call in between (the pacer's spacing plus the little
 * the sidecar does between pages), time inside route calls (by action), and the rest (the sidecar's own
 * work: token and lease, reading its links, deciding, settling the bookkeeping in its transaction).
 */
function splitTime(
  rounds: readonly Round[],
  peopleCalls: readonly TappedCall[],
  routeCalls: readonly TappedCall[],
  imported: number,
): void {
  const wall = span(rounds);
  const inPeople = union(peopleCalls);
  const inRoute = union(routeCalls);
  const ordered = [...peopleCalls].sort((a, b) => a.sentAt - b.sentAt);
  let paced = 0;
  let pacedGaps = 0;
  for (let index = 1; index < ordered.length; index++) {
    const before = ordered[index - 1] as TappedCall;
    const call = ordered[index] as TappedCall;
    const between = routeCalls.some(
      (route) => route.sentAt < call.sentAt && route.answeredAt > before.answeredAt,
    );
    const sameRound = rounds.some((round) => round.t0 <= before.sentAt && call.answeredAt <= round.t1);
    if (between || !sameRound || call.sentAt <= before.answeredAt) continue;
    paced += call.sentAt - before.answeredAt;
    pacedGaps++;
  }
  const rest = wall - inPeople - inRoute - paced;
  const pct = (part: number) => `${((100 * part) / wall).toFixed(0)}%`;
  const pages = peopleCalls.filter((call) => peopleOperation(call) === 'people.connections.list').length;
  const spaced = Math.max(0, peopleCalls.length - rounds.length) * PEOPLE_SPACING_MS;
  note(`    where the ${fmt(wall)} ms went (from the pass-throughs):`);
  note(
    `      People calls       ${fmt(inPeople).padStart(9)} ms  ${pct(inPeople).padStart(4)}  ` +
      `${describeTimes(peopleCalls, peopleOperation)}`,
  );
  note(
    `      pacer waits        ${fmt(paced).padStart(9)} ms  ${pct(paced).padStart(4)}  ` +
      `${pacedGaps} gaps between People calls; the contract's spacing alone: ` +
      `(${peopleCalls.length} calls - ${rounds.length} round(s)) x ${fmt(PEOPLE_SPACING_MS)} ms = ${fmt(spaced)} ms ` +
      `(${pages} list pages of <= ${fmt(PAGE_SIZE)} and the groups' listings)`,
  );
  note(
    `      trytond's route    ${fmt(inRoute).padStart(9)} ms  ${pct(inRoute).padStart(4)}  ` +
      `${describeTimes(routeCalls, routeAction)}`,
  );
  note(
    `      the sidecar's own  ${fmt(rest).padStart(9)} ms  ${pct(rest).padStart(4)}  ` +
      `(before each round's first call ${fmt(sumOver(rounds, (round) => firstCall(round) - round.t0))} ms; ` +
      `after its last call ${fmt(sumOver(rounds, (round) => round.t1 - lastCall(round)))} ms)`,
  );
  const applies = routeCalls.filter((call) => routeAction(call) === 'apply');
  if (imported > 0 && applies.length > 0) {
    const applyMs = sumOver(applies, (call) => call.answeredAt - call.sentAt);
    note(
      `      per party imported: ${fmt(applyMs / imported, 2)} ms in the route's apply ` +
        `(${applies.length} calls of <= 200 changes, one transaction each), ${fmt(wall / imported, 2)} ms in all`,
    );
  }
  const slowest = Math.max(0, ...routeCalls.map((call) => call.answeredAt - call.sentAt));
  compare(
    'slowest route call',
    `${fmt(slowest)} ms`,
    { label: 'its time limit', value: `${fmt(ROUTE_TIMEOUT_MS)} ms`, ratio: slowest / ROUTE_TIMEOUT_MS },
    'ratio < 1: a slower call fails the round (tryton_unreachable)',
  );
}

/** Inside trytond: the route's apply against one create, per party, and where apply's time goes. */
function describeProfile(profile: RouteProfile): void {
  const { parties } = profile;
  note(
    `    inside trytond (in-process on the baseline's clone, ${parties} parties each, one transaction each): ` +
      `the route's apply of ${parties} creations ${fmt(profile.applyMs)} ms, ${fmt(profile.applySql)} SQL statements ` +
      `(${fmt(profile.applyMs / parties, 1)} ms, ${fmt(profile.applySql / parties)} statements a party)`,
  );
  compare("  route's apply, per party", `${fmt(profile.applyMs / parties, 2)} ms`, {
    label: `one party.party.create of ${parties}`,
    value: `${fmt(profile.batchMs / parties, 2)} ms (${fmt(profile.batchSql / parties)} statements)`,
    ratio: profile.applyMs / profile.batchMs,
  });
  note(
    `      apply's time under cProfile: ${profile.shares
      .map(([what, share, calls]) => `${what.trim()} ${(100 * share).toFixed(0)}% (${fmt(calls)} calls)`)
      .join('; ')}`,
  );
}

/** 9b. */
async function idleRound(bench: ContactsBench): Promise<void> {
  const { db } = bench;
  const writeDates = async () =>
    (await db.query('SELECT id, write_date FROM party_party ORDER BY id')).rows
      .map((row) => `${row.id}:${row.write_date?.toISOString?.() ?? row.write_date}`)
      .join(',');
  const credentialRow = async () =>
    (
      await db.query(
        `SELECT contacts_status, contacts_last_sync, contacts_last_counts, contacts_last_error FROM ${CREDENTIALS} WHERE id = $1`,
        [bench.credential],
      )
    ).rows[0];
  const tablesBefore = await rowVersions(db, [...TRYTON_TABLES, ...SIDECAR_TABLES, CREDENTIALS]);
  const datesBefore = await writeDates();
  const etagsBefore = await googleEtags(bench.emulator, bench.email);
  const credentialBefore = await credentialRow();
  const peopleBefore = await peopleStats(bench.emulator);
  const routeFrom = bench.routeTap.calls.length;
  const t0 = performance.now();
  const counts = await bench.rpc<Counts>('contacts.sync');
  const ms = performance.now() - t0;
  const people = statsDiff(peopleBefore, await peopleStats(bench.emulator));
  const routeCalls = bench.routeTap.since(routeFrom);
  const tablesAfter = await rowVersions(db, [...TRYTON_TABLES, ...SIDECAR_TABLES, CREDENTIALS]);
  const datesAfter = await writeDates();
  const etagsAfter = await googleEtags(bench.emulator, bench.email);
  const credentialAfter = await credentialRow();

  const lists = people['people.connections.list'] ?? 0;
  const mutations = Object.entries(people)
    .filter(([operation]) => !/\.(list|get)$/.test(operation))
    .reduce((sum, [, count]) => sum + count, 0);
  const tryton = versionDiff(tablesBefore, tablesAfter, TRYTON_TABLES);
  const changedDates = countChanged(datesBefore, datesAfter);
  let changedEtags = 0;
  for (const [resourceName, etag] of etagsAfter) if (etagsBefore.get(resourceName) !== etag) changedEtags++;
  changedEtags += [...etagsBefore.keys()].filter((name) => !etagsAfter.has(name)).length;

  note(`9b. idle contacts.sync right after: ${fmt(ms)} ms, answer ${JSON.stringify(counts)}`);
  note(`    People calls: ${describeCounts(people)}`);
  compare(
    'People list calls, idle round',
    fmt(lists),
    { label: 'one people.connections.list', value: '1', ratio: lists },
    'ratio 1',
  );
  line('People mutations, idle round', fmt(mutations), 'vs nothing changed 0', 'goal 0');
  line('route calls, idle round', fmt(routeCalls.length), 'vs nothing pending 0', 'goal 0');
  line(
    'Tryton rows written, idle round',
    `${tryton.written} + ${tryton.removed}`,
    `vs 0 + 0 (written + removed row versions in ${TRYTON_TABLES.length} party and contact tables)`,
    'goal 0',
  );
  line(
    'party write_dates changed',
    fmt(changedDates),
    `vs 0 (of ${fmt(datesAfter.split(',').length)} parties)`,
    'goal 0',
  );
  line(
    'contacts whose etag changed',
    fmt(changedEtags),
    `vs 0 (of ${fmt(etagsAfter.size)} at Google)`,
    'goal 0',
  );
  for (const table of TRYTON_TABLES) {
    const one = versionDiff(tablesBefore, tablesAfter, [table]);
    if (one.written + one.removed > 0) note(`    ${table}: ${one.written} written, ${one.removed} removed`);
  }
  const sidecar = SIDECAR_TABLES.map((table) => {
    const one = versionDiff(tablesBefore, tablesAfter, [table]);
    return `${table.split('.')[1]} ${one.written}+${one.removed}`;
  }).join(', ');
  const credential = versionDiff(tablesBefore, tablesAfter, [CREDENTIALS]);
  const changedColumns = Object.keys(credentialAfter ?? {}).filter(
    (column) => JSON.stringify(credentialAfter?.[column]) !== JSON.stringify(credentialBefore?.[column]),
  );
  note(
    `    beside: the sidecar's bookkeeping (written + removed row versions) ${sidecar}; the credential's row ` +
      `${credential.written}+${credential.removed} (changed: ${changedColumns.join(', ') || 'nothing'}; ` +
      `contacts_last_counts ${JSON.stringify(credentialAfter?.contacts_last_counts)})`,
  );
}

/**
 * Beside 9a's bound: the same 5,000 parties created through trytond's JSON-RPC in one call (one
 * transaction), on the measured database, in the route's context (the account's own changes mark
 * nothing), so HTTP and JSON are in it as they are in the route's calls.
 */
async function jsonRpcCreate(
  bench: ContactsBench,
  contacts: readonly SeedContact[],
  roundMs: number,
): Promise<void> {
  const values = contacts.map((contact) => ({
    name: contact.name,
    contact_mechanisms: [
      [
        'create',
        [
          { type: 'email', value: contact.email },
          { type: contact.trytonType, value: contact.phone },
        ],
      ],
    ],
  }));
  const t0 = performance.now();
  const ids = (await bench.admin.call('model.party.party.create', [
    values,
    { google_integration_contacts_sync: bench.credential },
  ])) as number[];
  const ms = performance.now() - t0;
  if (ids.length !== contacts.length) note(`    !! JSON-RPC create made ${ids.length} parties`);
  compare('', '', {
    label: 'the same as one trytond JSON-RPC create',
    value: `${fmt(ms)} ms`,
    ratio: roundMs / ms,
  });
  note(
    '    (9a against one `model.party.party.create` of the same values on the measured database, after 9b)',
  );
}

function span(rounds: readonly Round[]): number {
  return sumOver(rounds, (round) => round.t1 - round.t0);
}

function sumOver<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((sum, item) => sum + value(item), 0);
}

function firstCall(round: Round): number {
  return Math.min(round.t1, ...[...round.peopleCalls, ...round.routeCalls].map((call) => call.sentAt));
}

function lastCall(round: Round): number {
  return Math.max(round.t0, ...[...round.peopleCalls, ...round.routeCalls].map((call) => call.answeredAt));
}

function sumRecords(records: readonly Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const record of records)
    for (const [key, value] of Object.entries(record)) sum[key] = (sum[key] ?? 0) + value;
  return sum;
}

function sumCounts(all: readonly Counts[]): Counts {
  const keys = ['created', 'updated', 'archived', 'pushed', 'deleted', 'conflicts', 'held'] as const;
  return Object.fromEntries(keys.map((key) => [key, sumOver(all, (counts) => counts[key] ?? 0)])) as Counts;
}

function sumCpu(all: readonly Cpu[]): Cpu {
  const processes = new Map<string, number>();
  for (const cpu of all)
    for (const [name, ms] of cpu.processes) processes.set(name, (processes.get(name) ?? 0) + ms);
  return { processes: [...processes], database: sumOver(all, (cpu) => cpu.database) };
}

function union(calls: readonly TappedCall[]): number {
  const spans = calls.map((call) => [call.sentAt, call.answeredAt] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [from, to] of spans) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  return total;
}

function countBy(calls: readonly TappedCall[], key: (call: TappedCall) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) counts[key(call)] = (counts[key(call)] ?? 0) + 1;
  return counts;
}

function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([name, count]) => `${name} ${fmt(count)}`).join(', ');
}

/** `apply 25 calls 12,345 ms (median 480), read 1 call 20 ms` by `key`. */
function describeTimes(calls: readonly TappedCall[], key: (call: TappedCall) => string): string {
  const byKey = new Map<string, number[]>();
  for (const call of calls) {
    const list = byKey.get(key(call)) ?? [];
    list.push(call.answeredAt - call.sentAt);
    byKey.set(key(call), list);
  }
  return [...byKey]
    .map(([name, times]) => {
      const total = times.reduce((sum, time) => sum + time, 0);
      const sorted = [...times].sort((a, b) => a - b);
      const middle = sorted[Math.floor(sorted.length / 2)] ?? 0;
      const most = sorted.at(-1) ?? 0;
      return `${name} ${times.length} x, ${fmt(total)} ms${times.length > 1 ? ` (median ${fmt(middle)}, max ${fmt(most)})` : ''}`;
    })
    .join('; ');
}

function countChanged(before: string, after: string): number {
  const was = new Set(before.split(','));
  return after.split(',').filter((entry) => entry !== '' && !was.has(entry)).length;
}
