/**
 * deploy/nginx/tryton-google.conf.template with the real nginx in front of trytond (gunicorn) and the
 * sidecar: Tryton works through the proxy, Google's redirect comes back through it to the sidecar and
 * authorizes the credential, the notification reaches the user over trytond's bus through it, and the
 * sidecar's private routes are refused by the proxy while the sidecar still serves them directly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consent } from '../support/consent.js';
import { API_KEY } from '../support/env.js';
import { deploySetup, type ProxyStack, request, startProxyStack } from './support/proxy-stack.js';

let stack: ProxyStack;
const MODEL = 'model.google_integration.google_credentials';

beforeAll(async () => {
  await deploySetup();
  stack = await startProxyStack();
}, 600_000);

afterAll(async () => {
  await stack?.stop();
});

/** trytond's JSON-RPC through the proxy (as sao calls it: /rpc/ and /<database>/rpc/). */
async function tryton(path: string, method: string, params: unknown[], session?: string) {
  const answer = await request(`${stack.publicUrl}${path}`, {
    method: 'POST',
    ca: stack.ca,
    headers: {
      'content-type': 'application/json',
      ...(session ? { authorization: `Session ${session}` } : {}),
    },
    body: JSON.stringify({ id: 1, method, params }),
  });
  if (answer.status !== 200)
    throw new Error(`${method}: HTTP ${answer.status} ${answer.body}\n${stack.logs()}`);
  const parsed = JSON.parse(answer.body) as { result?: any; error?: unknown };
  if (parsed.error !== undefined && parsed.error !== null) {
    throw new Error(`${method}: ${JSON.stringify(parsed.error)}\n${stack.logs()}`);
  }
  return { result: parsed.result, headers: answer.headers };
}

async function login(): Promise<string> {
  const { result } = await tryton(`/${stack.database}/rpc/`, 'common.db.login', [
    'admin',
    { password: 'admin' },
    'en',
  ]);
  const [userId, token, busUrl] = result as [number, string, string];
  // trytond believes the proxy's X-Forwarded-* (num_proxies = 1): clients reach the bus through it.
  expect(busUrl).toBe(`${stack.publicUrl}/`);
  return Buffer.from(`admin:${userId}:${token}`).toString('base64');
}

describe('trytond behind the proxy', () => {
  it('answers JSON-RPC on /rpc/ and a login on /<database>/rpc/ under gunicorn', async () => {
    const version = await tryton('/rpc/', 'common.server.version', []);
    expect(version.result).toBe('8.0');
    expect(version.headers['strict-transport-security']).toMatch(/max-age=/);
    expect(await login()).toBeTruthy();
  });

  it('redirects plain HTTP to the public https URL', async () => {
    const answer = await request(`${stack.httpUrl}/${stack.database}/google/callback?state=x`);
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe(`${stack.publicUrl}/${stack.database}/google/callback?state=x`);
  });
});

describe('the sidecar behind the proxy', () => {
  it('authorizes a credential created in Tryton: consent, then the callback through the proxy', async () => {
    const session = await login();
    const context = {};
    const { result: ids } = await tryton(
      `/${stack.database}/rpc/`,
      `${MODEL}.create`,
      [
        [{ name: 'Through the proxy', client_id: stack.clientId, client_secret: stack.clientSecret }],
        context,
      ],
      session,
    );
    const [id] = ids as number[];
    // Tryton proposes the proxy's callback for this database: the URI registered at Google.
    const { result: created } = await tryton(
      `/${stack.database}/rpc/`,
      `${MODEL}.read`,
      [[id], ['redirect_uri', 'state'], context],
      session,
    );
    expect(created[0]).toMatchObject({ redirect_uri: stack.redirectUri, state: 'without_authorization' });

    // The Authorize button: trytond calls the sidecar directly and opens Google's consent page.
    const { result: action } = await tryton(
      `/${stack.database}/rpc/`,
      `${MODEL}.request_authorization`,
      [[id], context],
      session,
    );
    const authorizationUrl = new URL(action.url as string);
    expect(authorizationUrl.origin).toBe(stack.emulator.url);
    expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(stack.redirectUri);

    // The Tryton client listens on the bus, through the proxy (a long poll), for its notifications.
    const userId = Number(Buffer.from(session, 'base64').toString().split(':')[1]);
    const bus = request(`${stack.publicUrl}/${stack.database}/bus`, {
      method: 'POST',
      ca: stack.ca,
      headers: { 'content-type': 'application/json', authorization: `Session ${session}` },
      body: JSON.stringify({ channels: [`notification:${userId}`], last_message: null }),
    });
    // trytond starts listening to PostgreSQL on the first subscription: wait until it does.
    for (let waited = 0; ; waited += 100) {
      const listening = await stack.db.raw(
        `SELECT 1 FROM pg_stat_activity WHERE datname = ? AND query = 'LISTEN "bus"'`,
        [stack.database],
      );
      if (listening.rows.length > 0) break;
      if (waited > 20_000) throw new Error(`trytond does not listen to the bus\n${stack.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const { redirect } = await consent(authorizationUrl.href, { email: 'proxy.owner@example.com' });
    expect(redirect.startsWith(`${stack.redirectUri}?`)).toBe(true);
    // The browser follows Google's redirect: to nginx, which hands it to the sidecar.
    const page = await request(redirect, { ca: stack.ca });
    expect(page.status, stack.logs()).toBe(200);
    expect(page.body).toContain('Google account connected');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(page.headers['strict-transport-security']).toMatch(/max-age=/);

    const { result: after } = await tryton(
      `/${stack.database}/rpc/`,
      `${MODEL}.read`,
      [[id], ['state', 'account_email'], context],
      session,
    );
    expect(after[0]).toMatchObject({ state: 'authorized', account_email: 'proxy.owner@example.com' });

    // The sidecar's notification reached the user who clicked Authorize, over the bus, through nginx.
    const delivered = await bus;
    expect(delivered.status, stack.logs()).toBe(200);
    const message = JSON.parse(delivered.body) as { channel: string; message: { type: string } };
    expect(message.channel).toBe(`notification:${userId}`);
    expect(message.message.type).toBe('user-notification');
    expect(JSON.stringify(message.message)).toContain('proxy.owner@example.com');
  });

  it('hands /google/callback (no database) to the sidecar', async () => {
    // No state: the sidecar's refusal page (400), not trytond's 404 nor the proxy's.
    for (const path of ['/google/callback', '/google/callback/', `/${stack.database}/google/callback`]) {
      const answer = await request(`${stack.publicUrl}${path}`, { ca: stack.ca });
      expect(answer.status, path).toBe(400);
      expect(answer.headers['content-type'], path).toMatch(/text\/html/);
      expect(answer.headers['content-security-policy'], path).toMatch(/default-src 'none'/);
    }
  });

  it("hands Google's push notifications to the sidecar, and nothing that only normalises to them", async () => {
    const notification = {
      'x-goog-channel-id': 'not-a-channel',
      'x-goog-channel-token': 'n1.forged.e.1.AAAAAAAAAAAAAAAAAAAAAA',
      'x-goog-resource-id': 'resource',
      'x-goog-resource-state': 'exists',
      'x-goog-message-number': '7',
    };
    // The sidecar's answers: a token that does not verify (403), no notification headers (400).
    const forged = await request(`${stack.publicUrl}/google/notifications`, {
      method: 'POST',
      ca: stack.ca,
      headers: notification,
    });
    expect(forged.status).toBe(403);
    const malformed = await request(`${stack.publicUrl}/google/notifications`, {
      method: 'POST',
      ca: stack.ca,
    });
    expect(malformed.status).toBe(400);
    for (const path of [
      '/x/../google/notifications',
      '/google/notifications/',
      '/google/notifications?x=1',
    ]) {
      const answer = await request(stack.publicUrl, {
        method: 'POST',
        rawPath: path,
        ca: stack.ca,
        headers: notification,
      });
      expect([404, 405], path).toContain(answer.status);
      expect(answer.status === 403, path).toBe(false);
    }
  });

  it('refuses the sidecar private routes, which the sidecar still serves directly', async () => {
    const refused: [string, string][] = [
      ['POST', '/rpc'],
      ['GET', '/rpc'],
      ['GET', '/metrics'],
      ['GET', '/metrics/'],
      ['GET', '/healthz'],
      ['GET', '/readyz'],
      ['GET', '/readyz/'],
      ['POST', '/%72pc'],
      ['GET', '/%6detrics'],
      ['POST', '//rpc'],
      // Paths that normalise to a callback but are not one as sent.
      ['POST', '/rpc/../google/callback'],
      ['GET', '/metrics/..%2fgoogle/callback'],
      ['GET', `/${stack.database}/x/../google/callback`],
    ];
    for (const [method, path] of refused) {
      const answer = await request(stack.publicUrl, {
        method,
        rawPath: path,
        ca: stack.ca,
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body:
          method === 'POST'
            ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'credentials.status' })
            : undefined,
      });
      expect([403, 404], `${method} ${path}`).toContain(answer.status);
      // The proxy's own answer: neither the sidecar's JSON nor trytond's.
      expect(answer.headers.server, `${method} ${path}`).toBe('nginx');
      expect(answer.body, `${method} ${path}`).not.toMatch(/jsonrpc|tryton_google|"status"/);
    }

    const metrics = await request(`${stack.sidecarUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('tryton_google_authorization_callbacks_total');
    expect((await request(`${stack.sidecarUrl}/healthz`)).status).toBe(200);
    expect((await request(`${stack.sidecarUrl}/readyz`)).status).toBe(200);
    const rpc = await request(`${stack.sidecarUrl}/rpc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'credentials.status',
        params: { database: stack.database, credential_id: 1 },
      }),
    });
    expect(rpc.status).toBe(200);
    expect(JSON.parse(rpc.body)).toMatchObject({ jsonrpc: '2.0', id: 1 });
  });
});
