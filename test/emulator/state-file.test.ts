import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStateFile, StateFileError } from '../../src/emulator/persistence.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { authorize, CALENDAR, CLIENT, REDIRECT_URI, refresh, start, userinfo } from './oauth-helpers.js';

const EMAIL = 'persist@example.com';
let dir: string;
let path: string;
const running: RunningEmulator[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'emulator-state-'));
  path = join(dir, 'state.json');
});
afterEach(async () => {
  for (const emulator of running.splice(0)) await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

async function boot(options: Parameters<typeof start>[0] = {}): Promise<RunningEmulator> {
  const emulator = await start({ statePath: path, stateSaveDelayMs: 20, ...options });
  running.push(emulator);
  return emulator;
}

async function stop(emulator: RunningEmulator): Promise<void> {
  running.splice(running.indexOf(emulator), 1);
  await emulator.close();
}

async function api(base: string, token: string, method: string, path: string, body?: unknown) {
  const answer = await fetch(`${base}/calendar/v3${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: answer.status, body: (await answer.json()) as any };
}

describe('--state: the emulator keeps its state across restarts', () => {
  it('keeps tokens, grants, calendars, events and sync tokens usable after a restart', async () => {
    const first = await boot();
    const tokens = await authorize(first.url, { login_hint: EMAIL, scope: `openid email ${CALENDAR}` });
    const created = await api(first.url, tokens.access_token, 'POST', '/calendars/primary/events', {
      summary: 'Before the restart',
      start: { dateTime: '2026-03-02T09:00:00', timeZone: 'Europe/Brussels' },
      end: { dateTime: '2026-03-02T10:00:00', timeZone: 'Europe/Brussels' },
    });
    expect(created.status).toBe(200);
    const listed = await api(first.url, tokens.access_token, 'GET', '/calendars/primary/events');
    const syncToken = listed.body.nextSyncToken as string;
    await stop(first);

    const mode = (await stat(path)).mode & 0o777;
    expect(mode).toBe(0o600);
    const saved = await readFile(path, 'utf8');
    expect(saved).toContain(tokens.access_token);

    const second = await boot({ port: 0 });
    // The access token issued before still works, and so does the refresh token.
    expect((await userinfo(second.url, tokens.access_token)).body.email).toBe(EMAIL);
    const refreshed = await refresh(second.url, tokens.refresh_token ?? '');
    expect(refreshed.status).toBe(200);
    const event = await api(
      second.url,
      tokens.access_token,
      'GET',
      `/calendars/primary/events/${created.body.id}`,
    );
    expect(event.status).toBe(200);
    expect(event.body).toMatchObject({ summary: 'Before the restart', etag: created.body.etag });
    expect(event.body.start).toEqual({ dateTime: '2026-03-02T08:00:00Z', timeZone: 'Europe/Brussels' });
    // The sync token minted before the restart is still valid: nothing changed, then one change.
    const quiet = await api(
      second.url,
      tokens.access_token,
      'GET',
      `/calendars/primary/events?syncToken=${encodeURIComponent(syncToken)}`,
    );
    expect(quiet.status).toBe(200);
    expect(quiet.body.items).toEqual([]);
    await api(second.url, tokens.access_token, 'PATCH', `/calendars/primary/events/${created.body.id}`, {
      summary: 'After the restart',
    });
    const changes = await api(
      second.url,
      tokens.access_token,
      'GET',
      `/calendars/primary/events?syncToken=${encodeURIComponent(syncToken)}`,
    );
    expect(changes.body.items.map((item: any) => item.summary)).toEqual(['After the restart']);
    expect(second.state.listGrants()).toEqual([
      expect.objectContaining({ clientId: CLIENT.clientId, email: EMAIL }),
    ]);
  });

  it('saves changes made while running, debounced, without waiting for close', async () => {
    const emulator = await boot();
    await authorize(emulator.url, { login_hint: EMAIL });
    await expect
      .poll(async () => (await readStateFile(path))?.oauth.refreshTokens.length, { timeout: 2_000 })
      .toBe(1);
    const revoked = await fetch(`${emulator.url}/__emulator/grants/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL }),
    });
    expect(revoked.status).toBe(200);
    await expect
      .poll(async () => (await readStateFile(path))?.oauth.refreshTokens.length, { timeout: 2_000 })
      .toBe(0);
  });

  it('saves events made through the web page, and they are there after a restart', async () => {
    const first = await boot();
    const added = await fetch(`${first.url}/ui/accounts`, {
      method: 'POST',
      body: new URLSearchParams({ email: EMAIL }),
      redirect: 'manual',
    });
    expect(added.status).toBe(303);
    const created = await fetch(`${first.url}/ui/calendars/${encodeURIComponent(EMAIL)}/events`, {
      method: 'POST',
      body: new URLSearchParams({ summary: 'Made on the page', allDay: 'on', startDate: '2026-07-01' }),
      redirect: 'manual',
    });
    expect(created.status).toBe(303);
    await expect
      .poll(async () => JSON.stringify((await readStateFile(path))?.calendar.events ?? {}), {
        timeout: 2_000,
      })
      .toContain('Made on the page');
    await stop(first);
    const second = await boot();
    const page = await (await fetch(`${second.url}/`)).text();
    expect(page).toContain('Made on the page');
    expect(page).toContain('2026-07-01 (all day)');
  });

  it('keeps the clock offset, raw overrides and the paging settings; reads files written before them', async () => {
    const first = await boot();
    const tokens = await authorize(first.url, { login_hint: EMAIL, scope: `openid email ${CALENDAR}` });
    const created = await api(first.url, tokens.access_token, 'POST', '/calendars/primary/events', {
      summary: 'Normal',
      start: { date: '2026-03-02' },
      end: { date: '2026-03-03' },
    });
    const control = (path: string, body: unknown) =>
      fetch(`${first.url}/__emulator${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await control(`/calendar/calendars/${EMAIL}/events/${created.body.id}/raw`, { fields: { summary: 42 } });
    await control('/calendar/paging', { maxPageSize: 3, changeWhilePaging: { count: 1 } });
    await control('/clock', { advance_ms: 60_000 });
    await stop(first);

    const second = await boot();
    expect(second.state.clockOffset).toBe(60_000);
    expect(second.state.calendar.changeWhilePaging).toEqual({ count: 1 });
    const event = await api(
      second.url,
      tokens.access_token,
      'GET',
      `/calendars/primary/events/${created.body.id}`,
    );
    expect(event.body.summary).toBe(42);
    await stop(second);

    // A file from before these settings: no clock, no raw overrides, no changeWhilePaging.
    const old = JSON.parse(await readFile(path, 'utf8'));
    delete old.clock;
    delete old.calendar.raw;
    delete old.calendar.changeWhilePaging;
    await writeFile(path, JSON.stringify(old));
    const third = await boot();
    expect(third.state.clockOffset).toBe(0);
    expect(third.state.calendar.changeWhilePaging).toBeNull();
    const plain = await api(
      third.url,
      tokens.access_token,
      'GET',
      `/calendars/primary/events/${created.body.id}`,
    );
    expect(plain.body.summary).toBe('Normal');
  });

  it('starts empty when the file does not exist yet, and keeps clients given at start over loaded ones', async () => {
    const first = await boot();
    expect((await readStateFile(path))?.oauth.clients.map((client) => client.clientId)).toEqual([
      CLIENT.clientId,
    ]);
    await fetch(`${first.url}/__emulator/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'added', client_secret: 's', redirect_uris: ['http://x/cb'] }),
    });
    await stop(first);
    const second = await boot();
    expect(second.state.client('added')).toBeDefined();
    expect(second.state.client(CLIENT.clientId)).toBeDefined();
  });

  it('without --state keeps everything in memory only', async () => {
    const emulator = await start();
    running.push(emulator);
    await authorize(emulator.url, { login_hint: EMAIL });
    await emulator.save();
    await stop(emulator);
    await expect(stat(path)).rejects.toThrow();
  });

  it.each([
    ['not JSON', '{"version": 1, "oauth": '],
    ['another document', '{"hello": "world"}'],
    ['a newer version', JSON.stringify({ version: 2 })],
    ['a broken calendar', null],
  ])('refuses to start on a state file that is %s', async (_name, content) => {
    let text = content;
    if (text === null) {
      const emulator = await boot();
      await emulator.save();
      await stop(emulator);
      const state = JSON.parse(await readFile(path, 'utf8'));
      state.calendar.events = { nowhere: { x: { id: 'x' } } };
      state.calendar.calendars = { broken: { id: 'broken', owner: 'a', timeZone: 'UTC', tokenEpoch: 0 } };
      text = JSON.stringify(state);
    }
    await writeFile(path, text);
    await expect(start({ statePath: path })).rejects.toThrow(StateFileError);
    await expect(start({ statePath: path })).rejects.toThrow(path);
    // The file is left as it was: no silent reset.
    expect(await readFile(path, 'utf8')).toBe(text);
  });

  it('refuses an unreadable path (a directory) and one that cannot be written', async () => {
    await expect(start({ statePath: dir })).rejects.toThrow(/cannot be read/);
    await expect(start({ statePath: join(dir, 'missing', 'state.json') })).rejects.toThrow(
      /cannot be written/,
    );
  });

  it('tryton-google emulator --state: SIGTERM writes what is pending, the next run takes it up', async () => {
    const args = ['--state', path, '--client', `${CLIENT.clientId}:${CLIENT.clientSecret}:${REDIRECT_URI}`];
    const first = await runCli(args);
    let tokens: Awaited<ReturnType<typeof authorize>>;
    try {
      tokens = await authorize(first.url, { login_hint: EMAIL });
    } finally {
      first.child.kill('SIGTERM');
    }
    expect((await once(first.child, 'exit'))[0]).toBe(0);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const second = await runCli(args);
    try {
      expect((await userinfo(second.url, tokens.access_token)).body.email).toBe(EMAIL);
    } finally {
      second.child.kill('SIGTERM');
      await once(second.child, 'exit');
    }
  });

  it('tryton-google emulator --state: a corrupt file stops the command with a clear message', async () => {
    await writeFile(path, 'garbage');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'run-cli.ts'), '--state', path],
      { cwd: join(import.meta.dirname, '..', '..'), env: { ...process.env, LOG_LEVEL: 'silent' } },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).not.toBe(0);
    expect(stderr).toContain(`emulator state file ${path}: is not JSON`);
  });
});

/** Starts `tryton-google emulator` in a child process and waits for its "emulator listening" line. */
async function runCli(args: string[]) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'run-cli.ts'), ...args],
    {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, LOG_LEVEL: 'info' },
    },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start:\n${output}`)), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((text) => text.includes('"msg":"emulator listening"'));
      if (line) {
        clearTimeout(timer);
        resolve(String(JSON.parse(line).url));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return { child, url };
}
