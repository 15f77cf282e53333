/**
 * Sends push-notification messages to channel addresses as Google does: an HTTP POST with an empty body
 * and the `X-Goog-*` headers, after the API answer (never delaying it), with a timeout, retried with
 * exponential backoff when the receiver answers 500, 502, 503 or 504 or cannot be reached, and recorded
 * attempt by attempt in a log. What tests script about delivery lives here too: a delay, dropped and
 * duplicated messages, holding them until a flush, releasing them out of order, all drawn from a seedable
 * random source so that a test is reproducible.
 *
 * Order: a channel's messages leave one at a time, in release order (a retry waits aside, it does not
 * block the next message), so a healthy receiver sees increasing message numbers unless `reorder` is on.
 */
import { request as httpRequest, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type ResourceState = 'sync' | 'exists' | 'not_exists';

/** What a message is sent about: fixed when the channel is opened. */
export interface MessageChannel {
  readonly id: string;
  readonly address: string;
  readonly token?: string | undefined;
  readonly resourceId: string;
  readonly resourceUri: string;
  readonly expiration: number;
}

export interface Message {
  readonly channel: MessageChannel;
  readonly number: number;
  readonly state: ResourceState;
}

export type Outcome = 'delivered' | 'failed' | 'dropped' | 'held' | 'duplicate';

export interface LogEntry {
  readonly channelId: string;
  readonly messageNumber: number;
  readonly state: ResourceState;
  /** Emulator clock, RFC 3339. */
  readonly at: string;
  readonly outcome: Outcome;
  /** The receiver's HTTP status, when it answered. */
  readonly status?: number;
  /** Why an attempt failed without a status (`timeout`, `ECONNREFUSED`, ...) or a message was dropped. */
  readonly error?: string;
  /** 1 for the first attempt, then 2, 3, ... for retries. */
  readonly attempt?: number;
  /** A failed attempt that will be retried. */
  readonly retrying?: true;
}

export interface DeliverySettings {
  /** Added before every message's first attempt. */
  delayMs: number;
  /** Chance that a released message is never sent (logged `dropped`). */
  dropProbability: number;
  /** Chance that a released message is sent twice (the second logged `duplicate`). */
  duplicateProbability: number;
  /** Hold each change's messages and release them with the next change's, shuffled (or at a flush). */
  reorder: boolean;
  /** Keep every message until a flush. */
  hold: boolean;
  /** The random source's seed (drop, duplicate, reorder); set to replay the same choices. */
  seed: number;
  /** How long an attempt waits for the receiver's answer. */
  timeoutMs: number;
  /** Retries after a first attempt that failed with 500/502/503/504, a timeout or a network error. */
  retries: number;
  /** Wait before the first retry, doubled for each next one. */
  retryDelayMs: number;
}

export const DEFAULT_DELIVERY: Omit<DeliverySettings, 'seed'> = {
  delayMs: 0,
  dropProbability: 0,
  duplicateProbability: 0,
  reorder: false,
  hold: false,
  timeoutMs: 5_000,
  retries: 3,
  retryDelayMs: 1_000,
};

/** Google's documented answers: these mean success; 500, 502, 503 and 504 are retried; others fail. */
const SUCCESS = new Set([102, 200, 201, 202, 204]);
const RETRIED = new Set([500, 502, 503, 504]);
const LOG_LIMIT = 10_000;
const USER_AGENT = 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)';

/** Whether a message may still be sent: undefined, or why not (`stopped`, `expired`, `lost`, ...). */
export type Liveness = (message: Message) => string | undefined;

export class PushDelivery {
  private current: DeliverySettings = { ...DEFAULT_DELIVERY, seed: randomSeed() };
  private random = mulberry32(this.current.seed);
  private held: Message[] = [];
  private entries: LogEntry[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly requests = new Set<ClientRequest>();
  /** Per channel: the first attempt of the message sent last, which the next one waits for. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Messages released and not finished yet (waiting, sending, retrying). */
  private pending = 0;
  private waiters: (() => void)[] = [];
  /** Bumped by reset and close: work begun before it is abandoned. */
  private generation = 0;
  private closed = false;

  constructor(
    private readonly now: () => number,
    private readonly liveness: Liveness,
  ) {}

  get settings(): DeliverySettings {
    return { ...this.current };
  }

  /** Changes some settings; a new seed restarts the random source. Turning hold and reorder off releases what is held. */
  configure(changes: Partial<DeliverySettings>): void {
    Object.assign(this.current, changes);
    if (changes.seed !== undefined) this.random = mulberry32(changes.seed);
    if (!this.current.hold && !this.current.reorder) this.flush();
  }

  /** Back to the defaults (a new random seed); what was held is released in order. */
  resetSettings(): void {
    this.current = { ...DEFAULT_DELIVERY, seed: randomSeed() };
    this.random = mulberry32(this.current.seed);
    this.flush();
  }

  /** The messages of one change (or of a new channel's sync). */
  submit(messages: readonly Message[]): void {
    if (messages.length === 0 || this.closed) return;
    if (this.current.hold || (this.current.reorder && this.held.length === 0)) {
      for (const message of messages) this.record(message, 'held');
      this.held.push(...messages);
      return;
    }
    if (this.current.reorder) {
      const all = this.shuffle([...this.held, ...messages]);
      this.held = [];
      this.release(all);
      return;
    }
    this.release(messages);
  }

  /** Sends everything held: in order, shuffled when `reorder` is on. Answers how many. */
  flush(): number {
    const held = this.held;
    this.held = [];
    this.release(this.current.reorder ? this.shuffle(held) : held);
    return held.length;
  }

  /** Records a message that is not sent at all (a lost channel's). */
  discard(message: Message, reason: string): void {
    this.record(message, 'dropped', { error: reason });
  }

  get heldCount(): number {
    return this.held.length;
  }

  get pendingCount(): number {
    return this.pending;
  }

  log(channelId?: string): LogEntry[] {
    return channelId === undefined
      ? [...this.entries]
      : this.entries.filter((entry) => entry.channelId === channelId);
  }

  /** Resolves once nothing released is waiting, being sent or waiting for a retry (held messages aside). */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Forgets settings, held messages and the log, and abandons every delivery under way. */
  reset(): void {
    this.abandon();
    this.current = { ...DEFAULT_DELIVERY, seed: randomSeed() };
    this.random = mulberry32(this.current.seed);
    this.held = [];
    this.entries = [];
  }

  /** Stops for good: nothing more is sent, deliveries under way are cut. */
  close(): void {
    this.closed = true;
    this.abandon();
    this.held = [];
  }

  private abandon(): void {
    this.generation += 1;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const sent of this.requests) sent.destroy();
    this.requests.clear();
    this.chains.clear();
    this.pending = 0;
    this.wake();
  }

  private release(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const message of messages) {
      if (this.current.dropProbability > 0 && this.random() < this.current.dropProbability) {
        this.record(message, 'dropped', { error: 'dropProbability' });
        continue;
      }
      const duplicate =
        this.current.duplicateProbability > 0 && this.random() < this.current.duplicateProbability;
      this.pending += 1;
      const generation = this.generation;
      this.later(this.current.delayMs, () => this.enqueue(message, duplicate, generation));
    }
  }

  /** The first attempt (and a duplicate) after the channel's previous message's first attempt. */
  private enqueue(message: Message, duplicate: boolean, generation: number): void {
    const id = message.channel.id;
    const previous = this.chains.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (generation !== this.generation) return;
      const finished = await this.attempt(message, 1, 'delivered', generation);
      if (duplicate && generation === this.generation)
        await this.attempt(message, 1, 'duplicate', generation);
      if (finished) this.done(generation);
    });
    this.chains.set(id, next);
    void next.finally(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  /**
   * One attempt; a retryable failure schedules the next one aside. Answers whether the message is
   * finished (false while a retry is pending).
   */
  private async attempt(
    message: Message,
    attempt: number,
    success: 'delivered' | 'duplicate',
    generation: number,
  ): Promise<boolean> {
    const refusal = this.liveness(message);
    if (refusal !== undefined) {
      // A duplicate of a message that can no longer be sent is simply not sent.
      if (success === 'delivered') this.record(message, 'dropped', { error: refusal, attempt });
      return true;
    }
    const answer = await this.post(message);
    if (generation !== this.generation) return false;
    const status = 'status' in answer ? { status: answer.status } : { error: answer.error };
    if ('status' in answer && SUCCESS.has(answer.status)) {
      this.record(message, success, { ...status, attempt });
      return true;
    }
    if (success === 'duplicate') {
      this.record(message, 'duplicate', { ...status, attempt });
      return true;
    }
    const retry = attempt <= this.current.retries && (!('status' in answer) || RETRIED.has(answer.status));
    this.record(message, 'failed', { ...status, attempt, ...(retry ? { retrying: true as const } : {}) });
    if (!retry) return true;
    this.later(this.current.retryDelayMs * 2 ** (attempt - 1), () => {
      void this.attempt(message, attempt + 1, 'delivered', generation).then((finished) => {
        if (finished) this.done(generation);
      });
    });
    return false;
  }

  private post(message: Message): Promise<{ status: number } | { error: string }> {
    const { channel } = message;
    const headers: OutgoingHttpHeaders = {
      'Content-Type': 'application/json; utf-8',
      'Content-Length': '0',
      'User-Agent': USER_AGENT,
      Connection: 'close',
      'X-Goog-Channel-ID': channel.id,
      ...(channel.token === undefined ? {} : { 'X-Goog-Channel-Token': channel.token }),
      'X-Goog-Channel-Expiration': new Date(channel.expiration).toUTCString(),
      'X-Goog-Resource-ID': channel.resourceId,
      'X-Goog-Resource-URI': channel.resourceUri,
      'X-Goog-Resource-State': message.state,
      'X-Goog-Message-Number': String(message.number),
    };
    return new Promise((resolve) => {
      let sent: ClientRequest;
      try {
        const url = new URL(channel.address);
        sent = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
          method: 'POST',
          headers,
          agent: false,
        });
      } catch (error) {
        resolve({ error: (error as Error).message });
        return;
      }
      this.requests.add(sent);
      const timer = setTimeout(() => sent.destroy(new Error('timeout')), this.current.timeoutMs);
      const finish = (answer: { status: number } | { error: string }) => {
        clearTimeout(timer);
        this.requests.delete(sent);
        resolve(answer);
      };
      sent.on('response', (response) => {
        response.resume();
        finish({ status: response.statusCode ?? 0 });
      });
      sent.on('error', (error: NodeJS.ErrnoException) => {
        finish({ error: error.message === 'timeout' ? 'timeout' : (error.code ?? error.message) });
      });
      sent.end();
    });
  }

  private done(generation: number): void {
    if (generation !== this.generation) return;
    this.pending -= 1;
    if (this.pending === 0) this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  private record(
    message: Message,
    outcome: Outcome,
    details: { status?: number; error?: string; attempt?: number; retrying?: true } = {},
  ): void {
    this.entries.push({
      channelId: message.channel.id,
      messageNumber: message.number,
      state: message.state,
      at: new Date(this.now()).toISOString(),
      outcome,
      ...details,
    });
    if (this.entries.length > LOG_LIMIT) this.entries.splice(0, this.entries.length - LOG_LIMIT);
  }

  /** Fisher-Yates with the seeded source. */
  private shuffle<T>(items: T[]): T[] {
    for (let index = items.length - 1; index > 0; index -= 1) {
      const other = Math.floor(this.random() * (index + 1));
      [items[index], items[other]] = [items[other] as T, items[index] as T];
    }
    return items;
  }
}

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

/** A small seeded generator (mulberry32): the same seed gives the same draws. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}
