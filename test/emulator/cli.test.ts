import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmulatorUsageError, mergeClients, parseAllowedHost, parseClient } from '../../src/emulator/cli.js';
import { rawRequest } from './raw-request.js';

const RUNNER = join(import.meta.dirname, 'run-cli.ts');

describe('--client ID:SECRET:REDIRECT_URI', () => {
  it('splits on the first two colons only', () => {
    expect(parseClient('my-id:my-secret:com.example.app:/oauth2redirect')).toEqual({
      clientId: 'my-id',
      clientSecret: 'my-secret',
      redirectUris: ['com.example.app:/oauth2redirect'],
    });
    expect(parseClient('id:secret:http://127.0.0.1:8765/cb')).toEqual({
      clientId: 'id',
      clientSecret: 'secret',
      redirectUris: ['http://127.0.0.1:8765/cb'],
    });
  });

  it.each(['id', 'id:secret', ':secret:http://x/cb', 'id::http://x/cb', 'id:secret:not-a-uri'])(
    'refuses %s without echoing the secret',
    (value) => {
      expect(() => parseClient(value)).toThrow(EmulatorUsageError);
      try {
        parseClient(value);
      } catch (error) {
        expect((error as Error).message).not.toContain('secret');
      }
    },
  );

  it('merges repeated ids into one client with several redirect URIs', () => {
    const clients = mergeClients([parseClient('id:s:http://a/cb'), parseClient('id:s:http://b/cb')]);
    expect(clients).toEqual([
      { clientId: 'id', clientSecret: 's', redirectUris: ['http://a/cb', 'http://b/cb'] },
    ]);
    expect(() => mergeClients([parseClient('id:s:http://a/cb'), parseClient('id:t:http://b/cb')])).toThrow(
      EmulatorUsageError,
    );
  });
});

describe('--allow-host NAME', () => {
  it('takes a host name or address without port', () => {
    for (const name of ['emulator.test', 'my-host', '192.0.2.7', '[fd00::7]', 'fd00::7'])
      expect(parseAllowedHost(name)).toBe(name);
  });

  it.each(['emulator.test:8766', 'http://emulator.test', 'a/b', '', '-x', 'a b'])('refuses "%s"', (value) => {
    expect(() => parseAllowedHost(value)).toThrow(EmulatorUsageError);
  });
});

describe('tryton-google emulator', () => {
  it('prints one "emulator listening" JSON line with the url, serves, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        RUNNER,
        '--port',
        '0',
        '--client',
        'cli-id:cli-secret:http://127.0.0.1:1/cb',
        '--allow-host',
        'emulator.test',
      ],
      { env: { ...process.env, LOG_LEVEL: 'info' }, cwd: join(import.meta.dirname, '..', '..') },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`emulator did not start:\n${output}`)), 20_000);
        child.stdout.on('data', () => {
          const found = output.split('\n').find((text) => text.includes('"msg":"emulator listening"'));
          if (found) {
            clearTimeout(timer);
            resolve(JSON.parse(found));
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
      });
      const url = String(line.url);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const page = await fetch(
        `${url}/o/oauth2/v2/auth?client_id=cli-id&redirect_uri=http://127.0.0.1:1/cb`,
        {
          redirect: 'manual',
        },
      );
      // The client from --client is known: parameters other than client and redirect URI go back as errors.
      expect(page.status).toBe(302);
      // The control API under the allowed name, and not under another.
      const port = new URL(url).port;
      const stats = `${url}/__emulator/stats`;
      expect((await rawRequest(stats, { headers: { host: `emulator.test:${port}` } })).status).toBe(200);
      expect((await rawRequest(stats, { headers: { host: `other.test:${port}` } })).status).toBe(403);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(output).not.toContain('cli-secret');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
