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
  ModuleNotReady: 'module_not_ready',
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
  module_not_ready: -32013,
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

/** The Tryton services whose tables the module declares (docs/contracts.md, "Errors": module_not_ready). */
export type ModuleService = 'calendar' | 'contacts';

/**
 * The module's tables a service needs are not (all) in `database`: the sidecar migrated it before
 * google_integration was activated or updated there. Says which command fixes it.
 */
export function moduleNotReady(
  database: string,
  service: ModuleService,
  missing: readonly string[],
): SidecarError {
  const modules = service === 'contacts' ? 'party google_integration' : 'google_integration';
  return new SidecarError(
    ErrorType.ModuleNotReady,
    `database "${database}" lacks the tables of the google_integration module for the ${service} service ` +
      `(${missing.join(', ')}): activate or update the module there ` +
      `(trytond-admin -d ${database} -u ${modules}), then try again`,
    { database, service, missing: [...missing] },
  );
}
