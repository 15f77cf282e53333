/**
 * Calendar v3 errors in Google's JSON envelope, with the domains, reasons and messages Google uses, so a
 * client's error handling (retry on 403 rateLimitExceeded, full sync on 410 fullSyncRequired, refetch on
 * 412) is exercised against the same bodies it will meet in production.
 */
export interface ErrorItem {
  readonly domain: string;
  readonly reason: string;
  readonly message: string;
  readonly locationType?: string;
  readonly location?: string;
}

export class CalendarApiError extends Error {
  override readonly name = 'CalendarApiError';
  readonly code: number;
  readonly item: ErrorItem;
  readonly status: string | undefined;

  constructor(code: number, item: ErrorItem, status?: string) {
    super(item.message);
    this.code = code;
    this.item = item;
    this.status = status;
  }

  body(): unknown {
    const error: Record<string, unknown> = {
      errors: [this.item],
      code: this.code,
      message: this.item.message,
    };
    if (this.status !== undefined) error.status = this.status;
    return { error };
  }
}

const parameter = (location: string) => ({ locationType: 'parameter', location });

export const errors = {
  loginRequired: () =>
    new CalendarApiError(
      401,
      {
        domain: 'global',
        reason: 'required',
        message: 'Login Required.',
        locationType: 'header',
        location: 'Authorization',
      },
      'UNAUTHENTICATED',
    ),
  invalidCredentials: () =>
    new CalendarApiError(
      401,
      {
        domain: 'global',
        reason: 'authError',
        message: 'Invalid Credentials',
        locationType: 'header',
        location: 'Authorization',
      },
      'UNAUTHENTICATED',
    ),
  insufficientPermissions: () =>
    new CalendarApiError(
      403,
      { domain: 'global', reason: 'insufficientPermissions', message: 'Insufficient Permission' },
      'PERMISSION_DENIED',
    ),
  writerAccess: () =>
    new CalendarApiError(403, {
      domain: 'calendar',
      reason: 'requiredAccessLevel',
      message: 'You need to have writer access to this calendar.',
    }),
  forbidden: () => new CalendarApiError(403, { domain: 'global', reason: 'forbidden', message: 'Forbidden' }),
  userRateLimit: () =>
    new CalendarApiError(403, {
      domain: 'usageLimits',
      reason: 'userRateLimitExceeded',
      message: 'User Rate Limit Exceeded',
    }),
  rateLimit: () =>
    new CalendarApiError(403, {
      domain: 'usageLimits',
      reason: 'rateLimitExceeded',
      message: 'Rate Limit Exceeded',
    }),
  quotaExceeded: () =>
    new CalendarApiError(403, {
      domain: 'usageLimits',
      reason: 'quotaExceeded',
      message: 'Calendar usage limits exceeded.',
    }),
  tooManyRequests: (reason = 'rateLimitExceeded') =>
    new CalendarApiError(
      429,
      {
        domain: 'usageLimits',
        reason,
        message: reason === 'userRateLimitExceeded' ? 'User Rate Limit Exceeded' : 'Rate Limit Exceeded',
      },
      'RESOURCE_EXHAUSTED',
    ),
  notFound: () => new CalendarApiError(404, { domain: 'global', reason: 'notFound', message: 'Not Found' }),
  duplicate: () =>
    new CalendarApiError(409, {
      domain: 'global',
      reason: 'duplicate',
      message: 'The requested identifier already exists.',
    }),
  fullSyncRequired: () =>
    new CalendarApiError(410, {
      domain: 'calendar',
      reason: 'fullSyncRequired',
      message: 'Sync token is no longer valid, a full sync is required.',
      ...parameter('syncToken'),
    }),
  deleted: () =>
    new CalendarApiError(410, { domain: 'global', reason: 'deleted', message: 'Resource has been deleted' }),
  conditionNotMet: () =>
    new CalendarApiError(412, {
      domain: 'global',
      reason: 'conditionNotMet',
      message: 'Precondition Failed',
      locationType: 'header',
      location: 'If-Match',
    }),
  backendError: (code = 500) =>
    new CalendarApiError(code, {
      domain: 'global',
      reason: 'backendError',
      message: code === 503 ? 'The service is currently unavailable.' : 'Backend Error',
    }),
  invalid: (message: string, location?: string) =>
    new CalendarApiError(400, {
      domain: 'global',
      reason: 'invalid',
      message,
      ...(location === undefined ? {} : parameter(location)),
    }),
  invalidParameter: (location: string) =>
    new CalendarApiError(400, {
      domain: 'global',
      reason: 'invalidParameter',
      message: 'Invalid Value',
      ...parameter(location),
    }),
  required: (message: string, location?: string) =>
    new CalendarApiError(400, {
      domain: 'global',
      reason: 'required',
      message,
      ...(location === undefined ? {} : { location }),
    }),
  badRequest: (message: string) =>
    new CalendarApiError(400, { domain: 'global', reason: 'badRequest', message }),
  timeRangeEmpty: (location: string) =>
    new CalendarApiError(400, {
      domain: 'calendar',
      reason: 'timeRangeEmpty',
      message: 'The specified time range is empty.',
      ...parameter(location),
    }),
  parseError: () =>
    new CalendarApiError(400, { domain: 'global', reason: 'parseError', message: 'Parse Error' }),
  /** Push channels (events.watch, calendarList.watch, channels.stop): Google's reasons and messages. */
  channelIdNotUnique: (id: string) =>
    new CalendarApiError(400, {
      domain: 'global',
      reason: 'channelIdNotUnique',
      message: `Channel id ${id} not unique`,
    }),
  channelTypeNotSupported: (type: string) =>
    new CalendarApiError(400, {
      domain: 'global',
      reason: 'push.channelTypeNotSupported',
      message: `Channel type '${type}' is not supported.`,
    }),
  webhookUrlNotHttps: (address: string) =>
    new CalendarApiError(400, {
      domain: 'global',
      reason: 'push.webhookUrlNotHttps',
      message: `WebHook callback must be HTTPS: ${address}`,
    }),
  webhookUrlNoHostOrAddress: (address: string) =>
    new CalendarApiError(400, {
      domain: 'global',
      reason: 'push.webhookUrlNoHostOrAddress',
      message: `No host or address in WebHook callback: ${address}`,
    }),
  channelNotFound: (id: string, project: string) =>
    new CalendarApiError(404, {
      domain: 'global',
      reason: 'notFound',
      message: `Channel '${id}' not found for project '${project}'`,
    }),
};

/**
 * Bodies for failures injected through the control API on the calendar endpoint: a status (and, when
 * several reasons share it, a reason) gives the body Google sends for it.
 */
export function injectedFailureBody(status: number, reason: string | undefined): unknown {
  const byReason: Record<string, () => CalendarApiError> = {
    userRateLimitExceeded:
      status === 429 ? () => errors.tooManyRequests('userRateLimitExceeded') : errors.userRateLimit,
    rateLimitExceeded: status === 429 ? () => errors.tooManyRequests() : errors.rateLimit,
    quotaExceeded: errors.quotaExceeded,
    insufficientPermissions: errors.insufficientPermissions,
    fullSyncRequired: errors.fullSyncRequired,
    conditionNotMet: errors.conditionNotMet,
    notFound: errors.notFound,
    deleted: errors.deleted,
    backendError: () => errors.backendError(Math.max(status, 500)),
  };
  const chosen = reason === undefined ? undefined : byReason[reason];
  if (chosen) {
    const error = chosen();
    return new CalendarApiError(status, error.item, error.status).body();
  }
  if (status === 401) return errors.invalidCredentials().body();
  if (status === 403) return errors.rateLimit().body();
  if (status === 404) return errors.notFound().body();
  if (status === 409) return errors.duplicate().body();
  if (status === 410) return errors.fullSyncRequired().body();
  if (status === 412) return errors.conditionNotMet().body();
  if (status === 429) return errors.tooManyRequests().body();
  if (status >= 500) return errors.backendError(status).body();
  return new CalendarApiError(status, {
    domain: 'global',
    reason: 'badRequest',
    message: 'Bad Request',
  }).body();
}
