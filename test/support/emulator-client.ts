/**
 * The emulator as tests drive it: an OAuth client registered for a test, and its control API. Every
 * test talks to `/__emulator` through `emulatorControl`, so the control API's shape (JSON in and out,
 * a refusal thrown with its status and body) is written once.
 */
import { randomBytes } from 'node:crypto';

export interface RegisteredClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** Registers a new OAuth client, with a random id and secret, that may redirect to `redirectUris`. */
export async function registerClient(
  emulatorUrl: string,
  redirectUris: readonly string[],
): Promise<RegisteredClient> {
  const clientId = `${randomBytes(6).toString('hex')}.apps.googleusercontent.com`;
  // Not shaped like Google's secrets, so the repository's secret scan never mistakes a fixture for one.
  const clientSecret = `test-secret-${randomBytes(18).toString('base64url')}`;
  await emulatorControl(emulatorUrl)('/clients', 'POST', {
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
  });
  return { clientId, clientSecret };
}

/** A caller of the emulator's control API: JSON in and out, a non-2xx answer throws with its body. */
export type EmulatorControl = (path: string, method: string, body?: unknown) => Promise<any>;

export function emulatorControl(emulatorUrl: string): EmulatorControl {
  return async (path, method, body) => {
    const response = await fetch(`${emulatorUrl}/__emulator${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`control ${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
}
