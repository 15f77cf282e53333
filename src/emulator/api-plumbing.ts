/**
 * What the emulated Google APIs (Calendar v3, People v1) and their parts of the control API share around
 * their own operations: the caller a bearer token names, an API error sent in Google's JSON shape, the
 * router error handler that sends them, and the control routes `GET /state` and `POST /reset` of an
 * API's store.
 */
import type { ErrorRequestHandler, Request, Response, Router } from 'express';
import type { AccessToken, EmulatorState } from './state.js';

/** Who calls an API operation: the valid access token and its account (lower case). */
export interface Caller {
  readonly token: AccessToken;
  readonly email: string;
}

/** The valid (known, unexpired, unrevoked) access token of the `Authorization: Bearer` header, if any. */
export function bearerToken(state: EmulatorState, request: Request): AccessToken | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.get('authorization') ?? '');
  return match?.[1] ? state.validAccessToken(match[1]) : undefined;
}

/**
 * The caller of an API call, or the API's own refusal: `missing()` without an `Authorization` header,
 * `invalid()` when it does not carry a valid bearer token. Scopes are the API's to check.
 */
export function authenticateCaller(
  state: EmulatorState,
  request: Request,
  refuse: { readonly missing: () => Error; readonly invalid: () => Error },
): Caller {
  if (request.get('authorization') === undefined) throw refuse.missing();
  const token = bearerToken(state, request);
  if (!token) throw refuse.invalid();
  return { token, email: token.email.toLowerCase() };
}

/** An API error: its HTTP status and the JSON body Google answers with. */
export interface GoogleApiError {
  readonly code: number;
  body(): unknown;
}

/** Sends an API error with the headers Google adds: `WWW-Authenticate` on 401, `Retry-After` on 429. */
export function sendGoogleError(response: Response, error: GoogleApiError): void {
  if (error.code === 401)
    response.set('WWW-Authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"');
  if (error.code === 429) response.set('Retry-After', '1');
  response.status(error.code).json(error.body());
}

/**
 * A router's error handler: the API's own errors (instances of `ApiError`, thrown by the operations) and,
 * where the API names them, the JSON body parser's failures are sent in Google's shape; anything else
 * goes on to express.
 */
export function googleErrorHandler(
  ApiError: abstract new (...args: never[]) => GoogleApiError,
  bodyErrors: { readonly parse?: () => GoogleApiError; readonly tooLarge?: () => GoogleApiError } = {},
): ErrorRequestHandler {
  return (error, _request, response, next) => {
    if (error instanceof ApiError) sendGoogleError(response, error);
    else if (error?.type === 'entity.parse.failed' && bodyErrors.parse)
      sendGoogleError(response, bodyErrors.parse());
    else if (error?.type === 'entity.too.large' && bodyErrors.tooLarge)
      sendGoogleError(response, bodyErrors.tooLarge());
    else next(error);
  };
}

/** Adds the control routes `GET /state` (the store as JSON) and `POST /reset` (forgets it) to `router`. */
export function stateControlRoutes(router: Router, store: { toJSON(): unknown; reset(): void }): void {
  router.get('/state', (_request, response) => {
    response.json(store.toJSON());
  });
  router.post('/reset', (_request, response) => {
    store.reset();
    response.json({ reset: true });
  });
}
