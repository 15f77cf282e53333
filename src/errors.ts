/**
 * The sidecar's one error class for failures a caller can act on. Each carries a stable `type`
 * (exported below) that the JSON-RPC layer maps to a code in -32000..-32099 and that the Tryton
 * module turns into a translated message. Messages never contain secrets.
 */
export const ErrorType = {
  DatabaseNotServed: 'database_not_served',
  CredentialNotFound: 'credential_not_found',
  NotAuthorized: 'not_authorized',
  AuthorizationExpired: 'authorization_expired',
  GoogleUnavailable: 'google_unavailable',
  DatabaseUnavailable: 'database_unavailable',
  CredentialIncomplete: 'credential_incomplete',
  ScopeNotGranted: 'scope_not_granted',
  GoogleRejected: 'google_rejected',
  TokensUnreadable: 'tokens_unreadable',
  ServiceNotEnabled: 'service_not_enabled',
  TrytonUnreachable: 'tryton_unreachable',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** JSON-RPC server error codes, one per type, stable across releases. */
export const ERROR_CODES: Readonly<Record<ErrorType, number>> = {
  database_not_served: -32001,
  credential_not_found: -32002,
  not_authorized: -32003,
  authorization_expired: -32004,
  google_unavailable: -32005,
  database_unavailable: -32006,
  credential_incomplete: -32007,
  scope_not_granted: -32008,
  google_rejected: -32009,
  tokens_unreadable: -32010,
  service_not_enabled: -32011,
  tryton_unreachable: -32012,
};

export class SidecarError extends Error {
  readonly type: ErrorType;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    type: ErrorType,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'SidecarError';
    this.type = type;
    this.details = details;
  }
}
