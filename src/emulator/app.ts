/**
 * The emulator's HTTP surface (express 5): Google's OAuth endpoints at Google's paths on one host, and
 * Calendar v3 under `/calendar/v3/` and the People API under `/v1/people` and `/v1/contactGroups`
 * (Google's API root is the emulator's root), and the separate test-control API under `/__emulator/`,
 * and a web page for people at the root (`/`, `/ui/`).
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import { requestLog } from '../http/request-log.js';
import type { Logger } from '../log.js';
import { CALENDAR_PREFIX, calendarRoutes } from './calendar/routes.js';
import { CONTROL_PREFIX, controlRoutes } from './control.js';
import { authRoute } from './oauth/auth-route.js';
import { revokeRoute } from './oauth/revoke-route.js';
import { tokenRoute } from './oauth/token-route.js';
import { userinfoRoute } from './oauth/userinfo-route.js';
import { PEOPLE_PREFIX, peopleRoutes } from './people/routes.js';
import { RequestGuard } from './request-guard.js';
import type { EmulatorState } from './state.js';
import type { Traffic } from './traffic.js';
import { webRoutes } from './web/routes.js';

export interface EmulatorAppDependencies {
  readonly state: EmulatorState;
  readonly traffic: Traffic;
  readonly logger: Logger;
  readonly controlApi: boolean;
  /** What the control API and the web page accept (request-guard.ts). Default: loopback hosts only. */
  readonly guard?: RequestGuard;
  /** Called after every answer: something may have changed (what saves the state file). */
  readonly afterRequest?: () => void;
}

export function createEmulatorApp({
  state,
  traffic,
  logger,
  controlApi,
  guard = new RequestGuard(),
  afterRequest,
}: EmulatorAppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Logs the path only: codes, states and tokens travel in query strings and bodies.
  app.use(requestLog(logger));
  if (afterRequest)
    app.use((_request, response, next) => {
      response.on('finish', afterRequest);
      next();
    });
  if (controlApi) app.use(CONTROL_PREFIX, controlRoutes(state, traffic, guard));
  app.use(authRoute(state, traffic));
  app.use(tokenRoute(state, traffic));
  app.use(revokeRoute(state, traffic));
  app.use(userinfoRoute(state, traffic));
  app.use(CALENDAR_PREFIX, calendarRoutes(state, traffic));
  // After userinfo (`/v1/userinfo`): the People routes take only `/v1/people...` and `/v1/contactGroups...`.
  app.use(PEOPLE_PREFIX, peopleRoutes(state, traffic));
  // The root page for people (web/): like the control API, it can change everything, so it goes with it.
  if (controlApi) app.use(webRoutes(state, guard));
  app.use((_request, response) => {
    response.status(404).json({ error: { code: 404, message: 'Not Found', status: 'NOT_FOUND' } });
  });
  const onError: ErrorRequestHandler = (error, _request, response, _next) => {
    const status =
      typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status >= 500)
      logger.error({ err: { name: error?.name, message: error?.message } }, 'emulator request failed');
    response
      .status(status)
      .json(
        status >= 500
          ? { error: 'internal_failure', error_description: 'Backend Error' }
          : { error: 'invalid_request', error_description: 'Bad Request' },
      );
  };
  app.use(onError);
  return app;
}
