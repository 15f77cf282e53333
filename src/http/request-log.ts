/**
 * One metric observation per request, and a log line (at info for refused and failed requests,
 * at debug for the others). Only the path is logged, never the query
 * string: the OAuth callback carries the authorization code and state there. The metric is labelled
 * with the route pattern (`/:database/google/callback`), never the path, to keep its labels few;
 * a handler that matches paths itself names its pattern with `routeLabel`.
 */
import type { RequestHandler, Response } from 'express';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

const ROUTE_LABEL = 'routeLabel';

/** The route pattern a request is counted under, for handlers that are not express routes. */
export function routeLabel(response: Response, pattern: string): void {
  response.locals[ROUTE_LABEL] = pattern;
}

export function requestLog(logger: Logger, metrics?: Metrics): RequestHandler {
  return (request, response, next) => {
    const started = process.hrtime.bigint();
    response.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = response.locals[ROUTE_LABEL] ?? request.route?.path;
      metrics?.request(typeof route === 'string' ? route : 'unmatched', response.statusCode, seconds);
      // Successful requests are counted and timed by the metric; a line each is for debugging only.
      const level = response.statusCode < 400 ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          method: request.method,
          path: request.path,
          status: response.statusCode,
          ms: Math.round(seconds * 1e6) / 1000,
        },
        'request',
      );
    });
    next();
  };
}
