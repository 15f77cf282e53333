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
 *
 * This is the sidecar's hot path (Tryton asks for a token before most calls to Google), so it is one
 * express layer, and the body Tryton sends (UTF-8 JSON of a declared length, not compressed; plainBody
 * below judges) is read with raw-body directly, without body-parser's layers around it; body-parser
 * reads every other body exactly as before.
 */
import express, { type ErrorRequestHandler, type Express, type Request, type Response } from 'express';
import type { JSONRPCResponse, JSONRPCServer } from 'json-rpc-2.0';
import getRawBody from 'raw-body';
import type { RpcContext } from '../rpc/context.js';
import { bearerCheck } from './bearer-auth.js';
import { invalidRequest, type Judged, judgeEnvelope, parseError } from './rpc-envelope.js';

const MAX_BODY = '256kb';
/** MAX_BODY in bytes, as body-parser reads it. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * Content types body-parser reads as UTF-8 (no charset, or charset utf-8), written as clients send
 * them; any other spelling goes to body-parser, which judges it.
 */
const UTF8_TYPES = new Set([
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-8',
  'application/json;charset=utf-8',
  'application/json;charset=UTF-8',
  'text/plain',
  'text/plain; charset=utf-8',
  'text/plain;charset=UTF-8',
]);
const DECIMAL = /^\d{1,7}$/;

/**
 * Mounts the route on the app itself (not a router of its own: one router pass less per call). Its
 * error handler is mounted right after it, so it only sees errors of `/rpc`.
 */
export function rpcRoute(
  app: Express,
  server: JSONRPCServer<RpcContext>,
  apiKey: string,
  context: RpcContext,
): void {
  const authorized = bearerCheck(apiKey);
  const readText = express.text({ type: () => true, limit: MAX_BODY });
  const answer = async (element: Judged): Promise<JSONRPCResponse | null> =>
    element.kind === 'answer' ? element.answer : server.receive(element.request, context);

  const respond = async (text: string, response: Response): Promise<void> => {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      sendJson(response, parseError());
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
    sendJson(response, answers);
  };

  app.post('/rpc', (request, response, next) => {
    if (!authorized(request, response)) return;
    const fail = (error: unknown) => next(error);
    const length = plainBody(request);
    if (length !== undefined) {
      readPlainBody(request, length, (error, text) => {
        if (error) next(error);
        else respond(text, response).catch(fail);
      });
      return;
    }
    readText(request, response, (error?: unknown) => {
      if (error) next(error);
      else respond(typeof request.body === 'string' ? request.body : '', response).catch(fail);
    });
  });
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
  app.use('/rpc', bodyError);
}

/**
 * What express's `response.json` sends for a status of 200 (no ETag: the app turns them off),
 * without its layers of settings and checks.
 */
function sendJson(response: Response, value: unknown): void {
  const text = JSON.stringify(value);
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(text, 'utf8'));
  response.end(text);
}

/**
 * The declared length of a body body-parser (express.text, MAX_BODY, default charset utf-8) would
 * read as plain UTF-8 from the request stream itself, or undefined when it might do anything else: a
 * transfer or content encoding, another charset or a content type it might refuse, no or too large a
 * length, a stream already read or not readable.
 */
export function plainBody(request: Request): number | undefined {
  const headers = request.headers;
  if (headers['transfer-encoding'] !== undefined || headers['content-encoding'] !== undefined) return;
  const type = headers['content-type'];
  if (type !== undefined && !UTF8_TYPES.has(type)) return;
  const declared = headers['content-length'];
  if (declared === undefined || !DECIMAL.test(declared)) return;
  const length = Number(declared);
  if (length > MAX_BODY_BYTES) return;
  // on-finished's isFinished, and raw-body's own refusals.
  if (
    (request as { upgrade?: boolean }).upgrade ||
    !request.socket?.readable ||
    (request.complete && !request.readable)
  )
    return;
  if (!request.readable || request.readableEncoding !== null) return;
  return length;
}

/**
 * Reads the body plainBody let through with raw-body, as body-parser does (the declared length, the
 * limit, UTF-8 through iconv-lite with a leading byte order mark dropped; 400 on an aborted upload or
 * a length that is not the declared one, 413 over the limit), without body-parser's layers.
 */
export function readPlainBody(
  request: Request,
  length: number,
  done: (error: Error | undefined, text: string) => void,
): void {
  getRawBody(request, { length, limit: MAX_BODY_BYTES, encoding: 'utf-8' }, (error, text) => {
    if (error) {
      // body-parser reads off the rest of the request before it answers.
      request.resume();
      done(error, '');
    } else done(undefined, text);
  });
}
