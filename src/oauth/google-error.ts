/**
 * A failed call to Google, reduced to what the sidecar acts on: the HTTP status, Google's `error`
 * code (`invalid_grant`, `invalid_client`, …) and whether retrying may help. Built from gaxios
 * errors at the boundary and never from their `config`, which holds the request body (secrets).
 */
export class GoogleError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'GoogleError';
  }

  static from(error: unknown, operation: string): GoogleError {
    if (error instanceof GoogleError) return error;
    const response = (error as { response?: { status?: number; data?: unknown; headers?: unknown } })
      ?.response;
    const status = typeof response?.status === 'number' ? response.status : undefined;
    if (status === undefined) {
      const code = (error as { code?: unknown })?.code;
      return new GoogleError(
        `${operation}: Google could not be reached${typeof code === 'string' ? ` (${code})` : ''}`,
        undefined,
        typeof code === 'string' ? code : 'network_error',
        true,
      );
    }
    const data = (
      typeof response?.data === 'object' && response.data !== null ? response.data : {}
    ) as Record<string, unknown>;
    const nested =
      typeof data.error === 'object' && data.error !== null ? (data.error as Record<string, unknown>) : {};
    const code =
      typeof data.error === 'string'
        ? data.error
        : typeof nested.status === 'string'
          ? nested.status
          : undefined;
    const description =
      typeof data.error_description === 'string'
        ? data.error_description
        : typeof nested.message === 'string'
          ? nested.message
          : undefined;
    const transient = status >= 500 || status === 429;
    return new GoogleError(
      `${operation}: Google answered ${status}${code ? ` ${code}` : ''}${description ? ` (${description})` : ''}`,
      status,
      code,
      transient,
      retryAfter(response?.headers),
    );
  }
}

function retryAfter(headers: unknown): number | undefined {
  const value =
    headers instanceof Headers
      ? headers.get('retry-after')
      : (headers as Record<string, string> | undefined)?.['retry-after'];
  const seconds = value ? Number(value) : Number.NaN;
  return Number.isFinite(seconds) ? seconds * 1000 : undefined;
}
