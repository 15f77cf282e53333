/** Bearer authentication of the JSON-RPC surface with a constant-time comparison of the API key. */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * True when the request carries the key; otherwise answers 401 and returns false. A plain function
 * rather than a middleware, so the hot route spends no layer on it.
 */
export function bearerCheck(apiKey: string): (request: Request, response: Response) => boolean {
  // Comparing digests gives equal lengths, so timingSafeEqual leaks neither content nor length.
  const expected = digest(apiKey);
  return (request, response) => {
    const header = request.headers.authorization ?? '';
    const match = BEARER.exec(header);
    if (match?.[1] && timingSafeEqual(digest(match[1]), expected)) return true;
    response
      .status(401)
      .set('WWW-Authenticate', 'Bearer realm="tryton-google"')
      .json({
        jsonrpc: '2.0',
        id: null,
        error: {
          code: -32000,
          message: 'Unauthorized: missing or wrong bearer key',
          data: { type: 'unauthenticated' },
        },
      });
    return false;
  };
}

export function bearerAuth(apiKey: string): RequestHandler {
  const check = bearerCheck(apiKey);
  return (request, response, next) => {
    if (check(request, response)) next();
  };
}

function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
