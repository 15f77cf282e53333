/**
 * Many credentials, each authorized by a Google account of its own, through the sidecar and the
 * emulator's consent page as a user would (request_authorization, consent, callback), a few at a time:
 * stack.ts `authorizedCredentials` consents every credential as one account, which Google's per-user
 * quota would then count as one user. The bench's OAuth client is registered here under an id of its own.
 */
import { randomBytes } from 'node:crypto';
import { consent, followRedirect } from '../../test/support/consent.js';
import { CREDENTIALS_TABLE, type Emulator, rpc, sql } from './stack.js';

const CLIENT = {
  id: 'bench-accounts.apps.googleusercontent.com',
  secret: `bench-${randomBytes(12).toString('hex')}`,
};

/** Creates one credential per email and authorizes it as that account; returns their ids, in order. */
export async function authorizedAccounts(
  sidecarUrl: string,
  emulator: Emulator,
  database: string,
  emails: readonly string[],
  concurrency = 8,
): Promise<number[]> {
  const redirect = `${sidecarUrl}/${database}/google/callback`;
  await emulator.control('/clients', {
    client_id: CLIENT.id,
    client_secret: CLIENT.secret,
    redirect_uris: [redirect],
  });
  const inserted = await sql(
    database,
    `INSERT INTO ${CREDENTIALS_TABLE} (name, state, client_id, client_secret, redirect_uri, scopes)
     SELECT name, 'without_authorization', $2, $3, $4, 'https://www.googleapis.com/auth/calendar'
     FROM unnest($1::text[]) AS name RETURNING id, name`,
    [emails.map((email) => `bench ${email}`), CLIENT.id, CLIENT.secret, redirect],
  );
  const idOf = new Map(inserted.rows.map((row) => [row.name as string, Number(row.id)]));
  const ids = emails.map((email) => idOf.get(`bench ${email}`) as number);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, ids.length) }, async () => {
      while (next < ids.length) {
        const index = next++;
        const request = await rpc(sidecarUrl, 'credentials.request_authorization', {
          database,
          credential_id: ids[index],
        });
        if (!request.result) throw new Error(`request_authorization: ${JSON.stringify(request.error)}`);
        const granted = await consent(request.result.authorization_url as string, {
          email: emails[index] as string,
        });
        const callback = await followRedirect(granted.redirect);
        if (callback.status !== 200) throw new Error(`callback answered ${callback.status}`);
      }
    }),
  );
  const authorized = await sql(
    database,
    `SELECT count(*)::int AS n FROM ${CREDENTIALS_TABLE} WHERE id = ANY($1) AND state = 'authorized'`,
    [ids],
  );
  if (authorized.rows[0].n !== ids.length)
    throw new Error(`only ${authorized.rows[0].n}/${ids.length} authorized`);
  return ids;
}
