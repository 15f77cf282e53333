/**
 * Hostile JSON-RPC bodies each get their own JSON-RPC error (src/http/rpc-envelope.ts), never an
 * HTTP 500 or -32603, and never an echo of an id the spec does not allow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessSidecar, startInProcess } from '../support/in-process.js';
import { post } from '../support/rpc.js';

let harness: InProcessSidecar;
let credentialId: number;
let status: (id: unknown, credential?: number) => Record<string, unknown>;

beforeAll(async () => {
  harness = await startInProcess();
  const [row] = await harness
    .db('google_integration_google_credentials')
    .insert({ name: 'Hostile input', state: 'without_authorization', create_uid: 1 })
    .returning('id');
  credentialId = row.id;
  status = (id, credential = credentialId) => ({
    jsonrpc: '2.0',
    id,
    method: 'credentials.status',
    params: { database: harness.database, credential_id: credential },
  });
});

afterAll(async () => {
  await harness?.stop();
});

const INVALID = { code: -32600 };

async function send(body: string) {
  const answer = await post(harness.sidecar.url, body);
  return answer as { status: number; body: any };
}

describe('batches with non-object elements', () => {
  it.each([
    ['null', null],
    ['a number', 7],
    ['a string', 'x'],
    ['an array', [1]],
    ['an empty array', []],
    ['a boolean', true],
  ])('answers %s in a batch with its own -32600 and still answers the valid elements', async (_l, bad) => {
    const answer = await send(JSON.stringify([status('first'), bad, status(2)]));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([
      expect.objectContaining({
        id: 'first',
        result: expect.objectContaining({ state: 'without_authorization' }),
      }),
      { jsonrpc: '2.0', id: null, error: expect.objectContaining(INVALID) },
      expect.objectContaining({ id: 2, result: expect.objectContaining({ state: 'without_authorization' }) }),
    ]);
  });

  it('answers a batch of nulls with one -32600 each', async () => {
    const answer = await send('[null,null,null]');
    expect(answer.status).toBe(200);
    expect(answer.body).toHaveLength(3);
    for (const one of answer.body) expect(one).toMatchObject({ jsonrpc: '2.0', id: null, error: INVALID });
  });

  it('answers a batch of one valid request with an array', async () => {
    const answer = await send(JSON.stringify([status(5)]));
    expect(answer.body).toEqual([expect.objectContaining({ id: 5 })]);
  });

  it('answers an empty batch with a single -32600', async () => {
    const answer = await send('[]');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ jsonrpc: '2.0', id: null, error: INVALID });
  });

  it('refuses a batch larger than 100 with one clear -32600', async () => {
    const answer = await send(JSON.stringify(Array.from({ length: 101 }, (_v, i) => status(i))));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: null, error: { code: -32600, message: /at most 100/ } });
    const full = await send(JSON.stringify(Array.from({ length: 100 }, (_v, i) => status(i))));
    expect(full.body).toHaveLength(100);
  });
});

describe('ids', () => {
  const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
  const deepObject = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
  it.each([
    ['nested 5,000 levels deep in arrays', deep],
    ['nested 5,000 levels deep in objects', deepObject],
    ['an object', '{"a":1}'],
    ['an array', '[1]'],
    ['a boolean', 'true'],
    ['an empty object', '{}'],
    ['too large a number for a double', '1e400'],
  ])('answers an id %s with -32600 and id null, alone or in a batch', async (_label, id) => {
    const request = `{"jsonrpc":"2.0","method":"credentials.status","params":{},"id":${id}}`;
    const single = await send(request);
    expect(single.status).toBe(200);
    expect(single.body).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining(INVALID) });
    const batch = await send(`[${request},${JSON.stringify(status('ok'))}]`);
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual([
      { jsonrpc: '2.0', id: null, error: expect.objectContaining(INVALID) },
      expect.objectContaining({ id: 'ok', result: expect.anything() }),
    ]);
  });

  it.each([
    ['a string', 'abc'],
    ['a number', 42],
    ['a fraction', 1.5],
    ['null', null],
  ])('echoes an id that is %s', async (_label, id) => {
    const answer = await send(JSON.stringify(status(id)));
    expect(answer.body).toMatchObject({ id, result: { state: 'without_authorization' } });
  });
});

describe('request members', () => {
  it.each([
    ['method is a number', { jsonrpc: '2.0', id: 1, method: 5 }],
    ['method is an object', { jsonrpc: '2.0', id: 1, method: { name: 'credentials.status' } }],
    ['method is missing', { jsonrpc: '2.0', id: 1 }],
    ['params is a number', { jsonrpc: '2.0', id: 1, method: 'rpc.discover', params: 5 }],
    ['params is a string', { jsonrpc: '2.0', id: 1, method: 'rpc.discover', params: 'x' }],
    ['params is null', { jsonrpc: '2.0', id: 1, method: 'rpc.discover', params: null }],
    ['jsonrpc is "1.0"', { jsonrpc: '1.0', id: 1, method: 'rpc.discover' }],
    ['jsonrpc is a number', { jsonrpc: 2, id: 1, method: 'rpc.discover' }],
    ['jsonrpc is missing', { id: 1, method: 'rpc.discover' }],
    ['it carries a result', { jsonrpc: '2.0', id: 1, method: 'rpc.discover', result: 1 }],
  ])('answers -32600 when %s, echoing the valid id', async (_label, request) => {
    const answer = await send(JSON.stringify(request));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ jsonrpc: '2.0', id: 1, error: expect.objectContaining(INVALID) });
  });

  it('answers an invalid notification (no id) with -32600 and id null', async () => {
    const answer = await send('{"jsonrpc":"2.0","method":1,"params":"bar"}');
    expect(answer.body).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining(INVALID) });
  });

  it.each([
    ['null', 'null'],
    ['a number', '5'],
    ['a string', '"credentials.status"'],
    ['true', 'true'],
  ])('answers a body that is %s with -32600', async (_label, body) => {
    const answer = await send(body);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ jsonrpc: '2.0', id: null, error: expect.objectContaining(INVALID) });
  });
});

describe('credential ids', () => {
  it.each([
    ['2^31', 2 ** 31],
    ['2^53', 2 ** 53],
    ['1e300', 1e300],
  ])('refuses credential_id %s with -32602 (the column is an INTEGER)', async (_label, id) => {
    const answer = await send(JSON.stringify(status(1, id)));
    expect(answer.status).toBe(200);
    expect(answer.body.error).toMatchObject({ code: -32602, message: /^Invalid params: credential_id/ });
  });

  it('still accepts 2^31-1 as an id', async () => {
    const answer = await send(JSON.stringify(status(1, 2 ** 31 - 1)));
    expect(answer.body.error).toMatchObject({ code: -32002, data: { type: 'credential_not_found' } });
  });
});

describe('bodies that are not JSON text', () => {
  it('answers malformed JSON with -32700 and HTTP 200', async () => {
    const answer = await send('{"jsonrpc":');
    expect(answer).toEqual({
      status: 200,
      body: { jsonrpc: '2.0', id: null, error: expect.objectContaining({ code: -32700 }) },
    });
  });

  it('answers a body over 256kb with 413 and -32600', async () => {
    const answer = await send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x'.repeat(300_000) }));
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({ jsonrpc: '2.0', id: null, error: INVALID });
  });

  it('answers a body in an unknown charset with 400 and -32700', async () => {
    const response = await fetch(`${harness.sidecar.url}/rpc`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${harness.config.apiKey}`,
        'content-type': 'application/json; charset=x-unknown',
      },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });
});
