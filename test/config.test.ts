import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, GOOGLE_DEFAULTS, loadConfig } from '../src/config.js';
import { sidecarEnv } from './support/env.js';

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('accepts a complete environment and defaults to Google production endpoints', () => {
    const config = loadConfig(
      sidecarEnv({ SIDECAR_PUBLIC_URL: 'https://sidecar.example.com/', SIDECAR_PORT: '9000' }),
    );
    expect(config.publicUrl).toBe('https://sidecar.example.com');
    expect(config.port).toBe(9000);
    expect(config.databases).toBeUndefined();
    expect(config.google).toEqual({
      authUrl: GOOGLE_DEFAULTS.GOOGLE_AUTH_URL,
      tokenUrl: GOOGLE_DEFAULTS.GOOGLE_TOKEN_URL,
      revokeUrl: GOOGLE_DEFAULTS.GOOGLE_REVOKE_URL,
      userinfoUrl: GOOGLE_DEFAULTS.GOOGLE_USERINFO_URL,
      apiRootUrl: GOOGLE_DEFAULTS.GOOGLE_API_ROOT_URL,
    });
    expect(config.google.tokenUrl).toBe('https://oauth2.googleapis.com/token');
  });

  it('names every missing variable', () => {
    expect(problems({})).toEqual([
      expect.stringMatching(/^DATABASE_URI: is required/),
      expect.stringMatching(/^SIDECAR_API_KEY: is required/),
      expect.stringMatching(/^SIDECAR_PUBLIC_URL: is required/),
      expect.stringMatching(/^SIDECAR_ENCRYPTION_KEYS: is required/),
    ]);
  });

  it('names every bad variable without echoing secret values', () => {
    const secretish = 'not-a-key-but-secret-looking';
    const found = problems(
      sidecarEnv({
        DATABASE_URI: 'mysql://localhost/',
        SIDECAR_API_KEY: 'short',
        SIDECAR_PUBLIC_URL: 'ftp://example.com',
        SIDECAR_PORT: '70000',
        SIDECAR_ENCRYPTION_KEYS: `${randomBytes(32).toString('base64')},${secretish}`,
        SIDECAR_DATABASES: 'good,bad name',
        GOOGLE_TOKEN_URL: 'not a url',
        LOG_LEVEL: 'loud',
      }),
    );
    expect(found.map((problem) => problem.split(':')[0]).sort()).toEqual(
      [
        'DATABASE_URI',
        'SIDECAR_API_KEY',
        'SIDECAR_PUBLIC_URL',
        'SIDECAR_PORT',
        'SIDECAR_ENCRYPTION_KEYS',
        'SIDECAR_DATABASES',
        'GOOGLE_TOKEN_URL',
        'LOG_LEVEL',
      ].sort(),
    );
    expect(found.join('\n')).toContain('key #2');
    expect(found.join('\n')).not.toContain(secretish);
    expect(found.join('\n')).not.toContain('short');
  });

  it('parses encryption keys with stable ids, current key first', () => {
    const first = randomBytes(32);
    const second = randomBytes(32);
    const config = loadConfig(
      sidecarEnv({ SIDECAR_ENCRYPTION_KEYS: `${first.toString('base64')}, ${second.toString('base64')}` }),
    );
    expect(config.encryptionKeys.map((key) => key.key)).toEqual([first, second]);
    expect(config.encryptionKeys[0]?.id).toMatch(/^[0-9a-f]{8}$/);
    expect(config.encryptionKeys[0]?.id).not.toBe(config.encryptionKeys[1]?.id);
    const again = loadConfig(sidecarEnv({ SIDECAR_ENCRYPTION_KEYS: first.toString('base64') }));
    expect(again.encryptionKeys[0]?.id).toBe(config.encryptionKeys[0]?.id);
  });

  it('reads the allow-list and treats empty variables as unset', () => {
    expect(loadConfig(sidecarEnv({ SIDECAR_DATABASES: ' tryton , other-db ' })).databases).toEqual([
      'tryton',
      'other-db',
    ]);
    expect(loadConfig(sidecarEnv({ SIDECAR_DATABASES: '', SIDECAR_PORT: '' })).port).toBe(8765);
  });

  it('needs only DATABASE_URI for database commands', () => {
    const config = loadConfig({ DATABASE_URI: 'postgresql://u@localhost/' }, 'database');
    expect(config.databaseUri).toBe('postgresql://u@localhost/');
    expect(() => loadConfig({}, 'database')).toThrow(/DATABASE_URI/);
  });
});

describe('DATABASE_URI without a user name', () => {
  it('uses PGUSER, else the operating-system user, as libpq and trytond do', async () => {
    const { userInfo } = await import('node:os');
    expect(
      loadConfig(sidecarEnv({ DATABASE_URI: 'postgresql://127.0.0.1:5432/', PGUSER: 'tryton' })).databaseUri,
    ).toBe('postgresql://tryton@127.0.0.1:5432/');
    expect(loadConfig(sidecarEnv({ DATABASE_URI: 'postgresql://127.0.0.1:5432/' })).databaseUri).toBe(
      `postgresql://${userInfo().username}@127.0.0.1:5432/`,
    );
    expect(loadConfig(sidecarEnv({ DATABASE_URI: 'postgresql://me:pw@db:5432/' })).databaseUri).toBe(
      'postgresql://me:pw@db:5432/',
    );
  });
});
