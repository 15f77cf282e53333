/** What a JSON-RPC handler may use. Built once in main.ts. */
import type { CredentialContext } from '../credentials/context.js';
import type { ServedDatabases } from '../db/served-databases.js';
import type { DatabaseOutages } from '../db/unavailable.js';
import type { Logger } from '../log.js';
import type { Services } from '../services/services.js';

export interface RpcContext {
  readonly databases: ServedDatabases;
  readonly credentials: CredentialContext;
  readonly logger: Logger;
  /** Turns database failures into database_unavailable, logging each outage once per window. */
  readonly outages: DatabaseOutages;
  /** The Google services (calendar, ...), by name. */
  readonly services: Services;
}
