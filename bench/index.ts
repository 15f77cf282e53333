/**
 * `npm run bench`: figures of the token path, each printed next to its bound measured in the same run
 * and the ratio; nothing is asserted (these machines are shared). Load comes from autocannon (32
 * connections) in this process; every server under test is a child process on 127.0.0.1.
 *   1. echo-ceiling.ts        bare express 5 + json-rpc-2.0, and the same plus one SELECT 1
 *   2. valid-token.ts         get_access_token with a valid token, LOG_LEVEL info and warn
 *   3. cold-start.ts          spawn -> /readyz, idle and loaded RSS, import costs, startup profile
 *   4. refresh-storm.ts       two replicas, 100 expired credentials, 10,000 callers, token endpoint +200 ms
 *   5. valid-token-profile.ts CPU per request on the valid-token path, by package
 *   6. calendar-sync.ts       the calendar pull: 10,000-event import vs raw INSERT, idle sync, 50 calendars
 *                             at +100 ms vs the quota bound (a Tryton database of its own, its own emulator)
 *   7. calendar-push.ts       the calendar push: Tryton's saves (trytond JSON-RPC) -> trigger -> Google, 1,000
 *                             changes vs the pacer bound, 50 calendars at +100 ms vs quotas and concurrency,
 *                             save -> Google p50/p99, an idle round (trytond, its own database and emulator)
 *   8. calendar-notifications.ts  Google's push notifications: change at Google -> Tryton p50/p99,
 *                             notified vs polled (one sidecar); 200 accounts x 5 calendars on 3 replicas
 *                             behind a proxy, a steady stream of changes at +100 ms: p99 vs 5 s, quota
 *                             errors, CPU per 1,000 notifications, PostgreSQL connections vs the pools; a
 *                             burst of 1,000 over 50 calendars: pulls vs 2 per calendar (its own databases,
 *                             emulators)
 *   9. contacts-sync.ts      the contacts sync: a 5,000-contact first import into parties (the module's route,
 *                             Tryton's ORM) vs Tryton's ORM creating them in one transaction, where its time
 *                             goes, an idle round (trytond, its own database and emulator)
 * Knobs (environment): BENCH_DURATION (s, default 10), BENCH_CONNECTIONS, BENCH_SOURCE=head|worktree,
 * BENCH_STORM_CONCURRENCY, BENCH_COLD_RUNS, BENCH_ONLY=token|token-profile|calendar|push|notifications|contacts
 * (sections 1 to 3; 1 to 3 and 5; section 6, 7, 8 or 9 alone), BENCH_CAL_* (see calendar-sync.ts), BENCH_PUSH_*
 * (see calendar-push.ts), BENCH_NOTIFY_* (see calendar-notifications.ts), BENCH_CONTACTS_* (see
 * contacts-sync.ts), BENCH_TOKEN_ROUNDS (see valid-token.ts); the build, logs and profiles land in
 * .cache/bench/, or in BENCH_CACHE (for two benches at once; a path ending in .cache/bench keeps the
 * profiles' sidecar files named).
 */
import { calendarNotifications } from './calendar-notifications.js';
import { calendarPush } from './calendar-push.js';
import { calendarSync } from './calendar-sync.js';
import { coldStart } from './cold-start.js';
import { contactsSync } from './contacts-sync.js';
import { echoCeiling } from './echo-ceiling.js';
import { refreshStorm } from './refresh-storm.js';
import { type Build, buildSidecar } from './support/build.js';
import { CONNECTIONS, DURATION } from './support/load.js';
import { createDatabase, dropDatabase, type Emulator, startEmulator } from './support/stack.js';
import { validToken, validTokenRequest } from './valid-token.js';
import { validTokenProfile } from './valid-token-profile.js';

const STORM_CREDENTIALS = Number(process.env.BENCH_STORM_CREDENTIALS ?? 100);
/**
 * `token`: sections 1 to 3; `token-profile`: 1 to 3 and 5; `calendar`: only section 6; `push`: only
 * section 7; `notifications`: only section 8; `contacts`: only 9.
 */
const ONLY = process.env.BENCH_ONLY;
const TOKEN_ONLY = ONLY === 'token' || ONLY === 'token-profile';

async function main(): Promise<void> {
  const started = performance.now();
  const build = buildSidecar();
  console.log(
    `bench: ${build.source}; node ${process.version}; autocannon ${CONNECTIONS} connections x ${DURATION} s ` +
      `per figure; figures are printed, never asserted`,
  );
  if (ONLY !== 'calendar' && ONLY !== 'push' && ONLY !== 'notifications' && ONLY !== 'contacts')
    await tokenPath(build);
  if (!TOKEN_ONLY) {
    if (ONLY !== 'push' && ONLY !== 'notifications' && ONLY !== 'contacts') await calendarSync(build);
    if (ONLY !== 'calendar' && ONLY !== 'notifications' && ONLY !== 'contacts') await calendarPush(build);
    if (ONLY !== 'calendar' && ONLY !== 'push' && ONLY !== 'contacts') await calendarNotifications(build);
    if (ONLY !== 'calendar' && ONLY !== 'push' && ONLY !== 'notifications') await contactsSync(build);
  }
  console.log(`\nbench finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

/** Sections 1 to 5 (BENCH_ONLY=token: 1 to 3; token-profile: 1 to 3 and 5). */
async function tokenPath(build: Build): Promise<void> {
  const database = await createDatabase(build);
  let emulator: Emulator | undefined;
  try {
    emulator = await startEmulator(build);
    // The echo servers get the very request the sidecar gets (their method is registered under its name).
    const ceiling = await echoCeiling(build, database, validTokenRequest(database, 1));
    // The refresh storm's credentials are authorized only when it runs.
    const stormCredentials = TOKEN_ONLY ? 0 : STORM_CREDENTIALS;
    const valid = await validToken(build, emulator, database, ceiling, 1 + stormCredentials);
    await coldStart(build, emulator.url, database, ceiling, valid);
    if (ONLY === 'token') return;
    if (ONLY !== 'token-profile')
      await refreshStorm(build, emulator, database, valid.credentials.slice(1), ceiling);
    await validTokenProfile(build, emulator.url, database, valid.credentials[0] as number, ceiling);
  } finally {
    await emulator?.stop();
    await dropDatabase(database);
  }
}

await main();
