/**
 * `npm run bench`: figures for the token path, printed, never asserted (these machines are shared).
 * An in-process sidecar and emulator on a new database, one authorized credential, then:
 *   1. get_access_token with a valid token: throughput and latency percentiles over HTTP;
 *   2. 50 concurrent callers on an expired token: wall time and refreshes that reached Google;
 *   3. resident memory after the run.
 */
import { loadConfig } from '../src/config.js';
import { migrateLatest } from '../src/db/migrate.js';
import { emulatorEndpoints, startEmulator } from '../src/emulator/server.js';
import { createLogger } from '../src/log.js';
import { startSidecar } from '../src/main.js';
import { consent, followRedirect } from '../test/support/consent.js';
import { sidecarEnv } from '../test/support/env.js';
import { connect, createDatabase, dropDatabase, uniqueName } from '../test/support/postgres.js';
import { call } from '../test/support/rpc.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const database = uniqueName('gi_bench');
  await createDatabase(database);
  const db = connect(database);
  await migrateLatest(db);
  const emulator = await startEmulator();
  const sidecar = await startSidecar(
    loadConfig(
      sidecarEnv({
        ...emulatorEndpoints(emulator.url),
        SIDECAR_DATABASES: database,
        SIDECAR_REFRESH_INTERVAL: '3600',
      }),
    ),
    createLogger('silent'),
  );
  try {
    const redirect = `${sidecar.url}/${database}/google/callback`;
    emulator.state.registerClient({
      clientId: 'bench',
      clientSecret: 'bench-secret',
      redirectUris: [redirect],
    });
    const [row] = await db('google_integration_google_credentials')
      .insert({
        name: 'bench',
        state: 'without_authorization',
        client_id: 'bench',
        client_secret: 'bench-secret',
        redirect_uri: redirect,
        scopes: 'https://www.googleapis.com/auth/calendar',
      })
      .returning('id');
    const params = { database, credential_id: row.id as number };
    const request = await call(sidecar.url, 'credentials.request_authorization', params);
    await followRedirect((await consent(request.result.authorization_url)).redirect);

    // 1. Valid token: the common path (one indexed read, one AES-GCM open).
    for (let i = 0; i < 200; i++) await call(sidecar.url, 'credentials.get_access_token', params);
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < CALLS) {
          const t0 = performance.now();
          const answer = await call(sidecar.url, 'credentials.get_access_token', params);
          if (answer.error) throw new Error(answer.error.message);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(
      `get_access_token (valid): ${CALLS} calls, concurrency ${CONCURRENCY}: ${(CALLS / seconds).toFixed(0)} calls/s, ` +
        `p50 ${percentile(latencies, 50).toFixed(2)} ms, p95 ${percentile(latencies, 95).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`,
    );

    // 2. Expired token, 50 callers at once: one refresh, everyone served.
    for (const latency of [0, 100]) {
      await db('google_integration_google_credentials')
        .where({ id: row.id })
        .update({ token_expiry: db.raw("timezone('UTC', now()) - interval '1 minute'") });
      emulator.traffic.setLatency(latency, 'token');
      const before = emulator.traffic.stats().token as Record<string, number>;
      const t0 = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => call(sidecar.url, 'credentials.get_access_token', params)),
      );
      const wall = performance.now() - t0;
      const after = emulator.traffic.stats().token as Record<string, number>;
      const failed = answers.filter((answer) => answer.error).length;
      console.log(
        `get_access_token (expired, 50 concurrent, token endpoint +${latency} ms): all answered in ${wall.toFixed(0)} ms, ` +
          `${(after.refresh_token ?? 0) - (before.refresh_token ?? 0)} refresh(es) reached Google, ${failed} errors`,
      );
    }
    emulator.traffic.setLatency(0, 'token');
    const memory = process.memoryUsage();
    console.log(
      `memory (sidecar + emulator + bench in one process): rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(memory.heapUsed / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    await sidecar.close();
    await emulator.close();
    await db.destroy();
    await dropDatabase(database);
  }
}

await main();
