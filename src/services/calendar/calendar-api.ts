/**
 * The Calendar API calls of the push, each answering a typed outcome instead of an error the caller
 * must inspect (docs/contracts.md, "Two-way rules", *Outcomes*): a creation whose id exists already is
 * `duplicate` (adopt it), a write whose etag no longer matches is `changed` (read and merge), an event
 * gone at Google is `gone`, and Google refusing the values or the account is `refused`. Transient
 * failures (5xx, 429, rate limits, timeouts) are retried by the session's one policy and, when they
 * last, thrown as GoogleError like any call: the round fails and is run again.
 */
import type { calendar_v3 } from '@googleapis/calendar';
import { GoogleError } from '../../google/errors.js';
import type { GoogleSession, RequestOptions } from '../google-service.js';

export type WriteOutcome =
  | { readonly kind: 'ok'; readonly event: calendar_v3.Schema$Event | undefined }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'changed' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'refused'; readonly message: string };

export type ReadOutcome =
  | { readonly kind: 'ok'; readonly event: calendar_v3.Schema$Event }
  | { readonly kind: 'gone' };

export class CalendarApi {
  constructor(
    private readonly session: GoogleSession,
    private readonly api: calendar_v3.Calendar,
    private readonly calendarId: string,
    /** `all` when the calendar sends Google's invitation e-mails, else `none`. */
    private readonly sendUpdates: 'all' | 'none',
  ) {}

  insert(eventId: string, body: Record<string, unknown>): Promise<WriteOutcome> {
    return this.write('events.insert', async (options) =>
      this.api.events.insert(
        { calendarId: this.calendarId, sendUpdates: this.sendUpdates, requestBody: { ...body, id: eventId } },
        options,
      ),
    );
  }

  patch(eventId: string, body: Record<string, unknown>, etag: string | null): Promise<WriteOutcome> {
    return this.write('events.patch', async (options) =>
      this.api.events.patch(
        { calendarId: this.calendarId, eventId, sendUpdates: this.sendUpdates, requestBody: body },
        ifMatch(options, etag),
      ),
    );
  }

  delete(eventId: string, etag: string | null): Promise<WriteOutcome> {
    return this.write('events.delete', async (options) =>
      this.api.events.delete(
        { calendarId: this.calendarId, eventId, sendUpdates: this.sendUpdates },
        ifMatch(options, etag),
      ),
    );
  }

  async get(eventId: string): Promise<ReadOutcome> {
    try {
      const event = await this.session.call(
        'events.get',
        async (options) =>
          (await this.api.events.get({ calendarId: this.calendarId, eventId }, options)).data,
      );
      // A cancelled occurrence is read as an event whose status says so: it is gone.
      return event.status === 'cancelled' ? { kind: 'gone' } : { kind: 'ok', event };
    } catch (error) {
      if (error instanceof GoogleError && (error.status === 404 || error.status === 410))
        return { kind: 'gone' };
      throw error;
    }
  }

  private async write(
    operation: string,
    call: (options: RequestOptions) => Promise<{ data: unknown }>,
  ): Promise<WriteOutcome> {
    try {
      const answer = await this.session.call(operation, async (options) => (await call(options)).data);
      return { kind: 'ok', event: (answer || undefined) as calendar_v3.Schema$Event | undefined };
    } catch (error) {
      if (!(error instanceof GoogleError)) throw error;
      if (error.status === 409) return { kind: 'duplicate' };
      if (error.status === 412) return { kind: 'changed' };
      if (error.status === 404 || error.status === 410) return { kind: 'gone' };
      if (!error.transient && (error.status === 400 || error.status === 403))
        return { kind: 'refused', message: error.message };
      throw error;
    }
  }
}

function ifMatch(options: RequestOptions, etag: string | null): RequestOptions {
  return etag === null ? options : { ...options, headers: { ...options.headers, 'if-match': etag } };
}
