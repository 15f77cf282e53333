/**
 * Recurring series as Google exposes them: occurrences are virtual events derived from the stored master
 * (id `<series>_<YYYYMMDDTHHMMSSZ>` for timed, `_<YYYYMMDD>` for all-day, with recurringEventId and
 * originalStartTime), and an exception (an occurrence moved, edited or cancelled) is a stored event under
 * that same id which replaces the virtual one.
 *
 * Horizon: a series that never ends (no COUNT/UNTIL) is expanded up to the listing's timeMax when there is
 * one, else up to OPEN_SERIES_HORIZON_YEARS after the later of now and the series start; every series
 * stops after MAX_INSTANCES_PER_SERIES occurrences. Google itself pages open series for a long way;
 * clients must not expect the emulator's cut-off, only that far-future occurrences may be missing.
 */
import { seriesStartOf } from './event-input.js';
import { isBounded, occurrences } from './recurrence.js';
import type { StoredEvent, When } from './types.js';
import { isAllDay } from './types.js';
import { civilAsUtc, compactDate, compactUtc, DAY_MS, formatDate, parseDate } from './tz.js';

export const OPEN_SERIES_HORIZON_YEARS = 2;
const YEAR_MS = 365.25 * DAY_MS;

export function isSeries(event: StoredEvent): boolean {
  return (
    event.recurrence !== undefined && event.recurrence.length > 0 && event.recurringEventId === undefined
  );
}

/** The instant (timed) or UTC midnight (all-day) a start stands for. */
export function whenMs(when: When): number {
  return isAllDay(when) ? (parseDate(when.date) ?? 0) : when.dateTime;
}

export function instanceId(seriesId: string, allDay: boolean, originalStartMs: number): string {
  return `${seriesId}_${allDay ? compactDate(originalStartMs) : compactUtc(originalStartMs)}`;
}

/** The series id and original start encoded in an instance id, or undefined when it is not one. */
export function parseInstanceId(
  id: string,
): { seriesId: string; allDay: boolean; originalStartMs: number } | undefined {
  const match = /^(.+)_(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(id);
  if (!match?.[1]) return undefined;
  const [, seriesId, y, mo, d, h, mi, s] = match;
  const allDay = h === undefined;
  // Not Date.UTC, which reads years 0-99 as 1900-1999.
  const ms = civilAsUtc({
    year: Number(y),
    month: Number(mo),
    day: Number(d),
    hour: Number(h ?? 0),
    minute: Number(mi ?? 0),
    second: Number(s ?? 0),
  });
  if (Number.isNaN(ms)) return undefined;
  return { seriesId, allDay, originalStartMs: ms };
}

/** How far to expand: see the header. `timeMax` is exclusive. */
export function horizonFor(master: StoredEvent, now: number, timeMax: number | undefined): number {
  if (timeMax !== undefined) return timeMax;
  if (isBounded(master.recurrence ?? [], seriesStartOf(master.start))) return Number.MAX_SAFE_INTEGER;
  return Math.max(now, whenMs(master.start)) + OPEN_SERIES_HORIZON_YEARS * YEAR_MS;
}

/** Original starts of the series' occurrences before `beforeMs` (EXDATEs applied, exceptions not). */
export function occurrenceStarts(master: StoredEvent, beforeMs: number): number[] {
  return occurrences(master.recurrence ?? [], seriesStartOf(master.start), beforeMs);
}

function originalWhen(master: StoredEvent, ms: number): When {
  if (isAllDay(master.start)) return { date: formatDate(ms) };
  return master.start.timeZone === undefined
    ? { dateTime: ms }
    : { dateTime: ms, timeZone: master.start.timeZone };
}

/** The virtual occurrence starting at `originalStartMs`: the master's content, moved, without recurrence. */
export function virtualInstance(master: StoredEvent, originalStartMs: number): StoredEvent {
  const allDay = isAllDay(master.start);
  const shift = (when: When): When => {
    if (isAllDay(when)) return { date: formatDate(whenMs(when) - whenMs(master.start) + originalStartMs) };
    const moved = when.dateTime - whenMs(master.start) + originalStartMs;
    return when.timeZone === undefined ? { dateTime: moved } : { dateTime: moved, timeZone: when.timeZone };
  };
  const { recurrence: _dropped, ...content } = master;
  return {
    ...content,
    id: instanceId(master.id, allDay, originalStartMs),
    start: shift(master.start),
    end: shift(master.end),
    recurringEventId: master.id,
    originalStart: originalWhen(master, originalStartMs),
  };
}

/**
 * Every occurrence of the series before `beforeMs`, exceptions put in place of the occurrences they
 * replace (cancelled ones included: callers filter), plus exceptions whose original start lies beyond.
 */
export function expand(
  master: StoredEvent,
  exceptions: readonly StoredEvent[],
  beforeMs: number,
): StoredEvent[] {
  const byId = new Map(exceptions.map((exception) => [exception.id, exception]));
  const out: StoredEvent[] = [];
  for (const ms of occurrenceStarts(master, beforeMs)) {
    const virtual = virtualInstance(master, ms);
    const exception = byId.get(virtual.id);
    byId.delete(virtual.id);
    out.push(exception ?? virtual);
  }
  out.push(...byId.values());
  return out;
}

/** Whether `originalStartMs` is an occurrence of the series (so an instance id names something real). */
export function hasOccurrence(master: StoredEvent, originalStartMs: number): boolean {
  return occurrenceStarts(master, originalStartMs + 1).includes(originalStartMs);
}

/** Groups exceptions by series id: one pass over a calendar instead of one per series. */
export function exceptionsBySeries(events: Iterable<StoredEvent>): Map<string, StoredEvent[]> {
  const grouped = new Map<string, StoredEvent[]>();
  for (const event of events) {
    if (event.recurringEventId === undefined) continue;
    const list = grouped.get(event.recurringEventId) ?? [];
    list.push(event);
    grouped.set(event.recurringEventId, list);
  }
  return grouped;
}
