import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { type RunningSidecar, startSidecar } from '../../src/main.js';
import { API_KEY, sidecarEnv } from '../support/env.js';
import { cloneDatabase, connect, dropDatabase, STANDALONE_TEMPLATE } from '../support/postgres.js';
import { call, post } from '../support/rpc.js';

let database: string;
let bare: string;
let db: Knex;
let sidecar: RunningSidecar;
let credentialId: number;

beforeAll(async () => {
  database = await cloneDatabase(STANDALONE_TEMPLATE);
  bare = await cloneDatabase('template1', 'gi_test_bare');
  db = connect(database);
  const [row] = await db('google_integration_google_credentials')
    .insert({
      name: 'Sales calendar',
      state: 'authorized',
      client_secret: 'client-secret-value',
      token_expiry: '2026-11-25 10:00:00',
      account_email: 'sales@example.com',
      granted_scopes: 'openid https://www.googleapis.com/auth/calendar',
      last_sync: null,
      create_date: db.fn.now(),
      create_uid: 1,
    })
    .returning('id');
  credentialId = row.id;
  // Served explicitly: a sidecar without an allow-list would start background work in every
  // database of the server, other test files' included.
  sidecar = await startSidecar(
    loadConfig(sidecarEnv({ SIDECAR_DATABASES: database })),
    createLogger('silent'),
  );
});

afterAll(async () => {
  await sidecar?.close();
  await db?.destroy();
  await dropDatabase(database);
  await dropDatabase(bare);
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${sidecar.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${sidecar.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
  });
});

describe('authentication', () => {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'credentials.status', params: {} });
  it.each([
    ['no key', null],
    ['a wrong key', `${API_KEY.slice(0, -1)}x`],
    ['a prefix of the key', API_KEY.slice(0, 10)],
  ])('answers 401 with %s', async (_label, key) => {
    const answer = await post(sidecar.url, body, key);
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ error: { data: { type: 'unauthenticated' } } });
  });
});

describe('credentials.status', () => {
  it('returns the stored status with UTC times', async () => {
    const { result } = await call(sidecar.url, 'credentials.status', {
      database,
      credential_id: credentialId,
    });
    expect(result).toEqual({
      state: 'authorized',
      token_expiry: '2026-11-25T10:00:00.000Z',
      account_email: 'sales@example.com',
      granted_scopes: ['openid', 'https://www.googleapis.com/auth/calendar'],
      last_error: null,
      last_sync: null,
    });
    expect(JSON.stringify(result)).not.toContain('client-secret-value');
  });

  it('answers credential_not_found for an unknown id', async () => {
    const { error } = await call(sidecar.url, 'credentials.status', { database, credential_id: 999999 });
    expect(error).toMatchObject({ code: -32002, data: { type: 'credential_not_found' } });
  });

  it.each([
    ['a positional array', [database, 1]],
    ['a missing credential_id', { database }],
    ['a string id', { database, credential_id: '1' }],
    ['a negative id', { database, credential_id: -1 }],
    ['an invalid database name', { database: 'x; DROP TABLE y', credential_id: 1 }],
    ['an unknown parameter', { database, credential_id: 1, extra: true }],
  ])('refuses %s with -32602', async (_label, params) => {
    const { error } = await call(sidecar.url, 'credentials.status', params);
    expect(error?.code).toBe(-32602);
    expect(error?.message).toMatch(/^Invalid params/);
  });

  it.each([
    ['an unknown database', () => 'gi_test_does_not_exist'],
    ['a database without the module table', () => bare],
  ])('answers database_not_served for %s', async (_label, name) => {
    const { error } = await call(sidecar.url, 'credentials.status', { database: name(), credential_id: 1 });
    expect(error).toMatchObject({ code: -32001, data: { type: 'database_not_served' } });
  });
});

describe('tokens that no key opens', () => {
  it('answer -32010 tokens_unreadable, naming what to do, not an internal error', async () => {
    const [row] = await db('google_integration_google_credentials')
      .insert({
        name: 'Sealed under a key since dropped',
        state: 'authorized',
        access_token: 'gcm1.0badc0de.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA',
        refresh_token: 'gcm1.0badc0de.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA',
        token_expiry: db.raw("timezone('UTC', now()) + interval '1 hour'"),
        sync_enabled: false,
      })
      .returning('id');
    const answer = await call(sidecar.url, 'credentials.get_access_token', {
      database,
      credential_id: row.id,
    });
    expect(answer.error).toMatchObject({ code: -32010, data: { type: 'tokens_unreadable' } });
    expect(answer.error?.message).toMatch(/SIDECAR_ENCRYPTION_KEYS/);
  });
});

describe('JSON-RPC protocol', () => {
  it('answers -32700 to malformed JSON and -32601 to an unknown method', async () => {
    expect((await post(sidecar.url, '{"jsonrpc":')).body).toMatchObject({ error: { code: -32700 } });
    const { error } = await call(sidecar.url, 'credentials.nope', {});
    expect(error?.code).toBe(-32601);
  });

  it('answers batches in order and nothing to notifications', async () => {
    const batch = [
      {
        jsonrpc: '2.0',
        id: 'a',
        method: 'credentials.status',
        params: { database, credential_id: credentialId },
      },
      { jsonrpc: '2.0', id: 'b', method: 'credentials.status', params: { database, credential_id: 424242 } },
    ];
    const answer = await post(sidecar.url, JSON.stringify(batch));
    expect(answer.body).toMatchObject([
      { id: 'a', result: { state: 'authorized' } },
      { id: 'b', error: { data: { type: 'credential_not_found' } } },
    ]);
    const notification = {
      jsonrpc: '2.0',
      method: 'credentials.status',
      params: { database, credential_id: 1 },
    };
    expect((await post(sidecar.url, JSON.stringify(notification))).status).toBe(204);
  });
});

describe('allow-list', () => {
  it('serves only SIDECAR_DATABASES when set', async () => {
    const limited = await startSidecar(
      loadConfig(sidecarEnv({ SIDECAR_DATABASES: 'some_other_db' })),
      createLogger('silent'),
    );
    try {
      const { error } = await call(limited.url, 'credentials.status', {
        database,
        credential_id: credentialId,
      });
      expect(error?.data?.type).toBe('database_not_served');
    } finally {
      await limited.close();
    }
    const allowed = await startSidecar(
      loadConfig(sidecarEnv({ SIDECAR_DATABASES: database })),
      createLogger('silent'),
    );
    try {
      const { result } = await call(allowed.url, 'credentials.status', {
        database,
        credential_id: credentialId,
      });
      expect(result?.state).toBe('authorized');
    } finally {
      await allowed.close();
    }
  });
});

describe('metrics', () => {
  it('serves Prometheus metrics labelled by route pattern, never by database', async () => {
    await call(sidecar.url, 'credentials.status', { database, credential_id: credentialId });
    const response = await fetch(`${sidecar.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('tryton_google_http_request_duration_seconds_count{route="/rpc",status="2xx"}');
    expect(text).toContain('# TYPE tryton_google_token_refreshes_total counter');
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).not.toContain(database);
  });
});
