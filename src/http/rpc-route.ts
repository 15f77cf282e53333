/**
 * `POST /rpc`. The body is read as text and parsed here, its envelope judged by rpc-envelope.ts,
 * and only valid requests reach json-rpc-2.0, one at a time, so every batch element keeps its own
 * answer in its own position.
 *
 * HTTP status rule: every JSON-RPC answer is sent with 200 (204 when there is nothing to answer:
 * only notifications), whatever its error code. The only exceptions are the transport failing
 * before there is any JSON text to judge: 401 (bearer-auth.ts), 413 for a body over MAX_BODY
 * (-32600), 400 for a body that cannot be read as text (bad charset or content encoding, aborted
 * upload: -32700). Every body is a JSON-RPC answer with an id that is a string, a number or null.
 */
import express, { type ErrorRequestHandler, type Router } from 'express';
import type { JSONRPCResponse, JSONRPCServer } from 'json-rpc-2.0';
import type { RpcContext } from '../rpc/context.js';
import { bearerAuth } from './bearer-auth.js';
import { invalidRequest, type Judged, judgeEnvelope, parseError } from './rpc-envelope.js';

const MAX_BODY = '256kb';

export function rpcRoute(server: JSONRPCServer<RpcContext>, apiKey: string, context: RpcContext): Router {
  const router = express.Router();
  const answer = async (element: Judged): Promise<JSONRPCResponse | null> =>
    element.kind === 'answer' ? element.answer : server.receive(element.request, context);
  router.post(
    '/rpc',
    bearerAuth(apiKey),
    express.text({ type: () => true, limit: MAX_BODY }),
    async (request, response) => {
      const text = typeof request.body === 'string' ? request.body : '';
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        response.json(parseError());
        return;
      }
      const envelope = judgeEnvelope(body);
      let answers: JSONRPCResponse | JSONRPCResponse[] | null;
      if (envelope.kind === 'answer') answers = envelope.answer;
      else if (envelope.kind === 'single') answers = await answer(envelope.element);
      else {
        const all = await Promise.all(envelope.elements.map(answer));
        answers = all.filter((one): one is JSONRPCResponse => one !== null);
        // Only notifications: JSON-RPC 2.0 says nothing is returned.
        if (answers.length === 0) answers = null;
      }
      if (answers === null) {
        response.status(204).end();
        return;
      }
      response.json(answers);
    },
  );
  const bodyError: ErrorRequestHandler = (error, _request, response, next) => {
    const status = typeof error?.status === 'number' ? error.status : 500;
    if (status === 413) {
      response.status(413).json(invalidRequest(`the body is larger than ${MAX_BODY}`));
    } else if (status >= 400 && status < 500) {
      response.status(400).json(parseError());
    } else {
      next(error);
    }
  };
  router.use('/rpc', bodyError);
  return router;
}
