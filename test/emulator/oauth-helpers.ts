/**
 * Drives the emulator the way a client and a user do, by plain HTTP: consent page -> form -> decision ->
 * redirect -> token exchange. Shared by the emulator's test files.
 */
import { createHash, randomBytes } from 'node:crypto';
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
