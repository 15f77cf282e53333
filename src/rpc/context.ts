/** What a JSON-RPC handler may use: the served databases and the logger. Built once in main.ts. */
import type { ServedDatabases } from '../db/served-databases.js';
import type { Logger } from '../log.js';

export interface RpcContext {
  readonly databases: ServedDatabases;
  readonly logger: Logger;
}
