/**
 * Log lines an operator can use: every line about a credential names its database as well as its
 * id (ids repeat across databases), and Google's error codes stay readable (redaction is by where
 * secrets occur, not by a key name such as `code`), while no secret appears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretsOf, type Stack, startStack } from '../support/stack.js';
import { until } from '../support/wait.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ env: { SIDECAR_REFRESH_INTERVAL: '3600' } });
});

afterAll(async () => {
  await stack?.stop();
});

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('credential log lines', () => {
  it('carry the database with the id, keep Google error codes, and no secret', async () => {
    const id = await stack.authorizedCredential('logs@example.com');
    await stack.expire([id]);
    await stack.control('/failures', {
      endpoint: 'token',
      status: 400,
      body: { error: 'invalid_request', error_description: 'Bad Request' },
    });
    expect((await stack.rpc('credentials.get_access_token', { credential_id: id })).error?.data?.type).toBe(
      'google_rejected',
    );
    await stack.control('/grants/revoke', { email: 'logs@example.com' });
    await stack.rpc('credentials.refresh', { credential_id: id });
    await stack.rpc('credentials.revoke', { credential_id: id });
    // Log lines travel through the child's stdout: the last one arriving proves the others did.
    await until(
      async () => stack.logs(),
      (logs) => logs.includes('"msg":"credential revoked"'),
      { timeoutMs: 3_000, what: 'the line of the revoke' },
    );
    const lines = jsonLines(stack.logs());
    const aboutCredentials = lines.filter((line) => 'credential_id' in line);
    expect(aboutCredentials.length).toBeGreaterThanOrEqual(5);
    for (const line of aboutCredentials) expect(line.database).toBe(stack.database);
    const failed = lines.find((line) => line.msg === 'token refresh failed');
    expect(failed?.google_error).toBe('invalid_request');
    expect(
      lines.find((line) => line.msg === 'refresh token refused: authorization expired')?.google_error,
    ).toBe('invalid_grant');
    const text = stack.logs();
    for (const secret of secretsOf(stack)) expect(text).not.toContain(secret);
  });
});
