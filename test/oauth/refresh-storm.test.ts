/**
 * Refresh storms across two replicas: callers of one credential share one refresh in the process
 * and across replicas and wait for it instead of failing; every caller gets a token or a
 * documented domain error, never -32603; no pooled connection is held while Google answers, so a
 * pool of 10 per replica serves far more concurrent refreshes than 10.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/rpc.js';
import { type Stack, startStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const DOCUMENTED = new Set([-32001, -32002, -32003, -32004, -32005, -32006, -32007, -32008, -32009]);

let stack: Stack;
let replicas: string[];

beforeAll(async () => {
  stack = await startStack({ env: { SIDECAR_REFRESH_INTERVAL: '3600' } });
  replicas = [stack.sidecar.url, (await stack.startAnotherSidecar()).url];
});

afterAll(async () => {
  await stack?.stop();
});

async function credentials(count: number, prefix: string): Promise<number[]> {
  const ids: number[] = [];
  for (let index = 0; index < count; index++)
    ids.push(await stack.authorizedCredential(`${prefix}${index}@example.com`));
  return ids;
}

/** Every caller at once: `callers` per credential on each replica. */
async function storm(ids: readonly number[], callers: number) {
  const calls = ids.flatMap((id) =>
    replicas.flatMap((url) =>
      Array.from({ length: callers }, () =>
        call(url, 'credentials.get_access_token', { database: stack.database, credential_id: id }),
      ),
    ),
  );
  const started = performance.now();
  const answers = await Promise.all(calls);
  return { answers, ms: performance.now() - started };
}

function tally(answers: ReadonlyArray<{ result?: unknown; error?: { code: number } }>) {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.error ? String(answer.error.code) : 'result';
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('refresh storms on two replicas', () => {
  it('40 expired credentials, 15 callers each per replica, 200 ms token latency: one refresh each, all served', async () => {
    const ids = await credentials(40, 'storm');
    await stack.expire(ids);
    await stack.control('/latency', { endpoint: 'token', ms: 200 });
    const before = (await stack.control('/stats')).token.refresh_token;
    const { answers, ms } = await storm(ids, 15);
    await stack.control('/latency', { endpoint: 'token', ms: 0 });
    expect(tally(answers)).toEqual({ result: 40 * 15 * 2 });
    expect((await stack.control('/stats')).token.refresh_token - before).toBe(40);
    // Each credential's callers all got the one token of its refresh.
    const perCredential = new Map<number, Set<string>>();
    answers.forEach((answer, index) => {
      const id = ids[Math.floor(index / 30)] as number;
      const tokens = perCredential.get(id) ?? new Set<string>();
      tokens.add((answer.result as { access_token: string }).access_token);
      perCredential.set(id, tokens);
    });
    expect([...perCredential.values()].every((tokens) => tokens.size === 1)).toBe(true);
    // 40 refreshes of 200 ms through pools of 10: far below 40 × 200 ms if no connection waits on Google.
    expect(ms).toBeLessThan(40 * 200);
  });

  it('with 30% of token calls failing, every caller gets a token or google_unavailable', async () => {
    const ids = await credentials(30, 'flaky');
    await stack.expire(ids);
    await stack.control('/failures', { endpoint: 'token', status: 503, count: 10_000, probability: 0.3 });
    const { answers } = await storm(ids, 10);
    await stack.control('/reset', {});
    const counts = tally(answers);
    expect(counts['-32603']).toBeUndefined();
    for (const answer of answers) {
      if (answer.error) {
        expect(DOCUMENTED.has(answer.error.code)).toBe(true);
        expect(answer.error.code).toBe(-32005);
      }
    }
    // Four attempts each: a credential fails only when all four fail (0.3^4, under 1%).
    expect(counts.result ?? 0).toBeGreaterThan(answers.length * 0.8);
    for (const id of ids) expect((await stack.row(id)).state).toBe('authorized');
  });
});

describe('a replica killed (SIGKILL) while it refreshes', () => {
  let killStack: Stack;

  beforeAll(async () => {
    killStack = await startStack({ env: { SIDECAR_REFRESH_INTERVAL: '3600', SIDECAR_GOOGLE_TIMEOUT: '30' } });
  });

  afterAll(async () => {
    await killStack?.stop();
  });

  it('lets another replica refresh once its lease lapses, within seconds', async () => {
    const id = await killStack.authorizedCredential('killed@example.com');
    const survivor = await killStack.startAnotherSidecar();
    await killStack.expire([id]);
    await killStack.control('/latency', { endpoint: 'token', ms: 60_000 });
    const params = { database: killStack.database, credential_id: id };
    const before = (await killStack.control('/stats')).token.refresh_token;
    const doomed = call(killStack.sidecar.url, 'credentials.get_access_token', params).catch(() => undefined);
    // Its refresh call reaching the emulator (counted as it arrives) proves that the first replica
    // holds the refresh lease (taken before Google is called) and waits on Google; it dies there.
    await until(
      async () => (await killStack.control('/stats')).token.refresh_token,
      (calls) => calls > before,
      { what: "the first replica's refresh reaching Google" },
    );
    await killStack.sidecar.stop('SIGKILL');
    await doomed;
    await killStack.control('/latency', { endpoint: 'token', ms: 0 });
    const started = performance.now();
    const answer = await call(survivor.url, 'credentials.get_access_token', params);
    expect(answer.error).toBeUndefined();
    expect(answer.result.access_token).toEqual(expect.any(String));
    // The lease lives 5 s unless extended: the survivor waits at most that long.
    expect(performance.now() - started).toBeLessThan(7_000);
  });
});
