/**
 * One log line per request. Only the path is logged, never the query string: the OAuth callback
 * carries the authorization code and state there.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../log.js';

export function requestLog(logger: Logger): RequestHandler {
  return (request, response, next) => {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      logger.info(
        {
          method: request.method,
          path: request.path,
          status: response.statusCode,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        },
        'request',
      );
    });
    next();
  };
}
