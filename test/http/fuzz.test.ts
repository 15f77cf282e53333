/**
 * A seeded fuzzer over the two routes strangers can reach: POST /rpc (with the right key, so every
 * body reaches the JSON-RPC layer) and every path ending in /google/callback. Whatever arrives, the
 * sidecar answers in its documented shape, never with -32603 or a bare error, keeps serving, leaks
 * no secret, and changes no credential.
 *
 * Reproduce a failure with the seed fast-check prints: `FUZZ_SEED=<seed> npx vitest run test/http/fuzz.test.ts`
 * (FUZZ_RUNS sets the number of runs of each property).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCipher } from '../../src/crypto/token-cipher.js';
import { StateTokens, stateDigest } from '../../src/oauth/state-token.js';
import { METHODS } from '../../src/rpc/server.js';
import { pageProblems } from '../support/callback-page.js';
import { CREDENTIALS_TABLE, type InProcessSidecar, startInProcess } from '../support/in-process.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const CLIENT_ID = `${randomBytes(6).toString('hex')}.apps.googleusercontent.com`;
const CLIENT_SECRET = `fuzz-client-secret-${randomBytes(16).toString('hex')}`;
const MISSING_DATABASE = 'gi_test_fuzz_missing';

let harness: InProcessSidecar;
/** A bare credential: every method refuses it without writing (or, for revoke, is not sent it). */
let bareId: number;
/** A pending authorization whose genuine state the callback fuzz sends, always with a code. */
let pendingId: number;
let liveState: string;
let before: string;
const codesSent = new Set<string>();

beforeAll(async () => {
  harness = await startInProcess({ emulator: true });
  const redirect = `${harness.sidecar.url}/${harness.database}/google/callback`;
  await harness.control('/clients', 'POST', {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [redirect],
  });
  bareId = await harness.insertCredential({ name: 'Bare', client_secret: CLIENT_SECRET });
  liveState = new StateTokens(harness.config.encryptionKeys).create(harness.database).value;
  pendingId = await harness.insertCredential({
    name: 'Pending',
    state: 'authorization_pending',
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uri: redirect,
    scopes: 'https://www.googleapis.com/auth/calendar',
    oauth_state: stateDigest(liveState),
    authorization_requested_at: harness.db.raw("timezone('UTC', now())"),
  });
  const cipher = new TokenCipher(harness.config.encryptionKeys);
  await harness
    .db(CREDENTIALS_TABLE)
    .where({ id: pendingId })
    .update({
      code_verifier: cipher.seal(randomBytes(32).toString('base64url'), {
        column: 'code_verifier',
        id: pendingId,
      }),
    });
  before = await harness.snapshot();
});

afterAll(async () => {
  if (!harness) return;
  try {
    // The process still serves, and nothing the fuzzers sent changed a credential or reached the log.
    expect((await fetch(`${harness.sidecar.url}/healthz`)).status).toBe(200);
    expect(await harness.snapshot()).toBe(before);
    const logs = harness.logs();
    expect(logs).not.toContain(CLIENT_SECRET);
    for (const code of codesSent) expect(logs).not.toContain(code);
    expect(logs).not.toMatch(/"level":50/);
  } finally {
    await harness.stop();
  }
});

// ---------------------------------------------------------------- POST /rpc

const methodName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...METHODS.map((method) => method.name)) },
  fc.constantFrom('credentials.nope', 'rpc.Discover', '__proto__', 'constructor', 'toString', ''),
  fc.string(),
);

const credentialId = () =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(bareId, pendingId, 424242, 2 ** 31 - 1) },
    fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 53 + 2, -1, 0, 1.5, -0, 1e300, Number.MAX_VALUE),
    fc.integer(),
    fc.double(),
    fc.constantFrom('1', `${bareId}`, '', null, true, [bareId], { id: bareId }),
  );

const databaseName = () =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(harness.database) },
    fc.constantFrom(MISSING_DATABASE, 'postgres', 'x; DROP TABLE y', '', '../etc', 'a'.repeat(64), 'ü'),
    fc.string(),
    fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,70}$/),
  );

const params = () =>
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ database: databaseName(), credential_id: credentialId() }) },
    fc.record(
      {
        database: databaseName(),
        credential_id: credentialId(),
        min_validity: fc.oneof(fc.integer({ min: -10, max: 4000 }), fc.double(), fc.string()),
        scopes: fc.oneof(fc.array(fc.string(), { maxLength: 60 }), fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }),
    fc.jsonValue(),
  );

const requestId = fc.oneof(
  { weight: 10, arbitrary: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) },
  fc.double(),
  fc.jsonValue(),
);

/** `undefined` members vanish in JSON.stringify: the member is absent. */
const sometimes = <T>(weight: number, arbitrary: fc.Arbitrary<T>, otherwise: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight, arbitrary }, fc.constant(undefined), otherwise);

/** Near-valid requests: the real envelope with each member sometimes missing or of the wrong kind. */
const rpcRequest = () =>
  fc
    .record({
      jsonrpc: sometimes(12, fc.constant('2.0'), fc.jsonValue()),
      id: sometimes(6, requestId, requestId),
      method: sometimes(12, methodName, fc.jsonValue()),
      params: sometimes(6, params(), params()),
      result: fc.oneof({ weight: 15, arbitrary: fc.constant(undefined) }, fc.jsonValue()),
    })
    .map(withoutWrites);

/**
 * A legitimate request_authorization or revoke of a stored credential changes it: the fuzzer
 * aims those at an id that does not exist, so any change to the rows is the sidecar's fault.
 */
function withoutWrites<T extends Record<string, unknown>>(request: T): T {
  const writes =
    request.method === 'credentials.request_authorization' || request.method === 'credentials.revoke';
  const given = request.params as Record<string, unknown> | undefined;
  if (!writes || typeof given !== 'object' || given === null || Array.isArray(given)) return request;
  if (given.credential_id !== bareId && given.credential_id !== pendingId) return request;
  return { ...request, params: { ...given, credential_id: 424242 } };
}

function deepNesting(depth: number, open: string, close: string): string {
  return `{"jsonrpc":"2.0","method":"credentials.status","params":{},"id":${open.repeat(depth)}1${close.repeat(depth)}}`;
}

const rpcBody = () =>
  fc.oneof(
    { weight: 4, arbitrary: rpcRequest().map((request) => JSON.stringify(request)) },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.oneof({ weight: 4, arbitrary: rpcRequest() }, fc.jsonValue()), { maxLength: 8 })
        .map((batch) => JSON.stringify(batch)),
    },
    fc
      .tuple(rpcRequest(), fc.integer({ min: 95, max: 130 }))
      .map(([request, n]) => JSON.stringify(Array.from({ length: n }, () => request))),
    fc.json(),
    fc.anything().map((value) => {
      try {
        return JSON.stringify(value) ?? 'undefined';
      } catch {
        return String(typeof value);
      }
    }),
    fc.tuple(rpcRequest(), fc.nat()).map(([request, cut]) => {
      const text = JSON.stringify(request);
      return text.slice(0, cut % (text.length + 1));
    }),
    fc
      .tuple(fc.integer({ min: 1, max: 20_000 }), fc.boolean())
      .map(([depth, arrays]) => (arrays ? deepNesting(depth, '[', ']') : deepNesting(depth, '{"a":', '}'))),
    fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ 'content-type': 'application/json' }) },
  fc.constantFrom(
    {},
    { 'content-type': 'text/plain' },
    { 'content-type': 'application/json; charset=latin1' },
    { 'content-type': 'application/json; charset=x-unknown' },
    { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    { 'content-type': 'application/json', 'content-encoding': 'x-unknown' },
  ),
);

function checkRpcAnswer(one: unknown): void {
  expect(one).toBeTypeOf('object');
  const answer = one as Record<string, unknown>;
  expect(answer.jsonrpc).toBe('2.0');
  const id = answer.id;
  expect(typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) || id === null).toBe(true);
  expect('result' in answer !== 'error' in answer).toBe(true);
  if ('error' in answer) {
    const error = answer.error as { code: unknown; message: unknown };
    expect(Number.isInteger(error.code)).toBe(true);
    expect(error.code).not.toBe(-32603);
    expect(error.message).toBeTypeOf('string');
  }
}

describe('POST /rpc', () => {
  it('answers any body with valid JSON-RPC and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(rpcBody(), contentType, async (body, headers) => {
        const response = await fetch(`${harness.sidecar.url}/rpc`, {
          method: 'POST',
          headers: { authorization: `Bearer ${harness.config.apiKey}`, ...headers },
          body,
        });
        expect([200, 204, 400, 401, 413]).toContain(response.status);
        const text = await response.text();
        if (response.status === 204) {
          expect(text).toBe('');
          return;
        }
        const answer: unknown = JSON.parse(text);
        if (Array.isArray(answer)) {
          expect(answer.length).toBeGreaterThan(0);
          for (const one of answer) checkRpcAnswer(one);
        } else checkRpcAnswer(answer);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------- GET /…/google/callback

interface RawAnswer {
  status: number;
  headers: Headers;
  body: string;
}

/** A request with the exact path and query given: fetch would normalise them first. */
function rawRequest(method: string, path: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(harness.sidecar.url);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: hostname, port, method, path }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const one of Array.isArray(value) ? value : [value ?? '']) headers.append(name, one);
        }
        resolve({ status: incoming.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** URL-safe text that HTTP carries as is; `%` escapes in it may be invalid on purpose. */
const rawText = (max: number) =>
  fc.stringMatching(new RegExp(`^(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{0,2}){0,${max}}$`));

const pathPrefix = () =>
  fc.oneof(
    {
      weight: 2,
      arbitrary: fc.constantFrom('', `/${harness.database}`, `/${MISSING_DATABASE}`, '/postgres'),
    },
    fc.string().map((text) => `/${encodeURIComponent(text)}`),
    rawText(80).map((text) => `/${text}`),
    fc.array(rawText(12), { maxLength: 4 }).map((parts) => parts.map((part) => `/${part}`).join('')),
    fc.constantFrom('//', '/%FF', '/a%2Fb', '/.', '/..', `/${'a'.repeat(64)}`, `/${'x'.repeat(3000)}`),
  );

const code = fc
  .uint8Array({ minLength: 12, maxLength: 32 })
  .map((bytes) => `4/fuzz-${Buffer.from(bytes).toString('hex')}`);

const stateValue = () => {
  const states = new StateTokens(harness.config.encryptionKeys);
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant(liveState) },
    fc.constant(null).map(() => states.create(harness.database).value),
    fc.constant(null).map(() => states.create(MISSING_DATABASE).value),
    fc.constant(null).map(() => states.create('bad name').value),
    fc.nat().map((n) => `${liveState.slice(0, -2)}${(n % 100).toString().padStart(2, '0')}`),
  );
};

const queryValue = () =>
  fc.oneof(
    { weight: 2, arbitrary: code },
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer({ min: 4000, max: 5000 }).map((n) => 'A'.repeat(n)),
    fc.constantFrom('access_denied', '<script>alert(1)</script>', '"><img src=x>', "'&amp;", ''),
    stateValue(),
  );

/** Query parameters: mostly Google's shape (code, state, scope or error) with odd values, or anything. */
const queryPairs = () =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({
          code: sometimes(6, code, queryValue()),
          state: sometimes(6, stateValue(), queryValue()),
          scope: sometimes(1, queryValue(), fc.constant('openid email')),
          error: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, queryValue()),
          more: fc.array(fc.tuple(fc.string({ maxLength: 10 }), queryValue()), { maxLength: 2 }),
        })
        .map(({ more, ...google }) => [
          ...Object.entries(google).filter((pair): pair is [string, string] => pair[1] !== undefined),
          ...more,
        ]),
    },
    fc.array(
      fc.tuple(
        fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom('code', 'state', 'error', 'scope') },
          fc.string({ maxLength: 10 }),
        ),
        queryValue(),
      ),
      { maxLength: 7 },
    ),
  );

const MAX_QUERY = 12_000;

/** The live state is only ever sent with a code: with an error it would (rightly) end the request. */
function queryOf(pairs: Array<[string, string]>, rawTail: string): string {
  const live = pairs.some(([, value]) => value === liveState);
  const kept = live ? pairs.filter(([key]) => key !== 'error') : pairs;
  const encoded = kept.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  const parts = [...encoded, ...(rawTail && !live ? [rawTail] : [])];
  // Node's HTTP parser answers 431 itself, before the sidecar, to a request head over 16 KiB.
  while (parts.join('&').length > MAX_QUERY) parts.pop();
  return parts.join('&');
}

/** Every tag a callback page may hold: anything else would be markup a query value smuggled in. */
const PAGE_TAGS = new Set([
  '!doctype',
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'main',
  'h1',
  'p',
  'small',
]);

describe('GET /…/google/callback', () => {
  it('answers any path and query with the page and changes nothing', async () => {
    const reference = (await rawRequest('GET', '/google/callback')).body;
    await fc.assert(
      fc.asyncProperty(
        pathPrefix(),
        fc.boolean(),
        queryPairs(),
        fc.oneof({ weight: 4, arbitrary: fc.constant('') }, rawText(40)),
        fc.constantFrom('GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'HEAD'),
        async (prefix, slash, pairs, rawTail, method) => {
          const query = queryOf(pairs, rawTail);
          for (const [key, value] of new URLSearchParams(query))
            if (key === 'code' && value.startsWith('4/fuzz-')) codesSent.add(value);
          const answer = await rawRequest(
            method,
            `${prefix}/google/callback${slash ? '/' : ''}${query ? `?${query}` : ''}`,
          );
          expect(method === 'HEAD' ? [405] : [200, 400, 404, 503]).toContain(answer.status);
          expect(pageProblems(answer)).toEqual([]);
          if (method === 'HEAD') return;
          expect(answer.body).toMatch(/^<!doctype html>/);
          const tags = [...answer.body.matchAll(/<\/?([!\w-]+)/g)].map((match) =>
            (match[1] as string).toLowerCase(),
          );
          for (const tag of tags) expect(PAGE_TAGS).toContain(tag);
          expect(answer.body).not.toContain(CLIENT_SECRET);
          for (const [, value] of new URLSearchParams(query)) {
            if (value.trim().length >= 8 && !reference.includes(value))
              expect(answer.body).not.toContain(value);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    expect(codesSent.size).toBeGreaterThan(0);
  });
});
