/** The emulator as tests drive it: an OAuth client registered for a test, and its control API. */
import { randomBytes } from 'node:crypto';

export interface RegisteredClient {
  readonly clientId: string;
  readonly clientSecret: string;
}

export async function registerClient(
  emulatorUrl: string,
  redirectUris: readonly string[],
): Promise<RegisteredClient> {
  const clientId = `${randomBytes(6).toString('hex')}.apps.googleusercontent.com`;
  // Not shaped like Google's secrets, so the repository's secret scan never mistakes a fixture for one.
  const clientSecret = `test-secret-${randomBytes(18).toString('base64url')}`;
  const response = await fetch(`${emulatorUrl}/__emulator/clients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, redirect_uris: redirectUris }),
  });
  if (!response.ok) throw new Error(`emulator refused the client: ${await response.text()}`);
  return { clientId, clientSecret };
}

/** A caller of the emulator's control API: JSON in and out, a non-2xx answer throws with its body. */
export function emulatorControl(emulatorUrl: string) {
  return async (path: string, method: string, body?: unknown): Promise<any> => {
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
