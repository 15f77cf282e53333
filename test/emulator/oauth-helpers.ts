/**
 * Drives the emulator the way a client and a user do, by plain HTTP: consent page -> form -> decision ->
 * redirect -> token exchange, and the JSON calls of the emulated APIs and of the control API that the API
 * harnesses (calendar-helpers.ts, people-helpers.ts) are built on. Shared by the emulator's test files.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Credentials, GenerateAuthUrlOpts, OAuth2Client } from 'google-auth-library';
import { type RunningEmulator, startEmulator, type EmulatorOptions } from '../../src/emulator/server.js';

export const CLIENT = {
  clientId: 'client-1.apps.googleusercontent.com',
  clientSecret: 'test-client-1-secret',
  redirectUris: ['http://127.0.0.1:8765/demo/google/callback', 'http://localhost:9999/cb?x=1'],
};
export const REDIRECT_URI = CLIENT.redirectUris[0] as string;
export const CALENDAR = 'https://www.googleapis.com/auth/calendar';
export const USERINFO_EMAIL = 'https://www.googleapis.com/auth/userinfo.email';

export function start(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  return startEmulator({ clients: [CLIENT], ...options });
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authUrl(base: string, overrides: Record<string, string | undefined> = {}): string {
  const params: Record<string, string | undefined> = {
    client_id: CLIENT.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: `openid email ${CALENDAR}`,
    state: 'state-123',
    access_type: 'offline',
    prompt: 'consent',
    include_granted_scopes: 'true',
    ...overrides,
  };
  const query = new URLSearchParams(
    Object.entries(params).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return `${base}/o/oauth2/v2/auth?${query}`;
}

export interface ParsedForm {
  readonly action: string;
  readonly method: string;
  readonly fields: { name: string; value: string; type: string; checked: boolean; disabled: boolean }[];
}

/** Reads the consent form from the page as a test (or a user agent without a DOM) would. */
export function parseConsentForm(html: string): ParsedForm {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/.exec(html);
  if (!form?.[1] || form[2] === undefined) throw new Error('no form in page');
  const formAttributes = attributes(form[1]);
  if (formAttributes.id !== 'consent') throw new Error('form is not #consent');
  const fields = [...form[2].matchAll(/<(input|button)\b([^>]*)>/g)].map((match) => {
    const attrs = attributes(match[2] ?? '');
    return {
      name: attrs.name ?? '',
      value: attrs.value ?? '',
      type: attrs.type ?? (match[1] === 'button' ? 'submit' : 'text'),
      checked: 'checked' in attrs,
      disabled: 'disabled' in attrs,
    };
  });
  return { action: formAttributes.action ?? '', method: formAttributes.method ?? 'get', fields };
}

function attributes(source: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const match of source.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) {
    if (match[1]) found[match[1]] = decodeEntities(match[2] ?? '');
  }
  return found;
}

function decodeEntities(value: string): string {
  return value.replace(/&#(\d+);/g, (_all, code: string) => String.fromCharCode(Number(code)));
}

export interface ConsentChoice {
  readonly decision?: 'allow' | 'deny';
  readonly email?: string;
  readonly untick?: readonly string[];
}

/** Opens the consent page, fills the form as a browser would submit it, and returns the redirect. */
export async function consent(url: string, base: string, choice: ConsentChoice = {}): Promise<URL> {
  const page = await fetch(url);
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${await page.text()}`);
  const form = parseConsentForm(await page.text());
  const body = new URLSearchParams();
  for (const field of form.fields) {
    if (field.disabled || field.type === 'submit') continue;
    if (field.type === 'checkbox') {
      if (field.checked && !choice.untick?.includes(field.value)) body.append(field.name, field.value);
    } else if (field.name === 'email' && choice.email !== undefined) {
      body.append('email', choice.email);
    } else {
      body.append(field.name, field.value);
    }
  }
  body.append('decision', choice.decision ?? 'allow');
  const answer = await fetch(new URL(form.action, base), { method: form.method, body, redirect: 'manual' });
  if (answer.status !== 302) throw new Error(`decision answered ${answer.status}: ${await answer.text()}`);
  return new URL(answer.headers.get('location') ?? '');
}

export async function postForm(
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const answer = await fetch(url, { method: 'POST', body: new URLSearchParams(params), headers });
  const text = await answer.text();
  return { status: answer.status, headers: answer.headers, body: text ? JSON.parse(text) : undefined };
}

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const answer = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: answer.status, body: (await answer.json()) as any };
}

export function exchangeCode(base: string, code: string, verifier: string | undefined, extra = {}) {
  return postForm(`${base}/token`, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
    ...(verifier === undefined ? {} : { code_verifier: verifier }),
    ...extra,
  });
}

export function refresh(base: string, refreshToken: string) {
  return postForm(`${base}/token`, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: CLIENT.clientId,
    client_secret: CLIENT.clientSecret,
  });
}

export async function userinfo(base: string, accessToken: string, path = '/v1/userinfo') {
  const answer = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: answer.status, headers: answer.headers, body: (await answer.json()) as any };
}

/** The options of a google-auth-library OAuth2Client that uses CLIENT against the emulator at `base`. */
export function oauthClientOptions(base: string) {
  return {
    clientId: CLIENT.clientId,
    clientSecret: CLIENT.clientSecret,
    redirectUri: REDIRECT_URI,
    endpoints: {
      oauth2AuthBaseUrl: `${base}/o/oauth2/v2/auth`,
      oauth2TokenUrl: `${base}/token`,
      oauth2RevokeUrl: `${base}/revoke`,
    },
  };
}

/** An OAuth2Client's own flow: its auth URL (from `options`) consented as `email`, then its code exchanged. */
export async function clientConsent(
  client: OAuth2Client,
  base: string,
  email: string,
  options: GenerateAuthUrlOpts,
): Promise<Credentials> {
  const location = await consent(client.generateAuthUrl(options), base, { email });
  return (await client.getToken(location.searchParams.get('code') ?? '')).tokens;
}

/** The whole flow: consent (allow) then code exchange with a correct verifier. */
export async function authorize(base: string, overrides: Record<string, string | undefined> = {}) {
  const { verifier, challenge } = pkcePair();
  const url = authUrl(base, { code_challenge: challenge, code_challenge_method: 'S256', ...overrides });
  const location = await consent(url, base);
  const code = location.searchParams.get('code') ?? '';
  const tokens = await exchangeCode(base, code, verifier);
  if (tokens.status !== 200) throw new Error(`exchange failed: ${JSON.stringify(tokens.body)}`);
  return tokens.body as {
    access_token: string;
    refresh_token?: string;
    scope: string;
    expires_in: number;
    id_token?: string;
  };
}

/** An access token of `email` for `scopes` (with `openid email`), through the whole flow. */
export async function accessToken(base: string, email: string, scopes: readonly string[]): Promise<string> {
  return (await authorize(base, { login_hint: email, scope: `openid email ${scopes.join(' ')}` }))
    .access_token;
}

/** An answer of an emulated API or of the control API, its body parsed as JSON (undefined when empty). */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** What the API harnesses (calendar-helpers.ts, people-helpers.ts) offer alike. */
export interface ApiHarness {
  readonly emulator: RunningEmulator;
  /** An access token of `email` for `scopes` (default the API's main scope), through the consent flow. */
  token(email: string, scopes?: readonly string[]): Promise<string>;
  /** A call of the API as `token`'s bearer (none when undefined), `path` under the API's root. */
  api(token: string | undefined, method: string, path: string, options?: CallOptions): Promise<Answer>;
  /** A control API call, `path` under the harness's control root. */
  control(method: string, path: string, body?: unknown): Promise<Answer>;
  close(): Promise<void>;
}

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface CallOptions {
  /** Query parameters: a list repeats the parameter, an undefined value leaves it out. */
  readonly query?: Query;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** One request, `body` (when given) as JSON. */
export async function jsonCall(
  method: string,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const answer = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await answer.text();
  return { status: answer.status, headers: answer.headers, body: text ? JSON.parse(text) : undefined };
}

/** A call of the emulated API at `root` (`<url>/calendar/v3`, `<url>/v1`), with `token` as its bearer. */
export function apiCall(
  root: string,
  token: string | undefined,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Answer> {
  const url = new URL(`${root}${path}`);
  for (const [name, value] of Object.entries(options.query ?? {})) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
  }
  return jsonCall(method, url.toString(), options.body, {
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...options.headers,
  });
}

/** A control API call at `path` under `/__emulator`; a call other than GET sends `{}` when given no body. */
export function controlRequest(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return jsonCall(method, `${base}/__emulator${path}`, body ?? (method === 'GET' ? undefined : {}));
}

/** Every page of a listing, `page` asked with each nextPageToken in turn until the last page. */
export async function allPages(page: (pageToken: string | undefined) => Promise<Answer>): Promise<any[]> {
  const pages: any[] = [];
  let pageToken: string | undefined;
  do {
    const answer = await page(pageToken);
    if (answer.status !== 200)
      throw new Error(`list answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    pages.push(answer.body);
    pageToken = answer.body.nextPageToken;
  } while (pageToken);
  return pages;
}
