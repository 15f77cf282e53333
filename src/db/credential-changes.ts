/**
 * The feed of changes to credentials rows of one database: a connection of its own that LISTENs
 * on the channel the trigger of migrations/20261125_04 notifies (the changed row's id), for the
 * token cache. The feed is `live` only while it is subscribed and the trigger exists; whenever it
 * is not (connection lost, trigger missing), the cache must not be trusted, and `onReset` says so.
 * It reconnects by itself, with a growing pause.
 */
import pg from 'pg';
import type { Logger } from '../log.js';
import { CREDENTIALS_TABLE } from './credentials-repository.js';

const CHANNEL = 'google_integration_credential';
const TRIGGER = 'google_integration_sidecar_changed';
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export interface ChangeHandlers {
  /** A row changed (or was deleted); called in commit order. */
  readonly onChange: (credentialId: number) => void;
  /** The feed went down or came up again: whatever was cached may have missed changes. */
  readonly onReset: () => void;
}

export class CredentialChangeFeed {
  private client: pg.Client | undefined;
  private subscribed = false;
  private closed = false;
  private retryMs = RETRY_FIRST_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly handlers: ChangeHandlers,
    private readonly log: Logger,
  ) {}

  get live(): boolean {
    return this.subscribed;
  }

  /** Connects and subscribes; resolves either way (a failure schedules a new attempt). */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.config);
    this.client = client;
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => {
      const id = Number(message.payload);
      if (message.channel === CHANNEL && Number.isInteger(id)) this.handlers.onChange(id);
    });
    try {
      await client.connect();
      const trigger = await client.query(
        'SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2)',
        [TRIGGER, `public.${CREDENTIALS_TABLE}`],
      );
      if (trigger.rowCount === 0) throw new Error(`trigger ${TRIGGER} is missing: run tryton-google migrate`);
      await client.query(`LISTEN ${CHANNEL}`);
      if (this.client !== client || this.closed) return;
      this.subscribed = true;
      this.retryMs = RETRY_FIRST_MS;
      this.handlers.onReset();
    } catch (error) {
      this.log.warn({ err: (error as Error).message }, 'credential change feed unavailable: token cache off');
      this.lost(client);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.subscribed = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    const wasLive = this.subscribed;
    this.subscribed = false;
    this.handlers.onReset();
    client.end().catch(() => {});
    if (wasLive) this.log.warn('credential change feed lost: token cache off until it is back');
    if (this.closed) return;
    this.timer = setTimeout(() => void this.start(), this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }
}
