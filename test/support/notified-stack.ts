/**
 * A stack with Google's push notifications on (docs/contracts.md, "Push notifications"): the sidecar
 * listens on a fixed port that its channels call back (its public URL), a pass runs every 2 s, and a
 * calendar whose channel is healthy is polled once a day only, so what reaches Tryton came through a
 * notification. The credential of `email` is authorized, its synchronization on.
 */
import { type Stack, startStack } from './stack.js';
import { freePort } from './trytond.js';
import { trytonTemplate } from './tryton.js';

export async function startNotifiedStack(
  email: string,
): Promise<{ stack: Stack; credentialId: number; publicUrl: string }> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const stack = await startStack({
    template: await trytonTemplate(),
    env: {
      SIDECAR_PORT: String(port),
      SIDECAR_PUBLIC_URL: publicUrl,
      SIDECAR_PUSH_NOTIFICATIONS: 'on',
      SIDECAR_SYNC_INTERVAL: '2',
      SIDECAR_WATCHED_SYNC_INTERVAL: '86400',
      SIDECAR_REFRESH_INTERVAL: '3600',
    },
  });
  const credentialId = await stack.authorizedCredential(email);
  await stack
    .db('google_integration_google_credentials')
    .where({ id: credentialId })
    .update({ sync_enabled: true });
  return { stack, credentialId, publicUrl };
}
