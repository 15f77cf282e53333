/**
 * People API errors in Google's JSON shape: `{error: {code, message, status, details}}` with a
 * `google.rpc.ErrorInfo` detail whose reason a client branches on (EXPIRED_SYNC_TOKEN, RATE_LIMIT_EXCEEDED,
 * ACCESS_TOKEN_SCOPE_INSUFFICIENT, failedPrecondition, ...). Messages are Google's where they are known
 * (docs/emulator.md). Google's answers may also carry a legacy `errors[]` item, which the emulator leaves
 * out: a client must take the reason from the ErrorInfo.
 */
const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';
const DOMAIN = 'googleapis.com';

export interface PeopleErrorSpec {
  readonly code: number;
  readonly status: string;
  readonly message: string;
  /** The ErrorInfo reason. */
  readonly reason: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export class PeopleApiError extends Error {
  override readonly name = 'PeopleApiError';
  readonly spec: PeopleErrorSpec;

  constructor(spec: PeopleErrorSpec) {
    super(spec.message);
    this.spec = spec;
  }

  get code(): number {
    return this.spec.code;
  }

  body(): unknown {
    const { code, status, message, reason, metadata } = this.spec;
    return {
      error: {
        code,
        message,
        status,
        details: [{ '@type': ERROR_INFO, reason, domain: DOMAIN, ...(metadata ? { metadata } : {}) }],
      },
    };
  }
}

const invalid = (message: string) =>
  new PeopleApiError({ code: 400, status: 'INVALID_ARGUMENT', message, reason: 'badRequest' });

const SERVICE = 'people.googleapis.com';

/** What a 429 of one quota category says (Google's quota metric and limit names). */
const QUOTA_TEXT: Record<string, { metric: string; limit: string; title: string }> = {
  read: {
    metric: 'critical_read_requests',
    limit: 'CriticalReadsPerMinutePerProjectPerUser',
    title: 'Critical read requests (Contact and Profile Reads)',
  },
  write: {
    metric: 'critical_write_requests',
    limit: 'CriticalWritesPerMinutePerProjectPerUser',
    title: 'Critical write requests (Contact and Profile Creates and Updates)',
  },
  delete: {
    metric: 'delete_and_contact_group_write_requests',
    limit: 'DeletesAndContactGroupWritesPerMinutePerProjectPerUser',
    title: 'Contact Deletes and Contact Group Writes',
  },
  groupWrite: {
    metric: 'delete_and_contact_group_write_requests',
    limit: 'DeletesAndContactGroupWritesPerMinutePerProjectPerUser',
    title: 'Contact Deletes and Contact Group Writes',
  },
  groupRead: {
    metric: 'contact_group_read_requests',
    limit: 'ContactGroupReadsPerMinutePerProjectPerUser',
    title: 'Contact Group Reads',
  },
  fullSync: {
    metric: 'full_sync_requests',
    limit: 'FullSyncRequestsPerMinutePerProjectPerUser',
    title: 'Full sync requests (first page)',
  },
};

export const errors = {
  credentialsMissing: () =>
    new PeopleApiError({
      code: 401,
      status: 'UNAUTHENTICATED',
      message:
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      reason: 'CREDENTIALS_MISSING',
      metadata: { service: SERVICE },
    }),
  invalidCredentials: () =>
    new PeopleApiError({
      code: 401,
      status: 'UNAUTHENTICATED',
      message:
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
      reason: 'ACCESS_TOKEN_EXPIRED',
      metadata: { service: SERVICE },
    }),
  insufficientScopes: (method: string) =>
    new PeopleApiError({
      code: 403,
      status: 'PERMISSION_DENIED',
      message: 'Request had insufficient authentication scopes.',
      reason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
      metadata: { service: SERVICE, method: `google.people.v1.${method}` },
    }),
  invalid,
  maskRequired: (mask: string, doc: string) =>
    invalid(
      `${mask} mask is required. Please specify one or more valid paths. Valid paths are documented at https://developers.google.com/people/api/rest/v1/${doc}.`,
    ),
  invalidMaskPath: (mask: string, path: string) =>
    invalid(
      `Invalid ${mask} mask path: "${path}". Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/get.`,
    ),
  expiredSyncToken: () =>
    new PeopleApiError({
      code: 400,
      status: 'FAILED_PRECONDITION',
      message: 'Sync token is expired. Clear local cache and retry call without the sync token.',
      reason: 'EXPIRED_SYNC_TOKEN',
    }),
  etagRequired: () =>
    invalid(
      'Request must set person.etag or person.metadata.sources.etag for the source that is being updated.',
    ),
  staleEtag: (bySource: boolean) =>
    new PeopleApiError({
      code: 400,
      status: 'FAILED_PRECONDITION',
      message: bySource
        ? 'Request person.metadata.sources.etag is different than the current person.metadata.sources.etag. Clear local cache and get the latest person.'
        : 'Request person.etag is different than the current person.etag. Clear local cache and get the latest person.',
      reason: 'failedPrecondition',
    }),
  notFound: () =>
    new PeopleApiError({
      code: 404,
      status: 'NOT_FOUND',
      message: 'Requested entity was not found.',
      reason: 'notFound',
    }),
  groupExists: () =>
    new PeopleApiError({
      code: 409,
      status: 'ALREADY_EXISTS',
      message: 'Contact group name already exists.',
      reason: 'alreadyExists',
    }),
  rateLimit: (category: string, client: string, limit: number) => {
    const text =
      QUOTA_TEXT[category] ?? (QUOTA_TEXT.read as { metric: string; limit: string; title: string });
    return new PeopleApiError({
      code: 429,
      status: 'RESOURCE_EXHAUSTED',
      message: `Quota exceeded for quota metric '${text.title}' and limit '${text.title} per minute per user' of service '${SERVICE}' for consumer 'project_number:${client}'.`,
      reason: 'RATE_LIMIT_EXCEEDED',
      metadata: {
        quota_metric: `${SERVICE}/${text.metric}`,
        quota_limit: text.limit,
        quota_limit_value: String(limit),
        quota_location: 'global',
        service: SERVICE,
        consumer: `projects/${client}`,
      },
    });
  },
  backend: (code: number) =>
    new PeopleApiError(
      code === 503
        ? {
            code,
            status: 'UNAVAILABLE',
            message: 'The service is currently unavailable.',
            reason: 'backendError',
          }
        : { code, status: 'INTERNAL', message: 'Internal error encountered.', reason: 'backendError' },
    ),
  parse: (detail: string) => invalid(`Invalid JSON payload received. ${detail}`),
};

/**
 * The body of a failure injected through the control API on the `people` endpoint: by `reason` when it
 * names one of the errors above (EXPIRED_SYNC_TOKEN, failedPrecondition, ...), else by status.
 */
export function injectedPeopleFailureBody(status: number, reason: string | undefined): unknown {
  const byReason: Record<string, () => PeopleApiError> = {
    EXPIRED_SYNC_TOKEN: errors.expiredSyncToken,
    failedPrecondition: () => errors.staleEtag(false),
    RATE_LIMIT_EXCEEDED: () => errors.rateLimit('read', 'emulator', 0),
    ACCESS_TOKEN_SCOPE_INSUFFICIENT: () => errors.insufficientScopes('PeopleService'),
    notFound: errors.notFound,
    alreadyExists: errors.groupExists,
  };
  const chosen = reason === undefined ? undefined : byReason[reason];
  if (chosen) return new PeopleApiError({ ...chosen().spec, code: status }).body();
  if (status === 401) return errors.invalidCredentials().body();
  if (status === 403) return errors.insufficientScopes('PeopleService').body();
  if (status === 404) return errors.notFound().body();
  if (status === 409) return errors.groupExists().body();
  if (status === 429) return errors.rateLimit('read', 'emulator', 0).body();
  if (status >= 500) return errors.backend(status).body();
  return new PeopleApiError({
    code: status,
    status: 'INVALID_ARGUMENT',
    message: reason ?? 'Request contains an invalid argument.',
    reason: reason ?? 'badRequest',
  }).body();
}
