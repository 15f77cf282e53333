/**
 * Database trouble as callers see it: the one place that recognises a failure of PostgreSQL or
 * of the way to it (refused or terminated connections, a pool or statement timeout, a lock wait
 * that timed out, a server shutting down or out of resources) and turns it into the documented
 * `database_unavailable` error (-32006). Such failures come in bursts during an outage, so they
 * are logged once per database and window, with a count, never with a stack trace per request.
 */
import { ErrorType, SidecarError } from '../errors.js';
import type { Logger } from '../log.js';

// SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator intervention
// (57014 query_canceled is how statement_timeout ends a statement); 55P03 lock_not_available;
// 40001/40P01 serialization failure and deadlock (the caller may simply try again).
const UNAVAILABLE_CLASSES = ['08', '53', '57'];
const UNAVAILABLE_STATES = new Set(['55P03', '40001', '40P01']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
const DRIVER_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /query read timeout/i,
  /connection (?:error|ended|closed)/i,
  /database pools are closed/i,
];

/** The SQLSTATE, network code or driver reason of a database failure; undefined for anything else. */
export function databaseFailureReason(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown };
  if (name === 'KnexTimeoutError') return 'no pooled connection within the timeout';
  if (typeof code === 'string') {
    if (
      /^[0-9A-Z]{5}$/.test(code) &&
      (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2)))
    ) {
      return `SQLSTATE ${code}`;
    }
    if (NETWORK_CODES.has(code)) return code;
  }
  if (typeof message === 'string' && DRIVER_MESSAGES.some((pattern) => pattern.test(message))) {
    return message.slice(0, 120);
  }
  return undefined;
}

const LOG_WINDOW_MS = 30_000;

/** Converts database failures, logging the first of each window per database and counting the rest. */
export class DatabaseOutages {
  private readonly windows = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The documented error for a database failure, or undefined when `error` is something else. */
  convert(error: unknown, database: string | undefined): SidecarError | undefined {
    if (error instanceof SidecarError)
      return error.type === ErrorType.DatabaseUnavailable ? error : undefined;
    const reason = databaseFailureReason(error);
    if (reason === undefined) return undefined;
    this.note(database ?? '', reason);
    return new SidecarError(
      ErrorType.DatabaseUnavailable,
      `database${database ? ` "${database}"` : ''} is unavailable (${reason}): try again later`,
      database ? { database } : {},
    );
  }

  private note(database: string, reason: string): void {
    const now = this.now();
    const window = this.windows.get(database);
    if (window && window.until > now) {
      window.suppressed++;
      return;
    }
    this.windows.set(database, { until: now + LOG_WINDOW_MS, suppressed: 0 });
    this.logger.warn(
      { database, reason, suppressed_since_last: window?.suppressed ?? 0 },
      'database unavailable',
    );
  }
}
