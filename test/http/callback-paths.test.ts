/**
 * Every answer on a path ending in /google/callback is the callback's HTML page with its security
 * headers (src/http/callback-route.ts), whatever the path, method or query: never express's JSON
 * 404 or error answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateTokens, stateDigest } from '../../src/oauth/state-token.js';
import { expectCallbackPage } from '../support/callback-page.js';
import { type InProcessSidecar, startInProcess } from '../support/in-process.js';

let harness: InProcessSidecar;

beforeAll(async () => {
  harness = await startInProcess();
});

afterAll(async () => {
  await harness?.stop();
});

async function get(path: string, init: RequestInit = {}) {
  return fetch(`${harness.sidecar.url}${path}`, { redirect: 'manual', ...init });
}

describe('odd paths', () => {
  it.each([
    ['an undecodable escape', '/%FF/google/callback'],
    ['a truncated UTF-8 escape', '/%E2%82/google/callback'],
    ['a lone percent sign', '/%/google/callback'],
    ['an empty database segment', '//google/callback'],
    ['an escaped slash', '/a%2Fb/google/callback'],
    ['two segments', '/a/b/google/callback'],
    ['a database name over 63 characters', `/${'a'.repeat(64)}/google/callback`],
    ['a database name of 5,000 characters', `/${'a'.repeat(5000)}/google/callback`],
    ['an invalid database name', '/bad%20name/google/callback'],
    ['a trailing slash', '/google/callback/'],
    ['a trailing slash after a database', '/some_db/google/callback/'],
  ])('answers %s with the 400 page', async (_label, path) => {
    const response = await get(`${path}?code=abc&state=def`);
    const html = await expectCallbackPage(response, 400);
    expect(html).toContain('Authorization refused');
  });

  it('answers a malformed query with the 400 page', async () => {
    for (const query of [
      '',
      '?',
      '?code=%FF&state=%',
      '?state=a&state=b&code=c',
      '?error=<script>&state=x',
    ]) {
      const response = await get(`/google/callback${query}`);
      const html = await expectCallbackPage(response, 400);
      expect(html).not.toContain('<script>');
    }
  });

  it('answers a valid state of a database that does not exist with the 404 page', async () => {
    const state = new StateTokens(harness.config.encryptionKeys).create('gi_test_no_such_database');
    const response = await get(`/google/callback?code=abc&state=${encodeURIComponent(state.value)}`);
    await expectCallbackPage(response, 404);
  });
});

describe('methods', () => {
  it.each(['HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'])(
    'answers %s with the 405 page and does not act on the query',
    async (method) => {
      // A pending request whose state is genuine: a GET with this query would end it (denied).
      const state = new StateTokens(harness.config.encryptionKeys).create(harness.database);
      await harness.insertCredential({
        state: 'authorization_pending',
        oauth_state: stateDigest(state.value),
        code_verifier: 'not-opened-on-denial',
        authorization_requested_at: harness.db.raw("timezone('UTC', now())"),
      });
      const before = await harness.snapshot();
      const response = await get(
        `/${harness.database}/google/callback?error=access_denied&state=${state.value}`,
        {
          method,
        },
      );
      await expectCallbackPage(response, 405, { body: method !== 'HEAD' });
      expect(response.headers.get('allow')).toBe('GET');
      expect(await harness.snapshot()).toBe(before);
    },
  );
});

describe('metrics', () => {
  it('counts callbacks under their route pattern, never their path', async () => {
    await get('/google/callback');
    await get('/some_db/google/callback');
    await get('/%FF/google/callback');
    const text = await (await get('/metrics')).text();
    expect(text).toContain('route="/google/callback",status="4xx"');
    expect(text).toContain('route="/:database/google/callback",status="4xx"');
    expect(text).not.toContain('some_db');
  });
});
