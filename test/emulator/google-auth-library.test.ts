/**
 * The emulator against the client the sidecar really uses. Skipped while google-auth-library is not
 * installed; the import is by a variable name so the type check does not depend on it either.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { CALENDAR, consent, oauthClientOptions, start, USERINFO_EMAIL, userinfo } from './oauth-helpers.js';

const LIBRARY = 'google-auth-library';
const installed = (() => {
  try {
    createRequire(import.meta.url).resolve(LIBRARY);
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!installed)('google-auth-library OAuth2Client against the emulator', () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await start();
  });
  afterAll(async () => {
    await emulator?.close();
  });

  it('runs getToken with a code verifier, refreshAccessToken and revokeToken', async () => {
    const { OAuth2Client } = (await import(LIBRARY)) as any;
    const client = new OAuth2Client(oauthClientOptions(emulator.url));
    const { codeVerifier, codeChallenge } = await client.generateCodeVerifierAsync();
    const url = client.generateAuthUrl({
      access_type: 'offline',
      prompt: 'consent',
      include_granted_scopes: true,
      scope: ['openid', 'email', CALENDAR],
      state: 'gal-state',
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
    });
    const location = await consent(url, emulator.url, { email: 'gal@example.com' });
    expect(location.searchParams.get('state')).toBe('gal-state');

    const { tokens } = await client.getToken({ code: location.searchParams.get('code'), codeVerifier });
    expect(tokens.refresh_token).toMatch(/^1\/\//);
    expect(tokens.scope).toBe(`openid ${USERINFO_EMAIL} ${CALENDAR}`);
    expect(tokens.expiry_date).toBeGreaterThan(Date.now());

    client.setCredentials(tokens);
    const refreshed = await client.refreshAccessToken();
    expect(refreshed.credentials.access_token).not.toBe(tokens.access_token);
    expect((await userinfo(emulator.url, refreshed.credentials.access_token)).body.email).toBe(
      'gal@example.com',
    );

    await client.revokeToken(tokens.refresh_token);
    await expect(client.refreshToken(tokens.refresh_token)).rejects.toThrow(/invalid_grant/);
    expect(emulator.traffic.stats()).toMatchObject({ revoke: 1, token: { refresh_token: 2 } });
  });
});
