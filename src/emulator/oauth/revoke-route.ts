/**
 * `POST /revoke` (RFC 7009, Google flavour): the token comes in the form or the query, no client
 * authentication. Revoking any token, access or refresh, revokes the whole grant of that client and user.
 */
import express, { type Router } from 'express';
import type { EmulatorState } from '../state.js';
import { surfaceEndpoint, type Traffic } from '../traffic.js';
import { param } from './oauth-error.js';

export function revokeRoute(state: EmulatorState, traffic: Traffic): Router {
  const router = express.Router();
  router.post(
    '/revoke',
    express.urlencoded({ extended: false, limit: '64kb' }),
    surfaceEndpoint(traffic, 'revoke'),
    (request, response) => {
      const value = param(request.body, 'token') ?? param(request.query, 'token');
      if (!value) {
        response
          .status(400)
          .json({ error: 'invalid_request', error_description: 'Missing required parameter: token' });
        return;
      }
      const token = state.anyToken(value);
      if (!token) {
        response.status(400).json({ error: 'invalid_token', error_description: 'Token expired or revoked' });
        return;
      }
      state.revokeGrants({ clientId: token.clientId, email: token.email });
      response.status(200).json({});
    },
  );
  return router;
}
