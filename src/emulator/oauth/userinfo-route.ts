/**
 * OpenID Connect userinfo at both of Google's paths. The email is disclosed only when an email scope was
 * granted, as Google does.
 */
import express, { type Router } from 'express';
import { subjectFor } from '../secrets.js';
import type { EmulatorState } from '../state.js';
import { surfaceEndpoint, type Traffic } from '../traffic.js';
import { accessTokenOf, requireAccessToken } from './bearer.js';
import { includesEmailScope } from './scopes.js';

export const USERINFO_PATHS = ['/v1/userinfo', '/oauth2/v3/userinfo'] as const;

export function userinfoRoute(state: EmulatorState, traffic: Traffic): Router {
  const router = express.Router();
  router.get(
    [...USERINFO_PATHS],
    surfaceEndpoint(traffic, 'userinfo'),
    requireAccessToken(state),
    (request, response) => {
      const token = accessTokenOf(request);
      const info: Record<string, unknown> = { sub: subjectFor(token.email) };
      if (includesEmailScope(token.scopes)) Object.assign(info, { email: token.email, email_verified: true });
      response.set('Cache-Control', 'no-store').json(info);
    },
  );
  return router;
}
