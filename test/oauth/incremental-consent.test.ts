/**
 * Scopes per service on one credential (docs/contracts.md, "Services of a credential"): adding a
 * service to an authorized credential asks Google only for what is missing (incremental consent with
 * include_granted_scopes), and Google's answer grants the union; a credential whose grant is not alive
 * asks for everything again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALENDAR_SCOPE, CONTACTS_SCOPE } from '../../src/services/catalog.js';
import { consent, followRedirect } from '../support/consent.js';
import { type Stack, startStack } from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

const scopesAsked = (url: string) => (new URL(url).searchParams.get('scope') ?? '').split(' ').sort();

async function authorize(id: number, email: string): Promise<string> {
  const { result } = await stack.rpc('credentials.request_authorization', { credential_id: id });
  const { redirect } = await consent(result.authorization_url, { email });
  expect((await followRedirect(redirect)).status).toBe(200);
  return result.authorization_url;
}

describe('incremental consent', () => {
  it('asks only for the scope of a service added to an authorized credential, and holds the union', async () => {
    const id = await stack.createCredential({ services: JSON.stringify(['calendar']) });
    const first = await authorize(id, 'incremental@example.com');
    expect(scopesAsked(first)).toEqual(['email', 'openid', CALENDAR_SCOPE].sort());
    expect(new URL(first).searchParams.get('include_granted_scopes')).toBe('true');

    await stack
      .db('google_integration_google_credentials')
      .where({ id })
      .update({ services: JSON.stringify(['calendar', 'contacts']) });
    const second = await authorize(id, 'incremental@example.com');
    expect(scopesAsked(second)).toEqual(['email', 'openid', CONTACTS_SCOPE].sort());
    const row = await stack.row(id);
    expect(row.state).toBe('authorized');
    expect(row.granted_scopes.split(' ')).toEqual(expect.arrayContaining([CALENDAR_SCOPE, CONTACTS_SCOPE]));
    // One token serves both services.
    const token = await stack.rpc('credentials.get_access_token', {
      credential_id: id,
      scopes: [CALENDAR_SCOPE, CONTACTS_SCOPE],
    });
    expect(token.error).toBeUndefined();
  });

  it('asks for every scope again when the grant is not alive', async () => {
    const id = await stack.createCredential({ services: JSON.stringify(['calendar', 'contacts']) });
    await authorize(id, 'expired.grant@example.com');
    await stack
      .db('google_integration_google_credentials')
      .where({ id })
      .update({ state: 'authorization_expired' });
    const { result } = await stack.rpc('credentials.request_authorization', { credential_id: id });
    expect(scopesAsked(result.authorization_url)).toEqual(
      ['email', 'openid', CALENDAR_SCOPE, CONTACTS_SCOPE].sort(),
    );
  });

  it('refuses a service the credential does not list, without calling Google', async () => {
    const id = await stack.createCredential({ services: JSON.stringify(['contacts']) });
    await authorize(id, 'contacts.only@example.com');
    const answer = await stack.rpc('calendar.list_calendars', { credential_id: id });
    expect(answer.error).toMatchObject({
      code: -32011,
      data: { type: 'service_not_enabled', service: 'calendar' },
    });
  });
});
