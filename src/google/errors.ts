/**
 * A failed call to Google, reduced to what the sidecar and its services act on: the HTTP status,
 * Google's error code (`invalid_grant`, `invalid_client`, an API error's reason such as
 * `rateLimitExceeded`), whether retrying may help, and how long Google asked to wait. Built once per
 * call in retry.ts, from gaxios errors or fetch responses, never from a request's `config`, which
 * holds the request body (secrets).
 */

/** Network-level failures and answers that a later attempt may not get (docs/contracts.md, errors). */
const TRANSIENT_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'backendError']);

/** OAuth errors that say the OAuth client itself is misconfigured, not the user's grant or code. */
const CLIENT_CONFIGURATION_CODES = new Set([
  'invalid_client',
  'unauthorized_client',
  'redirect_uri_mismatch',
  'deleted_client',
  'disabled_client',
]);

export class GoogleError extends Error {
  constructor(
    message: string,
    /** HTTP status; undefined when Google could not be reached or did not answer in time. */
    readonly status: number | undefined,
    /** Google's `error` (OAuth), the first `errors[].reason` or `error.status` (APIs), or a network code. */
    readonly code: string | undefined,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
    /** Every reason Google gave (`errors[].reason` and the google.rpc.ErrorInfo of `details`). */
    readonly reasons: readonly string[] = [],
  ) {
    super(message);
    this.name = 'GoogleError';
  }

  /** The OAuth client (id, secret, redirect URI) is wrong: an admin must fix the configuration. */
  get clientMisconfigured(): boolean {
    return this.code !== undefined && CLIENT_CONFIGURATION_CODES.has(this.code);
  }

  static timeout(operation: string, timeoutMs: number): GoogleError {
    return new GoogleError(
      `${operation}: Google did not answer within ${timeoutMs / 1000} s`,
      undefined,
      'timeout',
      true,
    );
  }

  static from(error: unknown, operation: string): GoogleError {
    if (error instanceof GoogleError) return error;
    const response = (error as { response?: { status?: number; data?: unknown; headers?: unknown } })
      ?.response;
    const status = typeof response?.status === 'number' ? response.status : undefined;
    if (status === undefined) {
      const code = networkCode(error);
      return new GoogleError(`${operation}: Google could not be reached (${code})`, undefined, code, true);
    }
    const { code, description, reasons } = parseBody(response?.data);
    const transient = status >= 500 || status === 429 || (code !== undefined && TRANSIENT_REASONS.has(code));
    return new GoogleError(
      `${operation}: Google answered ${status}${code ? ` ${code}` : ''}${description ? ` (${description})` : ''}`,
      status,
      code,
      transient,
      retryAfter(response?.headers),
      reasons,
    );
  }
}

/** OAuth bodies are `{error, error_description}`; API bodies `{error: {code, message, status, errors}}`. */
function parseBody(data: unknown): {
  code: string | undefined;
  description: string | undefined;
  reasons: string[];
} {
  const body = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  if (typeof body.error === 'string') {
    return {
      code: body.error,
      description: typeof body.error_description === 'string' ? body.error_description : undefined,
      reasons: [],
    };
  }
  const nested = (typeof body.error === 'object' && body.error !== null ? body.error : {}) as Record<
    string,
    unknown
  >;
  // Older APIs give `errors[].reason`; newer ones (People) a google.rpc.ErrorInfo in `details`, and
  // some both: the code is the former when present (the Calendar's rate-limit reasons), and every
  // reason is kept for callers that look for one (EXPIRED_SYNC_TOKEN).
  const reasons = [nested.errors, nested.details]
    .flatMap((list) => (Array.isArray(list) ? (list as Record<string, unknown>[]) : []))
    .map((item) => item?.reason)
    .filter((reason): reason is string => typeof reason === 'string');
  return {
    reasons,
    code: reasons[0] ?? (typeof nested.status === 'string' ? nested.status : undefined),
    description: typeof nested.message === 'string' ? nested.message : undefined,
  };
}

function networkCode(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const { name, code } = current as { name?: unknown; code?: unknown };
    if (name === 'TimeoutError') return 'timeout';
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return 'network_error';
}

function retryAfter(headers: unknown): number | undefined {
  const value =
    headers instanceof Headers
      ? headers.get('retry-after')
      : (headers as Record<string, string> | undefined)?.['retry-after'];
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}
