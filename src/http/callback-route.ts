/**
 * Google's redirect back to the sidecar: `/<database>/google/callback` and `/google/callback`,
 * where the (HMAC-protected) state names the database. Both refuse the same things: a malformed
 * query, a forged state, a state of another database, a database not served; then
 * credentials/complete-authorization.ts decides. The query string is never logged.
 *
 * Every request whose path ends in `/google/callback` (or `/google/callback/`) is answered here
 * with a page of pages.ts and its security headers, never by express's 404 or error handler: the
 * path is matched on its raw, undecoded form and the database segment decoded without throwing, so
 * `/%FF/google/callback`, `//google/callback` or `/a/b/google/callback` are refused with 400 like
 * any other malformed input. Only GET completes an authorization; HEAD and every other method get
 * 405, since answering HEAD as GET would spend the one-time code of the redirect.
 */
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { type CallbackOutcome, completeAuthorization } from '../credentials/complete-authorization.js';
import { isValidDatabaseName } from '../db/database-name.js';
import type { ServedDatabases } from '../db/served-databases.js';
import { ErrorType, SidecarError } from '../errors.js';
import type { CallbackOutcome as MetricOutcome } from '../metrics.js';
import type { RpcContext } from '../rpc/context.js';
import { type Page, sendPage } from './pages.js';
import { routeLabel } from './request-log.js';

const single = z.string().min(1).max(4096);
const callbackQuery = z.union([
  z
    .object({ code: single, state: single, scope: z.string().max(4096).optional() })
    .transform((q) => ({ kind: 'code' as const, ...q })),
  z
    .object({ error: z.string().regex(/^[\w.-]{1,64}$/), state: single })
    .transform((q) => ({ kind: 'error' as const, ...q })),
]);

const RETRY = 'Return to Tryton and press Authorize (Re-authorize on authorized credentials) to start again.';

export function callbackRoutes({ databases, credentials, outages }: RpcContext): Router {
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
      if (!(error instanceof SidecarError) || error.type !== ErrorType.DatabaseNotServed) throw error;
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
      const unavailable = outages.convert(error, pathDatabase);
      if (unavailable) {
        // Nothing was changed: the same callback can be reloaded once the database answers.
        page = {
          status: 503,
          tone: 'error',
          title: 'Database unavailable',
          paragraphs: [
            'The Tryton database could not be reached.',
            'Reload this page in a moment to try again.',
          ],
        };
      } else {
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
      }
      outcome = 'error';
    }
    credentials.metrics.callback(outcome);
    sendPage(response, page);
  };
  router.use((request, response, next) => {
    const match = CALLBACK_PATH.exec(request.path);
    if (!match) {
      next();
      return;
    }
    const prefix = match[1] as string;
    routeLabel(response, prefix === '' ? '/google/callback' : '/:database/google/callback');
    if (request.method !== 'GET') {
      response.set('Allow', 'GET');
      sendPage(response, {
        status: 405,
        tone: 'error',
        title: 'Method not allowed',
        paragraphs: ['Open this address in a browser.'],
      });
      return;
    }
    if (prefix === '') {
      void handle(request, response, undefined);
      return;
    }
    const database = databaseSegment(prefix);
    if (database === undefined) {
      sendPage(response, refused('The address is not a valid callback address.'));
      credentials.metrics.callback('refused');
      return;
    }
    void handle(request, response, database);
  });
  return router;
}

/** The raw path: `/google/callback` or `/<one segment>/google/callback`, a trailing slash allowed. */
const CALLBACK_PATH = /^(.*)\/google\/callback\/?$/;

/** The decoded database segment of `/<segment>`, or undefined when there is no single decodable one. */
function databaseSegment(prefix: string): string | undefined {
  const segment = /^\/([^/]+)$/.exec(prefix)?.[1];
  if (segment === undefined) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Repeated parameters (`?state=a&state=b`) are refused rather than guessed at. */
function flatQuery(request: Request): Record<string, unknown> {
  const url = request.originalUrl;
  const start = url.indexOf('?');
  const search = new URLSearchParams(start < 0 ? '' : url.slice(start + 1));
  const result: Record<string, unknown> = {};
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key);
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
                `Google did not grant: ${outcome.missing.join(', ')}. Features that need them will refuse to run; press Re-authorize in Tryton and allow every permission to enable them.`,
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
      if (outcome.reason === 'in_progress') {
        return {
          status: 409,
          tone: 'warn',
          title: 'Authorization in progress',
          paragraphs: [
            'This authorization is being completed by another request (a reload, or another window).',
            'Wait a moment, then look at the credentials in Tryton.',
          ],
        };
      }
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
