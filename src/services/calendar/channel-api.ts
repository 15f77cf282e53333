/**
 * The Calendar API calls of push channels (docs/contracts.md, "Push notifications"): `events.watch`,
 * `calendarList.watch` and `channels.stop`, answering what the sidecar keeps of a channel. Failures
 * go through the session's one retry policy; a channel Google no longer knows is `gone` when stopped.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { GoogleError } from '../../google/errors.js';
import type { GoogleSession, RequestOptions } from '../google-service.js';

export interface ChannelRequest {
  readonly id: string;
  readonly address: string;
  readonly token: string;
}

export interface MadeChannel {
  readonly resourceId: string;
  readonly expiresAt: Date;
}

/** Google's channels live about a week; the answer says exactly when this one ends. */
const DEFAULT_LIFETIME_MS = 7 * 24 * 3600 * 1000;

export class ChannelApi {
  constructor(
    private readonly session: GoogleSession,
    private readonly api: calendar_v3.Calendar,
  ) {}

  watchEvents(calendarId: string, channel: ChannelRequest): Promise<MadeChannel> {
    return this.watch('events.watch', (options) =>
      this.api.events.watch({ calendarId, requestBody: body(channel) }, options),
    );
  }

  watchCalendarList(channel: ChannelRequest): Promise<MadeChannel> {
    return this.watch('calendarList.watch', (options) =>
      this.api.calendarList.watch({ requestBody: body(channel) }, options),
    );
  }

  /** Stops a channel; `gone` when Google no longer knows it (expired, stopped already). */
  async stop(id: string, resourceId: string): Promise<'stopped' | 'gone'> {
    try {
      await this.session.call('channels.stop', async (options) =>
        this.api.channels.stop({ requestBody: { id, resourceId } }, options),
      );
      return 'stopped';
    } catch (error) {
      if (error instanceof GoogleError && (error.status === 404 || error.status === 410)) return 'gone';
      throw error;
    }
  }

  private async watch(
    operation: string,
    call: (options: RequestOptions) => Promise<{ data: calendar_v3.Schema$Channel }>,
  ): Promise<MadeChannel> {
    const answer = await this.session.call(operation, async (options) => (await call(options)).data);
    const expiration = Number(answer.expiration);
    return {
      resourceId: answer.resourceId ?? '',
      expiresAt: new Date(
        Number.isFinite(expiration) && expiration > 0 ? expiration : Date.now() + DEFAULT_LIFETIME_MS,
      ),
    };
  }
}

function body(channel: ChannelRequest): calendar_v3.Schema$Channel {
  return { id: channel.id, type: 'web_hook', address: channel.address, token: channel.token };
}
