/**
 * The browser half of the code flow: `GET /o/oauth2/v2/auth` shows the consent screen, and the form posts
 * the user's decision to `/o/oauth2/v2/auth/decision`, which redirects back to the client with a code or
 * `error=access_denied` (RFC 6749 §4.1.1–4.1.2).
 */
import express, { type Router } from 'express';
import type { EmulatorState } from '../state.js';
import { surfaceEndpoint, type Traffic } from '../traffic.js';
import { checkAuthorizationRequest, redirectTo } from './authorization-request.js';
import { consentBody, DECISION_PATH, DEFAULT_EMAIL } from './consent-page.js';
import { sendErrorPage, sendPage } from './html.js';
import { param } from './oauth-error.js';
import { grantedScopes } from './scopes.js';

export const AUTH_PATH = '/o/oauth2/v2/auth';

const EMAIL = /^[^\s@<>"']+@[^\s@<>"']+\.[^\s@<>"']+$/;

export function authRoute(state: EmulatorState, traffic: Traffic): Router {
  const router = express.Router();

  router.get(AUTH_PATH, surfaceEndpoint(traffic, 'auth'), (request, response) => {
    const check = checkAuthorizationRequest(request.query, state);
    if (check.kind === 'page') {
      sendErrorPage(response, 400, check.error, check.description);
      return;
    }
    if (check.kind === 'redirect') {
      response.redirect(302, redirectTo(check.redirectUri, check.params));
      return;
    }
    const hint = check.request.loginHint;
    const knownAccounts = state.knownAccounts();
    const email = hint && EMAIL.test(hint) ? hint : (knownAccounts[0] ?? DEFAULT_EMAIL);
    sendPage(
      response,
      200,
      'Sign in - Google Accounts',
      consentBody({ request: check.request, email, knownAccounts }),
    );
  });

  router.post(DECISION_PATH, express.urlencoded({ extended: false, limit: '64kb' }), (request, response) => {
    const decision = param(request.body, 'decision');
    const email = param(request.body, 'email')?.trim().toLowerCase() ?? '';
    if (decision !== 'allow' && decision !== 'deny') {
      sendErrorPage(response, 400, 'invalid_request', 'The decision must be "allow" or "deny".');
      return;
    }
    if (decision === 'allow' && !EMAIL.test(email)) {
      sendErrorPage(
        response,
        400,
        'invalid_request',
        'Enter a valid email address, then go back and try again.',
      );
      return;
    }
    const pending = state.takeAuthorizationRequest(param(request.body, 'request') ?? '');
    if (!pending) {
      sendErrorPage(response, 400, 'invalid_request', 'This consent request is unknown, used or expired.');
      return;
    }
    const withState = pending.state === undefined ? {} : { state: pending.state };
    if (decision === 'deny') {
      response.redirect(302, redirectTo(pending.redirectUri, { error: 'access_denied', ...withState }));
      return;
    }
    const ticked = new Set(ticks(request.body));
    const code = state.issueCode(pending, email, grantedScopes(pending.scopes, ticked));
    response.redirect(
      302,
      redirectTo(pending.redirectUri, {
        ...withState,
        code: code.code,
        scope: code.scopes.join(' '),
        authuser: '0',
        prompt: 'consent',
      }),
    );
  });

  return router;
}

/** Ticked checkboxes: none, one (a string) or several (an array) `scope` fields. */
function ticks(body: unknown): string[] {
  const value =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>).scope : undefined;
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
