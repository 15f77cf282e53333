/**
 * The shape of one JSON-RPC method: a name, a summary and a result schema for rpc.discover, a zod
 * schema for its named params, and a handler that receives them already validated.
 */
import type { z } from 'zod';
import type { RpcContext } from './context.js';

export interface RpcMethod<Params extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly summary: string;
  readonly params: Params;
  readonly result: z.ZodType;
  /** The data.type values of the domain errors the method may answer. */
  readonly errors: readonly string[];
  readonly handler: (params: z.infer<Params>, context: RpcContext) => Promise<unknown>;
  /**
   * Optional, for hot methods: a hand-written check of the commonest valid params, returning exactly
   * what `params` would parse them into, or undefined to let `params` judge (so every answer to bad
   * params, and every corner case, stays the schema's). test/http/rpc-quick-paths.test.ts holds each
   * one to its schema.
   */
  readonly quickParams?: (params: Readonly<Record<string, unknown>>) => z.infer<Params> | undefined;
}

/** Keeps the handler's parameter type tied to its schema. */
export function defineMethod<Params extends z.ZodType>(method: RpcMethod<Params>): RpcMethod<Params> {
  return method;
}
