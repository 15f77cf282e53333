/**
 * `changeWhilePaging` (control API `POST /calendar/paging`): after each events.list page that has a
 * nextPageToken, a person edits the next items of that listing, the ones the following pages would have
 * carried. The edits go through EventsService like any other (new etag, `updated`, change number; an
 * occurrence becomes an exception), so listing.ts leaves them out of the rest of the listing and the next
 * incremental sync reports them: Google gives no consistency across pages either, and a client must
 * still end up with every change.
 */
import { CalendarApiError } from './errors.js';
import type { EventsService } from './events-service.js';
import type { CalendarStore } from './store.js';
import type { StoredCalendar, StoredEvent } from './types.js';

export const EDITED_WHILE_PAGING = '(edited while paging)';

/** How many upcoming items a listing of `calendar` should hand over for editing (0: the setting is off). */
export function changesWhilePaging(store: CalendarStore, calendar: StoredCalendar): number {
  const setting = store.changeWhilePaging;
  if (!setting || (setting.calendarId !== undefined && setting.calendarId !== calendar.id)) return 0;
  return setting.count;
}

/** Appends EDITED_WHILE_PAGING to each item's summary, as the calendar's owner. */
export function editWhilePaging(
  service: EventsService,
  calendar: StoredCalendar,
  items: readonly StoredEvent[],
): void {
  for (const item of items) {
    // Deleted items (showDeleted, incremental listings) cannot be edited by a person.
    if (item.status === 'cancelled') continue;
    const summary =
      item.summary === undefined ? EDITED_WHILE_PAGING : `${item.summary} ${EDITED_WHILE_PAGING}`;
    try {
      service.patch(calendar, item.id, { summary }, calendar.owner);
    } catch (error) {
      // The page is already sent: an edit Google would refuse is simply not made.
      if (!(error instanceof CalendarApiError)) throw error;
    }
  }
}
