/**
 * The HTTP surface of the sidecar (express 5): health, metrics, JSON-RPC, the OAuth callback and
 * Google's push notifications.
 * Everything it needs arrives from main.ts; it reads no configuration of its own.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { JSONRPCServer } from 'json-rpc-2.0';
import type { Metrics } from '../metrics.js';
import type { RpcContext } from '../rpc/context.js';
import { callbackRoutes } from './callback-route.js';
import { healthRoutes } from './health-routes.js';
import { type NotificationContext, notificationRoutes } from './notification-route.js';
import { requestLog } from './request-log.js';
import { rpcRoute } from './rpc-route.js';

export interface AppDependencies {
  readonly apiKey: string;
  readonly rpcServer: JSONRPCServer<RpcContext>;
  readonly context: RpcContext;
  readonly readinessDatabase: string;
  readonly metrics: Metrics;
  /** Google's push notifications: the channels' tokens, and the job queue a notification feeds. */
  readonly notifications: Pick<NotificationContext, 'tokens' | 'queue'>;
}

export function createApp({
  apiKey,
  rpcServer,
  context,
  readinessDatabase,
  metrics,
  notifications,
}: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  // Answers are POST results and small pages: an ETag would cost a hash per answer for nothing.
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use(requestLog(context.logger, metrics));
  // The hot path first: every JSON-RPC call would otherwise walk the routes below it.
  rpcRoute(app, rpcServer, apiKey, context);
  app.use(healthRoutes(context.databases, readinessDatabase));
  app.get('/metrics', async (_request, response) => {
    response.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(callbackRoutes(context));
  app.use(
    notificationRoutes({
      databases: context.databases,
      outages: context.outages,
      logger: context.logger,
      metrics,
      ...notifications,
    }),
  );
  app.use((_request, response) => {
    response.status(404).json({ error: 'not found' });
  });
  const onError: ErrorRequestHandler = (error, _request, response, _next) => {
    const status = typeof error?.status === 'number' && error.status < 500 ? error.status : 500;
    if (status >= 500)
      context.logger.error({ err: { name: error?.name, message: error?.message } }, 'request failed');
    if (status === 413 || status === 400) {
      response
        .status(status)
        .json({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request' } });
      return;
    }
    response.status(status).json({ error: status >= 500 ? 'internal error' : 'bad request' });
  };
  app.use(onError);
  return app;
}
