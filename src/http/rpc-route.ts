/** `POST /rpc`: the body is handed as text to json-rpc-2.0 so malformed JSON gets a proper -32700. */
import express, { type Router } from 'express';
import type { JSONRPCServer } from 'json-rpc-2.0';
import type { RpcContext } from '../rpc/context.js';
import { bearerAuth } from './bearer-auth.js';

const MAX_BODY = '256kb';

export function rpcRoute(server: JSONRPCServer<RpcContext>, apiKey: string, context: RpcContext): Router {
  const router = express.Router();
  router.post(
    '/rpc',
    bearerAuth(apiKey),
    express.text({ type: () => true, limit: MAX_BODY }),
    async (request, response) => {
      const body = typeof request.body === 'string' ? request.body : '';
      const answer = await server.receiveJSON(body, context);
      if (answer === null || (Array.isArray(answer) && answer.length === 0)) {
        // Only notifications: JSON-RPC 2.0 says nothing is returned.
        response.status(204).end();
        return;
      }
      response.json(answer);
    },
  );
  return router;
}
