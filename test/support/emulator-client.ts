/** An OAuth client registered at the emulator for a test, with a fresh id and secret. */
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
