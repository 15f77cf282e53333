/**
 * Structured logs (pino, JSON lines on stdout). Secrets are never passed to the logger; redaction
 * is a second line of defence, by where secrets occur: token, secret and verifier fields wherever
 * they are, and an OAuth `code` only inside a query or request body. A bare `code` is left alone:
 * it names Google's error codes and PostgreSQL's SQLSTATEs, which operators need to read.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Field names that hold a secret wherever they appear. */
const SECRET_FIELDS = [
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'code_verifier',
  'oauth_state',
  'state_token',
  'authorization',
  'password',
  'api_key',
];

/** Containers whose `code` and `state` are OAuth secrets: a callback's query, a token request's body. */
const SECRET_CONTAINERS = ['query', 'body', 'form', 'data', 'params'];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const paths = [
    ...SECRET_FIELDS.flatMap((key) => [key, `*.${key}`]),
    ...SECRET_CONTAINERS.flatMap((container) =>
      ['code', 'state'].flatMap((key) => [`${container}.${key}`, `*.${container}.${key}`]),
    ),
    // A request's configuration (gaxios errors) carries the request body and headers.
    'config',
    '*.config',
  ];
  return pino(
    {
      level,
      base: { service: 'tryton-google' },
      redact: { paths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
