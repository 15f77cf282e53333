/**
 * The JSON-RPC 2.0 envelope, checked before json-rpc-2.0 sees a request. That library trusts its
 * input: a `null` batch element crashes it (HTTP 500), any JSON value is accepted as an id and
 * echoed back (an id nested thousands of levels deep overflows the stack when the answer is
 * serialized), a non-string method is "not found" rather than invalid, and a batch of one is answered
 * without its array. Here every element of the body is judged on its own (JSON-RPC 2.0 sections 4,
 * 5 and 6):
 *
 * - a valid request (or notification) is handed to the server, in its batch position;
 * - anything else gets its own -32600 answer; its id is echoed only when it is a string, a finite
 *   number or null, otherwise the answer's id is null, so no non-conforming value ever goes back;
 * - an empty batch, or one of more than MAX_BATCH elements, is a single -32600.
 *
 * Nothing here recurses into a value, so depth costs nothing; the size is bounded by the body limit.
 */
import { JSONRPCErrorCode, type JSONRPCID, type JSONRPCRequest, type JSONRPCResponse } from 'json-rpc-2.0';
import { z } from 'zod';

export const MAX_BATCH = 100;

const id = z.union([z.string(), z.number(), z.null()]);

/** The schema of one request; plainlyValid below accepts a part of what it accepts, faster. */
export const requestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string(),
  // Structured values only (section 4.2); which shape a method accepts is its own business.
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  id: id.optional(),
  // A response object is not a request.
  result: z.undefined().optional(),
  error: z.undefined().optional(),
});

/** One element of the body: a request for the server, or the answer it already earned. */
export type Judged =
  | { readonly kind: 'request'; readonly request: JSONRPCRequest }
  | { readonly kind: 'answer'; readonly answer: JSONRPCResponse };

export type Envelope =
  | { readonly kind: 'single'; readonly element: Judged }
  | { readonly kind: 'batch'; readonly elements: readonly Judged[] }
  | { readonly kind: 'answer'; readonly answer: JSONRPCResponse };

export function parseError(): JSONRPCResponse {
  return errorAnswer(null, JSONRPCErrorCode.ParseError, 'Parse error');
}

export function invalidRequest(message?: string, answerId: JSONRPCID = null): JSONRPCResponse {
  return errorAnswer(
    answerId,
    JSONRPCErrorCode.InvalidRequest,
    message ? `Invalid Request: ${message}` : 'Invalid Request',
  );
}

/** Judges a parsed body (any JSON value). */
export function judgeEnvelope(body: unknown): Envelope {
  if (!Array.isArray(body)) return { kind: 'single', element: judge(body) };
  if (body.length === 0) return { kind: 'answer', answer: invalidRequest('empty batch') };
  if (body.length > MAX_BATCH) {
    return {
      kind: 'answer',
      answer: invalidRequest(`a batch holds at most ${MAX_BATCH} requests, this one ${body.length}`),
    };
  }
  return { kind: 'batch', elements: body.map(judge) };
}

function judge(element: unknown): Judged {
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    return { kind: 'answer', answer: invalidRequest('not a request object') };
  }
  if (plainlyValid(element as Record<string, unknown>)) {
    return { kind: 'request', request: element as JSONRPCRequest };
  }
  const parsed = requestSchema.safeParse(element);
  if (parsed.success) return { kind: 'request', request: element as JSONRPCRequest };
  const given = (element as { id?: unknown }).id;
  const echoed = id.safeParse(given);
  const problem = parsed.error.issues[0]?.path[0];
  return {
    kind: 'answer',
    answer: invalidRequest(
      typeof problem === 'string' ? `bad member "${problem}"` : undefined,
      echoed.success ? echoed.data : null,
    ),
  };
}

/**
 * The shape nearly every request has, accepted without the schema (it costs a tenth of a valid-token
 * call): only what `request` certainly accepts passes here; anything else, valid or not, is judged by
 * the schema, so the answers are the schema's alone. A parsed JSON object's prototype is
 * Object.prototype, so its `result` and `error` are undefined unless it has them as members.
 */
export function plainlyValid(element: Record<string, unknown>): boolean {
  if (element.jsonrpc !== '2.0' || typeof element.method !== 'string') return false;
  if (element.result !== undefined || element.error !== undefined) return false;
  const given = element.id;
  if (
    given !== undefined &&
    given !== null &&
    typeof given !== 'string' &&
    !(typeof given === 'number' && Number.isFinite(given))
  ) {
    return false;
  }
  const params = element.params;
  return params === undefined || Array.isArray(params) || plainObject(params);
}

/** What z.record accepts for certain: an object made by JSON.parse whose `constructor` is Object's. */
function plainObject(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype &&
    !Object.hasOwn(value, 'constructor')
  );
}

function errorAnswer(answerId: JSONRPCID, code: number, message: string): JSONRPCResponse {
  return { jsonrpc: '2.0', id: answerId, error: { code, message } };
}
