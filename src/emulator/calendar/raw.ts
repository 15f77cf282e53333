/**
 * Raw corruption of rendered events (control API `POST .../events/:eventId/raw`): answers Google should
 * not send but a proxy or a future API could (`summary: 42`, an `end` missing, `status: "weird"`). The
 * override is applied after normal rendering, to the top-level fields only, in every API rendering of
 * that event: events.list, events.get, events.instances. The store keeps it (store.ts) until the event's
 * next regular write.
 */
import type { CalendarStore } from './store.js';
import type { StoredEvent } from './types.js';

/** The rendering with the event's override applied: given fields replace, `null` removes. */
export function withRaw(
  store: CalendarStore,
  calendarId: string,
  event: StoredEvent,
  rendered: Record<string, unknown>,
): Record<string, unknown> {
  const override = store.rawOverride(calendarId, event.id);
  if (!override) return rendered;
  const out = { ...rendered };
  for (const [name, value] of Object.entries(override.fields)) {
    if (value === null) delete out[name];
    else out[name] = structuredClone(value);
  }
  return out;
}

/**
 * An occurrence computed from its series (not stored) carries the series' change; once overridden it
 * shows the override's change instead (etag, `updated`, place in incremental sync), as a stored event
 * would.
 */
export function withRawStamp(store: CalendarStore, calendarId: string, event: StoredEvent): StoredEvent {
  const override = store.rawOverride(calendarId, event.id);
  if (!override || override.changed <= event.changed) return event;
  return { ...event, changed: override.changed, updated: override.updated, etag: override.etag };
}
