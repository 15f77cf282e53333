/**
 * Push-notification channels (`events.watch`, `calendarList.watch`, `channels.stop`): which exist, what
 * they watch, and which message each change of the store brings them. A new channel gets `sync` (message
 * 1); each later change of what it watches `exists` with its next number; an events channel whose calendar
 * leaves the watching account's list (or is deleted) `not_exists`, then nothing more. A channel past its
 * expiration (emulator clock) sends nothing and is forgotten; a stopped one sends nothing and stays listed
 * (for the control API) until it expires; a lost one still exists for the API but never sends.
 *
 * Changes are collected while an operation runs and turned into messages once it is done (a microtask
 * later), so one operation (a series deleted with its exceptions, a list entry added with its calendar)
 * is one message per channel. Sending is push-delivery.ts's. Channels are kept in the state file; what is
 * being delivered is not.
 */
import { createHash } from 'node:crypto';
import type { WatchRequest } from './channel-input.js';
import { type Message, PushDelivery, type ResourceState } from './push-delivery.js';
import type { CalendarStore, StoreChange } from './store.js';

export type ChannelKind = 'events' | 'calendarList';

export interface StoredChannel {
  readonly id: string;
  readonly kind: ChannelKind;
  /** Events channels: the calendar watched. */
  readonly calendarId?: string;
  /** Events channels: the account that watches; calendarList channels: the account whose list is watched. */
  readonly account: string;
  /** The OAuth client that opened it: Google's "project", the only one that may stop it. */
  readonly clientId: string;
  readonly address: string;
  readonly token?: string;
  readonly resourceId: string;
  readonly resourceUri: string;
  /** Ms since the epoch (emulator clock). */
  expiration: number;
  readonly created: number;
  /** The number of the last message made for it (1: the sync). */
  messageNumber: number;
  stopped?: boolean;
  lost?: boolean;
  /** Told `not_exists`: its calendar left the account's list. */
  resourceGone?: boolean;
}

export interface NewChannel {
  readonly kind: ChannelKind;
  readonly calendarId?: string;
  readonly account: string;
  readonly clientId: string;
  readonly resourceUri: string;
  readonly request: WatchRequest;
}

export class PushChannels {
  private readonly channels = new Map<string, StoredChannel>();
  readonly delivery: PushDelivery;
  private changedEvents = new Set<string>();
  private changedLists = new Set<string>();
  private gone: { calendarId: string; account?: string | undefined }[] = [];
  private scheduled = false;

  constructor(private readonly store: CalendarStore) {
    this.delivery = new PushDelivery(
      () => store.now(),
      (message) => this.liveness(message),
    );
    store.onChange((change) => this.onChange(change));
  }

  /** Opens a channel and sends its sync message; undefined when a live channel has that id. */
  watch(spec: NewChannel): StoredChannel | undefined {
    this.sweep();
    const existing = this.channels.get(spec.request.id);
    if (existing && !existing.stopped) return undefined;
    // Changes made before the channel existed (in the same operation) are not its business.
    if (this.scheduled) this.dispatch();
    const key = spec.kind === 'events' ? `events\n${spec.calendarId}` : `calendarList\n${spec.account}`;
    const channel: StoredChannel = {
      id: spec.request.id,
      kind: spec.kind,
      ...(spec.calendarId === undefined ? {} : { calendarId: spec.calendarId }),
      account: spec.account,
      clientId: spec.clientId,
      address: spec.request.address,
      ...(spec.request.token === undefined ? {} : { token: spec.request.token }),
      resourceId: resourceIdOf(key),
      resourceUri: spec.resourceUri,
      expiration: spec.request.expiration,
      created: this.store.now(),
      messageNumber: 1,
    };
    this.channels.set(channel.id, channel);
    this.delivery.submit([{ channel, number: 1, state: 'sync' }]);
    return channel;
  }

  /** channels.stop: false when no live channel of this client has that id and resourceId. */
  stop(id: string, resourceId: unknown, clientId: string): boolean {
    this.sweep();
    const channel = this.channels.get(id);
    if (!channel || channel.stopped || channel.resourceId !== resourceId || channel.clientId !== clientId)
      return false;
    channel.stopped = true;
    return true;
  }

  /** Every channel not expired yet, stopped ones included, oldest first. */
  list(): StoredChannel[] {
    this.sweep();
    return [...this.channels.values()];
  }

  /** Expires a channel now (it is forgotten); false when there is none. */
  expire(id: string): boolean {
    this.sweep();
    const channel = this.channels.get(id);
    if (!channel) return false;
    channel.expiration = this.store.now();
    this.sweep();
    return true;
  }

  /** Google silently stops delivering for a live channel; undefined when there is none. */
  lose(id: string): StoredChannel | undefined {
    this.sweep();
    const channel = this.channels.get(id);
    if (!channel || channel.stopped) return undefined;
    channel.lost = true;
    return channel;
  }

  toJSON(): StoredChannel[] {
    return structuredClone([...this.channels.values()]);
  }

  /** Replaces the channels (from a state file); nothing is being delivered for them. */
  load(channels: readonly StoredChannel[]): void {
    this.channels.clear();
    for (const channel of structuredClone(channels)) this.channels.set(channel.id, channel);
  }

  /** Forgets channels, delivery settings, held messages and the log. */
  reset(): void {
    this.channels.clear();
    this.changedEvents.clear();
    this.changedLists.clear();
    this.gone = [];
    this.scheduled = false;
    this.delivery.reset();
  }

  close(): void {
    this.delivery.close();
  }

  private onChange(change: StoreChange): void {
    if (change.kind === 'reset') {
      this.reset();
      return;
    }
    if (this.channels.size === 0) return;
    if (change.kind === 'events') this.changedEvents.add(change.calendarId);
    else if (change.kind === 'calendarList') this.changedLists.add(change.account);
    else this.gone.push({ calendarId: change.calendarId, account: change.account });
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      if (this.scheduled) this.dispatch();
    });
  }

  /** Turns the changes collected so far into one message per channel concerned. */
  private dispatch(): void {
    const events = this.changedEvents;
    const lists = this.changedLists;
    const gone = this.gone;
    this.changedEvents = new Set();
    this.changedLists = new Set();
    this.gone = [];
    this.scheduled = false;
    this.sweep();
    const messages: Message[] = [];
    for (const channel of this.channels.values()) {
      const state = stateFor(channel, events, lists, gone);
      if (state === undefined) continue;
      if (state === 'not_exists') channel.resourceGone = true;
      channel.messageNumber += 1;
      const message = { channel, number: channel.messageNumber, state };
      if (channel.lost) this.delivery.discard(message, 'lost');
      else messages.push(message);
    }
    this.delivery.submit(messages);
  }

  /** Why a message may no longer be sent, if so. */
  private liveness(message: Message): string | undefined {
    this.sweep();
    const channel = this.channels.get(message.channel.id);
    if (channel !== message.channel) return channel === undefined ? 'expired' : 'stopped';
    if (channel.stopped) return 'stopped';
    if (channel.lost) return 'lost';
    return undefined;
  }

  /** Forgets the channels past their expiration. */
  private sweep(): void {
    const now = this.store.now();
    for (const [id, channel] of this.channels) if (channel.expiration <= now) this.channels.delete(id);
  }
}

function stateFor(
  channel: StoredChannel,
  events: ReadonlySet<string>,
  lists: ReadonlySet<string>,
  gone: readonly { calendarId: string; account?: string | undefined }[],
): ResourceState | undefined {
  if (channel.stopped) return undefined;
  if (channel.kind === 'calendarList') return lists.has(channel.account) ? 'exists' : undefined;
  if (channel.resourceGone || channel.calendarId === undefined) return undefined;
  const calendarId = channel.calendarId;
  if (
    gone.some(
      (item) => item.calendarId === calendarId && (item.account ?? channel.account) === channel.account,
    )
  )
    return 'not_exists';
  return events.has(calendarId) ? 'exists' : undefined;
}

/** Opaque and stable: the same watched resource (a calendar's events, an account's list) gets the same id. */
function resourceIdOf(key: string): string {
  return createHash('sha256').update(key).digest().subarray(0, 20).toString('base64url');
}

/** The API answer of a watch: Google's Channel resource (`expiration` an int64, so a string). */
export function renderChannel(channel: StoredChannel): Record<string, unknown> {
  return {
    kind: 'api#channel',
    id: channel.id,
    resourceId: channel.resourceId,
    resourceUri: channel.resourceUri,
    ...(channel.token === undefined ? {} : { token: channel.token }),
    expiration: String(channel.expiration),
  };
}

/** A channel as the control API lists it. */
export function describeChannel(channel: StoredChannel): Record<string, unknown> {
  return {
    id: channel.id,
    kind: channel.kind,
    ...(channel.calendarId === undefined ? {} : { calendarId: channel.calendarId }),
    account: channel.account,
    clientId: channel.clientId,
    address: channel.address,
    ...(channel.token === undefined ? {} : { token: channel.token }),
    resourceId: channel.resourceId,
    resourceUri: channel.resourceUri,
    expiration: new Date(channel.expiration).toISOString(),
    created: new Date(channel.created).toISOString(),
    messageNumber: channel.messageNumber,
    ...(channel.stopped ? { stopped: true } : {}),
    ...(channel.lost ? { lost: true } : {}),
    ...(channel.resourceGone ? { resourceGone: true } : {}),
  };
}
