/**
 * The event form of the web page: rendering it (empty, or filled from a stored event) and turning a
 * posted form into the event resource the Calendar API would receive. Timed events carry their time zone;
 * the end date of an all-day event is shown and typed inclusive, as Google Calendar's own form does, and
 * stored exclusive, as the API has it.
 */
import { isSeries } from '../calendar/series.js';
import { formatDate, formatInZone, parseDate } from '../calendar/tz.js';
import type { StoredCalendar, StoredEvent, When } from '../calendar/types.js';
import { isAllDay } from '../calendar/types.js';
import { h } from './page.js';

const DAY_MS = 86_400_000;

export type EventForm = Record<string, string | undefined>;

/** The resource fields a form sets; `null` clears a field, as in an API patch. */
export function resourceFromForm(form: EventForm, calendar: StoredCalendar): Record<string, unknown> {
  const text = (name: string) => (form[name] ?? '').trim();
  const allDay = form.allDay === 'on';
  let start: Record<string, unknown>;
  let end: Record<string, unknown>;
  if (allDay) {
    const startDate = text('startDate');
    const lastDate = text('endDate') || startDate;
    const last = parseDate(lastDate);
    if (parseDate(startDate) === undefined || last === undefined)
      throw new FormError('An all-day event needs a start date and an end date (YYYY-MM-DD).');
    start = { date: startDate };
    end = { date: formatDate(last + DAY_MS) };
  } else {
    const zone = text('timeZone') || calendar.timeZone;
    start = { dateTime: localDateTime(text('start')), timeZone: zone };
    end = { dateTime: localDateTime(text('end') || text('start')), timeZone: zone };
  }
  return {
    summary: text('summary'),
    description: text('description') || null,
    location: text('location') || null,
    start,
    end,
  };
}

export class FormError extends Error {}

/** `YYYY-MM-DDTHH:MM` (what datetime-local posts) or with seconds, as a zone-local RFC 3339 date-time. */
function localDateTime(value: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?$/.exec(value);
  if (!match) throw new FormError('A timed event needs a start and an end (YYYY-MM-DDTHH:MM).');
  return `${match[1]}T${match[2]}${match[3] ?? ':00'}`;
}

/** When an event happens, as a person reads it. */
export function describeWhen(event: StoredEvent, calendar: StoredCalendar): string {
  const { start, end } = event;
  if (isAllDay(start) && isAllDay(end)) {
    const last = formatDate((parseDate(end.date) ?? 0) - DAY_MS);
    return last === start.date ? `${start.date} (all day)` : `${start.date} – ${last} (all day)`;
  }
  const zone = zoneOf(start, calendar);
  const from = isAllDay(start) ? start.date : formatInZone(start.dateTime, zone);
  const to = isAllDay(end) ? end.date : formatInZone(end.dateTime, zone);
  return `${from} – ${to} (${zone})`;
}

function zoneOf(when: When, calendar: StoredCalendar): string {
  return !isAllDay(when) && when.timeZone ? when.timeZone : calendar.timeZone;
}

/** The form's fields, filled from `event` when editing. */
export function eventFields(calendar: StoredCalendar, event?: StoredEvent): string {
  const allDay = event ? isAllDay(event.start) : false;
  let startDate = '';
  let endDate = '';
  let start = '';
  let end = '';
  let zone = calendar.timeZone;
  if (event && isAllDay(event.start) && isAllDay(event.end)) {
    startDate = event.start.date;
    endDate = formatDate((parseDate(event.end.date) ?? 0) - DAY_MS);
  } else if (event && !isAllDay(event.start) && !isAllDay(event.end)) {
    zone = zoneOf(event.start, calendar);
    start = formatInZone(event.start.dateTime, zone).slice(0, 16);
    end = formatInZone(event.end.dateTime, zone).slice(0, 16);
  }
  const series =
    event && isSeries(event)
      ? `<p class="hint">Repeats: <code>${h(event.recurrence?.join(' '))}</code> (kept; edit the rule through the control API).</p>`
      : '';
  return `<label>Title <input name="summary" size="30" value="${h(event?.summary)}"></label>
<label>Location <input name="location" size="20" value="${h(event?.location)}"></label><br>
<label><input type="checkbox" name="allDay"${allDay ? ' checked' : ''}> All day</label>
<fieldset><legend>Timed</legend>
<label>Start <input type="datetime-local" name="start" value="${h(start)}"></label>
<label>End <input type="datetime-local" name="end" value="${h(end)}"></label>
<label>Time zone <input name="timeZone" size="18" value="${h(zone)}"></label></fieldset>
<fieldset><legend>All day</legend>
<label>From <input type="date" name="startDate" value="${h(startDate)}"></label>
<label>To (inclusive) <input type="date" name="endDate" value="${h(endDate)}"></label></fieldset>
<label>Description <textarea name="description" rows="2" cols="50">${h(event?.description)}</textarea></label>
${series}`;
}
