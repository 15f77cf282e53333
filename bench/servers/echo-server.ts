/**
 * The echo ceiling: a bare express 5 + json-rpc-2.0 server handling bodies as the sidecar does
 * (express.text, then server.receiveJSON), whose method answers its params. With ECHO_SELECT set to a
 * connection string, each call first runs one `SELECT 1` on a knex pg pool of 10, like the sidecar's
 * valid-token path. Run as a child process (bench/echo-ceiling.ts); listens on 127.0.0.1:$PORT.
 */
import express from 'express';
import { JSONRPCServer } from 'json-rpc-2.0';
import knexFactory from 'knex';

const selectUri = process.env.ECHO_SELECT;
const knex = selectUri
  ? knexFactory({ client: 'pg', connection: selectUri, pool: { min: 0, max: 10 } })
  : undefined;

const rpc = new JSONRPCServer();
const echo = async (params: unknown) => {
  if (knex) await knex.raw('SELECT 1');
  return params;
};
// Registered under the sidecar's method name too, so the very same request body can be sent to both.
rpc.addMethod('echo', echo);
rpc.addMethod('credentials.get_access_token', echo);

const app = express();
app.disable('x-powered-by');
app.get('/readyz', (_request, response) => {
  response.json({ status: 'ready' });
});
app.post('/rpc', express.text({ type: () => true, limit: '256kb' }), async (request, response) => {
  const answer = await rpc.receiveJSON(typeof request.body === 'string' ? request.body : '');
  if (answer === null) {
    response.status(204).end();
    return;
  }
  response.json(answer);
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void (knex?.destroy() ?? Promise.resolve()).finally(() => process.exit(0));
});
