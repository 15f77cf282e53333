/**
 * Google's redirect back to the sidecar: `/<database>/google/callback` and `/google/callback`,
 * where the (HMAC-protected) state names the database. Both refuse the same things: a malformed
 * query, a forged state, a state of another database, a database not served; then
 * credentials/complete-authorization.ts decides. The query string is never logged.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { type CallbackOutcome, completeAuthorization } from '../credentials/complete-authorization.js';
import type { CredentialContext } from '../credentials/context.js';
import { isValidDatabaseName } from '../db/database-name.js';
import type { ServedDatabases } from '../db/served-databases.js';
import { SidecarError } from '../errors.js';
import type { CallbackOutcome as MetricOutcome } from '../metrics.js';
import { type Page, sendPage } from './pages.js';

const single = z.string().min(1).max(4096);
const callbackQuery = z.union([
  z
    .object({ code: single, state: single, scope: z.string().max(4096).optional() })
    .transform((q) => ({ kind: 'code' as const, ...q })),
  z
    .object({ error: z.string().regex(/^[\w.-]{1,64}$/), state: single })
    .transform((q) => ({ kind: 'error' as const, ...q })),
]);

const RETRY = 'Return to Tryton and press Authorize to start again.';

export function callbackRoutes(databases: ServedDatabases, credentials: CredentialContext): Router {
  const router = express.Router();
  const decide = async (
    request: Request,
    pathDatabase: string | undefined,
  ): Promise<[Page, MetricOutcome]> => {
    if (pathDatabase !== undefined && !isValidDatabaseName(pathDatabase)) {
      return [refused('The database name is not valid.'), 'refused'];
    }
    const parsed = callbackQuery.safeParse(flatQuery(request));
    if (!parsed.success) return [refused('The request is incomplete or malformed.'), 'refused'];
    const stateDatabase = credentials.states.verify(parsed.data.state);
    if (stateDatabase === undefined) return [refused('The authorization state is not valid.'), 'refused'];
    if (pathDatabase !== undefined && pathDatabase !== stateDatabase) {
      return [refused('The authorization state belongs to another database.'), 'refused'];
    }
    let db: Awaited<ReturnType<ServedDatabases['open']>>;
    try {
      db = await databases.open(stateDatabase);
    } catch (error) {
      if (!(error instanceof SidecarError)) throw error;
      return [
        { status: 404, tone: 'error', title: 'Unknown database', paragraphs: [error.message] },
        'refused',
      ];
    }
    const outcome = await completeAuthorization(credentials, db, stateDatabase, parsed.data);
    return [pageFor(outcome, credentials.authorizationTtlSeconds), outcome.kind];
  };
  const handle = async (request: Request, response: Response, pathDatabase: string | undefined) => {
    let page: Page;
    let outcome: MetricOutcome;
    try {
      [page, outcome] = await decide(request, pathDatabase);
    } catch (error) {
      credentials.logger.error(
        { err: { name: (error as Error).name, message: (error as Error).message } },
        'callback failed',
      );
      page = {
        status: 500,
        tone: 'error',
        title: 'Authorization failed',
        paragraphs: ['An internal error occurred; the sidecar log has the details.', RETRY],
      };
      outcome = 'error';
    }
    credentials.metrics.callback(outcome);
    sendPage(response, page);
  };
  router.get('/google/callback', (request, response) => handle(request, response, undefined));
  router.get('/:database/google/callback', (request, response) =>
    handle(request, response, request.params.database),
  );
  return router;
}

/** Repeated parameters (`?state=a&state=b`) are refused rather than guessed at. */
function flatQuery(request: Request): Record<string, unknown> {
  const url = new URL(request.originalUrl, 'http://callback.invalid');
  const result: Record<string, unknown> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(key);
    result[key] = values.length === 1 ? values[0] : values;
  }
  return result;
}

function refused(reason: string): Page {
  return { status: 400, tone: 'error', title: 'Authorization refused', paragraphs: [reason, RETRY] };
}

function pageFor(outcome: CallbackOutcome, ttlSeconds: number): Page {
  switch (outcome.kind) {
    case 'authorized':
      return {
        status: 200,
        tone: outcome.missing.length > 0 ? 'warn' : 'ok',
        title: 'Google account connected',
        paragraphs: [
          `“${outcome.credentialName}” is authorized${outcome.account ? ` for ${outcome.account}` : ''}.`,
          ...(outcome.missing.length > 0
            ? [
                `Google did not grant: ${outcome.missing.join(', ')}. Features that need them will refuse to run; press Authorize again and allow every permission to enable them.`,
              ]
            : []),
          'You can close this window and return to Tryton.',
        ],
      };
    case 'denied':
      return {
        status: 200,
        tone: 'warn',
        title: 'Authorization not granted',
        paragraphs: [
          outcome.error === 'access_denied'
            ? `Access to Google was denied for “${outcome.credentialName}”.`
            : `Google refused the authorization of “${outcome.credentialName}” (${outcome.error}).`,
          RETRY,
        ],
      };
    case 'refused':
      return refused(
        outcome.reason === 'expired_state'
          ? `This authorization request has expired (requests are valid for ${Math.round(ttlSeconds / 60)} minutes).`
          : 'This authorization request is unknown or was already used.',
      );
    case 'code_rejected':
      return {
        status: 400,
        tone: 'error',
        title: 'Authorization failed',
        paragraphs: [outcome.detail, RETRY],
      };
    case 'google_unavailable':
      return {
        status: 503,
        tone: 'error',
        title: 'Google is unavailable',
        paragraphs: [outcome.detail, 'Reload this page in a moment to try again.'],
      };
  }
}
