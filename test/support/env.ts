/** A valid sidecar environment for tests; each test overrides what it is about. */
import { randomBytes } from 'node:crypto';
import { POSTGRES_URI } from './postgres.js';

export const API_KEY = randomBytes(32).toString('hex');

export function sidecarEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    DATABASE_URI: POSTGRES_URI,
    SIDECAR_API_KEY: API_KEY,
    SIDECAR_PUBLIC_URL: 'http://127.0.0.1:8765',
    SIDECAR_HOST: '127.0.0.1',
    SIDECAR_PORT: '0',
    SIDECAR_ENCRYPTION_KEYS: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'silent',
    // Channels call the sidecar back at its public URL, which a test's port-0 sidecar does not have:
    // the tests about push notifications switch them on with an address that reaches them.
    SIDECAR_PUSH_NOTIFICATIONS: 'off',
    ...overrides,
  };
}
