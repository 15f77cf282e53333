/**
 * Structured logs (pino, JSON lines on stdout). Secrets must never be passed to the logger; the
 * redaction list is a second line of defence for objects that carry them by mistake.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = [
  'access_token',
  'refresh_token',
  'client_secret',
  'code',
  'code_verifier',
  'oauth_state',
  'state_token',
  'authorization',
  'password',
  'id_token',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const paths = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
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
