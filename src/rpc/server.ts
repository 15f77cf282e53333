/**
 * The JSON-RPC 2.0 surface (json-rpc-2.0). Owns parameter validation and the mapping of errors to
 * JSON-RPC codes: -32602 for bad params, -32000..-32099 with `data.type` for the sidecar's own
 * errors (database failures become -32006 database_unavailable here, db/unavailable.ts), -32603
 * (logged, never detailed to the caller) only for what is a bug.
 */
import { JSONRPCErrorCode, JSONRPCErrorException, type JSONRPCID, JSONRPCServer } from 'json-rpc-2.0';
import packageJson from '../../package.json' with { type: 'json' };
import { ERROR_CODES, SidecarError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RpcContext } from './context.js';
import type { RpcMethod } from './method.js';
import {
  credentialsGetAccessToken,
  credentialsRefresh,
  credentialsRequestAuthorization,
  credentialsRevoke,
  credentialsStatus,
} from './methods/credentials.js';
import { calendarListCalendars, calendarSync } from './methods/calendar.js';
import { contactsSync } from './methods/contacts.js';
import { discoverMethod } from './methods/discover.js';

export const METHODS: readonly RpcMethod[] = [
  credentialsRequestAuthorization,
  credentialsGetAccessToken,
  credentialsRefresh,
  credentialsRevoke,
  credentialsStatus,
  calendarListCalendars,
  calendarSync,
  contactsSync,
  discoverMethod(() => METHODS, packageJson.version),
];

export function createRpcServer(
  logger: Logger,
  methods: readonly RpcMethod[] = METHODS,
): JSONRPCServer<RpcContext> {
  const server = new JSONRPCServer<RpcContext>({
    errorListener: (message: string, error: unknown) => {
      if (isExpected(error)) return;
      logger.error({ err: describe(error) }, message);
    },
  });
  for (const method of methods) {
    server.addMethod(method.name, async (given, context) => {
      // Omitted params are an empty object (JSON-RPC 2.0 section 4.2); positional ones are refused.
      const params = given ?? {};
      if (Array.isArray(params) || typeof params !== 'object') {
        throw invalidParams([{ path: '', message: 'params must be an object of named parameters' }]);
      }
      const data = method.quickParams?.(params as Record<string, unknown>) ?? parseParams(method, params);
      try {
        return await method.handler(data, context);
      } catch (error) {
        const database = (data as { database?: unknown }).database;
        throw context.outages.convert(error, typeof database === 'string' ? database : undefined) ?? error;
      }
    });
  }
  server.mapErrorToJSONRPCErrorResponse = (id: JSONRPCID, error: unknown) => {
    if (error instanceof JSONRPCErrorException) {
      return { jsonrpc: '2.0', id, error: error.toObject() };
    }
    if (error instanceof SidecarError) {
      return {
        jsonrpc: '2.0',
        id,
        error: {
          code: ERROR_CODES[error.type],
          message: error.message,
          data: { type: error.type, ...error.details },
        },
      };
    }
    return {
      jsonrpc: '2.0',
      id,
      error: { code: JSONRPCErrorCode.InternalError, message: 'Internal error: see the sidecar log' },
    };
  };
  return server;
}

function parseParams(method: RpcMethod, params: object): unknown {
  const parsed = method.params.safeParse(params);
  if (parsed.success) return parsed.data;
  throw invalidParams(
    parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
  );
}

function isExpected(error: unknown): boolean {
  return error instanceof SidecarError || error instanceof JSONRPCErrorException;
}

/** Only the name, code and message of an unexpected error are logged: drivers attach values to the rest. */
function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = 'code' in error ? error.code : undefined;
  return { name: error.name, message: error.message, code, stack: error.stack };
}

function invalidParams(issues: Array<{ path: string; message: string }>): JSONRPCErrorException {
  const text = issues
    .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
    .join('; ');
  return new JSONRPCErrorException(`Invalid params: ${text}`, JSONRPCErrorCode.InvalidParams, { issues });
}
