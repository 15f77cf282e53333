/**
 * Access-token checks for the emulated APIs (userinfo now, calendar later): a missing, unknown, revoked or
 * expired token gets Google's 401 with `WWW-Authenticate: Bearer`.
 */
import type { Request, RequestHandler, Response } from 'express';
import { bearerToken } from '../api-plumbing.js';
import type { AccessToken, EmulatorState } from '../state.js';

const TOKEN_KEY = Symbol('emulator.accessToken');

/** Rejects the request unless it carries a valid bearer token, which `accessTokenOf` then returns. */
export function requireAccessToken(state: EmulatorState, onInvalid = sendInvalidCredentials): RequestHandler {
  return (request, response, next) => {
    const token = bearerToken(state, request);
    if (!token) {
      onInvalid(response);
      return;
    }
    (request as Request & { [TOKEN_KEY]?: AccessToken })[TOKEN_KEY] = token;
    next();
  };
}

export function accessTokenOf(request: Request): AccessToken {
  const token = (request as Request & { [TOKEN_KEY]?: AccessToken })[TOKEN_KEY];
  if (!token) throw new Error('accessTokenOf used on a route without requireAccessToken');
  return token;
}

/** What openidconnect.googleapis.com answers for a bad token. */
export function sendInvalidCredentials(response: Response): void {
  response
    .status(401)
    .set('WWW-Authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"')
    .json({ error: 'invalid_request', error_description: 'Invalid Credentials' });
}
