/**
 * Database trouble as callers see it: the one place that recognises a failure of PostgreSQL or
 * of the way to it (refused or terminated connections, a pool or statement timeout, a lock wait
 * that timed out, a server shutting down or out of resources) and turns it into the documented
 * `database_unavailable` error (-32006). Such failures come in bursts during an outage, so they
 * are logged once per database and window, with a count, never with a stack trace per request.
 * Any other refusal of PostgreSQL gets a documented answer too, never -32603: a table or column of
 * the module that is not there is `module_not_ready` (-32013: the module was not activated or
 * updated after the sidecar migrated the database), anything else `database_unavailable`, logged
 * as an error since it may be a bug (docs/contracts.md, "Errors").
 */
import pg from 'pg';
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

// The sidecar's own schemas: the migrations make their tables, so one missing is not the module's.
const SIDECAR_SCHEMAS = /google_integration_(?:sidecar|jobs)\./;

/** A statement PostgreSQL refused (an SQLSTATE), whatever the reason; undefined for anything else. */
function refusal(error: unknown): (pg.DatabaseError & { code: string }) | undefined {
  if (!(error instanceof pg.DatabaseError) || typeof error.code !== 'string') return undefined;
  return /^[0-9A-Z]{5}$/.test(error.code) ? (error as pg.DatabaseError & { code: string }) : undefined;
}

/**
 * What of the module a refused statement found missing (PostgreSQL's undefined table or column):
 * `relation "google_integration_calendar"`, say; undefined when it is something else, or in the
 * sidecar's own schemas. Knex puts the statement before PostgreSQL's message: the last match counts.
 */
function missingModulePart(error: unknown): string | undefined {
  const refused = refusal(error);
  if (!refused || (refused.code !== '42P01' && refused.code !== '42703')) return undefined;
  const pattern =
    refused.code === '42P01'
      ? /relation "([^"]+)" does not exist/g
      : /column ("[^"]+"|\S+)(?: of relation "([^"]+)")? does not exist/g;
  const found = [...refused.message.matchAll(pattern)].at(-1);
  if (!found || SIDECAR_SCHEMAS.test(found[0])) return undefined;
  return refused.code === '42P01'
    ? `relation "${found[1]}"`
    : `column ${found[1]}${found[2] ? ` of relation "${found[2]}"` : ''}`;
}

const LOG_WINDOW_MS = 30_000;

/** Converts database failures, logging the first of each window per database and counting the rest. */
export class DatabaseOutages {
  private readonly windows = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The documented error for a database failure or refusal (database_unavailable, module_not_ready),
   * or undefined when `error` is something else.
   */
  convert(error: unknown, database: string | undefined): SidecarError | undefined {
    if (error instanceof SidecarError)
      return error.type === ErrorType.DatabaseUnavailable ? error : undefined;
    const named = database ? ` "${database}"` : '';
    const details = database ? { database } : {};
    const reason = databaseFailureReason(error);
    if (reason !== undefined) {
      this.note(database ?? '', 'unavailable', (suppressed) =>
        this.logger.warn({ database, reason, suppressed_since_last: suppressed }, 'database unavailable'),
      );
      return new SidecarError(
        ErrorType.DatabaseUnavailable,
        `database${named} is unavailable (${reason}): try again later`,
        details,
      );
    }
    const refused = refusal(error);
    if (!refused) return undefined;
    const missing = missingModulePart(error);
    if (missing) {
      this.note(database ?? '', 'module', (suppressed) =>
        this.logger.warn(
          { database, missing, suppressed_since_last: suppressed },
          'module tables missing: activate or update google_integration',
        ),
      );
      const target = database ?? '<database>';
      return new SidecarError(
        ErrorType.ModuleNotReady,
        `database${named} lacks a part of the google_integration module (${missing} does not exist): ` +
          `activate or update the module there (trytond-admin -d ${target} -u google_integration; ` +
          `for contacts -u party google_integration), then try again`,
        details,
      );
    }
    // Perhaps a bug: what PostgreSQL says about it, without the statement or its values (Knex puts
    // them in the message), once per window and SQLSTATE.
    this.note(`${database ?? ''}\u0000${refused.code}`, 'refused', (suppressed) =>
      this.logger.error(
        {
          database,
          sqlstate: refused.code,
          routine: refused.routine,
          schema: refused.schema,
          table: refused.table,
          column: refused.column,
          constraint: refused.constraint,
          suppressed_since_last: suppressed,
        },
        'database refused a statement',
      ),
    );
    return new SidecarError(
      ErrorType.DatabaseUnavailable,
      `database${named} refused a statement (SQLSTATE ${refused.code}): try again later; ` +
        `if it persists, report it with the sidecar log`,
      details,
    );
  }

  /** Logs through `log` the first of a window per key, counting the others. */
  private note(key: string, kind: string, log: (suppressedSinceLast: number) => void): void {
    const now = this.now();
    const windowKey = `${kind}\u0000${key}`;
    const window = this.windows.get(windowKey);
    if (window && window.until > now) {
      window.suppressed++;
      return;
    }
    this.windows.set(windowKey, { until: now + LOG_WINDOW_MS, suppressed: 0 });
    log(window?.suppressed ?? 0);
  }
}
