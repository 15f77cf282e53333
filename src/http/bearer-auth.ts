/** Bearer authentication of the JSON-RPC surface with a constant-time comparison of the API key. */
import { hash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

export function bearerAuth(apiKey: string): RequestHandler {
  // Comparing digests gives equal lengths, so timingSafeEqual leaks neither content nor length.
  const expected = digest(apiKey);
  return (request, response, next) => {
    const header = request.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1] && timingSafeEqual(digest(match[1]), expected)) {
      next();
      return;
    }
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
  };
}

function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}
