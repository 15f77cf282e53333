/** `rpc.discover`: the OpenRPC 1.3 document of every method, generated from the same zod schemas. */
import { z } from 'zod';
import { ERROR_CODES, type ErrorType } from '../../errors.js';
import { defineMethod, type RpcMethod } from '../method.js';

export function discoverMethod(methods: () => readonly RpcMethod[], version: string) {
  return defineMethod({
    name: 'rpc.discover',
    summary: 'This OpenRPC document',
    params: z.strictObject({}),
    result: z.object({ openrpc: z.string() }).loose(),
    errors: [],
    handler: async () => openRpcDocument(methods(), version),
  });
}

export function openRpcDocument(methods: readonly RpcMethod[], version: string) {
  return {
    openrpc: '1.3.2',
    info: {
      title: 'Tryton Google integration sidecar',
      version,
      description: 'POST /rpc with Authorization: Bearer <SIDECAR_API_KEY>; named params; batches allowed.',
    },
    methods: methods.map((method) => {
      const params = z.toJSONSchema(method.params, { io: 'input' }) as {
        properties?: Record<string, { description?: string }>;
        required?: string[];
      };
      return {
        name: method.name,
        summary: method.summary,
        paramStructure: 'by-name',
        params: Object.entries(params.properties ?? {}).map(([name, schema]) => ({
          name,
          required: params.required?.includes(name) ?? false,
          ...(schema.description ? { description: schema.description } : {}),
          schema,
        })),
        result: { name: 'result', schema: z.toJSONSchema(method.result, { io: 'output' }) },
        errors: method.errors.map((type) => ({
          code: ERROR_CODES[type as ErrorType],
          message: type,
          data: { type },
        })),
      };
    }),
  };
}
