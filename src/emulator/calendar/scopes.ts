/**
 * Which OAuth scopes open which Calendar operations, after Google's scope table: the full `calendar`
 * scope opens everything, `calendar.readonly` every read, `calendar.events` events read and write, and
 * the narrower list/calendar scopes their own resources, and channels.stop any scope that can watch.
 * Anything else answers 403 insufficientPermissions.
 */
const BASE = 'https://www.googleapis.com/auth/';

export type Access =
  | 'calendarList.read'
  | 'calendars.read'
  | 'calendars.write'
  | 'events.read'
  | 'events.write'
  | 'channels.stop';

const OPENS: Record<Access, readonly string[]> = {
  'calendarList.read': [
    'calendar',
    'calendar.readonly',
    'calendar.calendarlist',
    'calendar.calendarlist.readonly',
  ],
  'calendars.read': ['calendar', 'calendar.readonly', 'calendar.calendars', 'calendar.calendars.readonly'],
  'calendars.write': ['calendar', 'calendar.calendars'],
  'events.read': [
    'calendar',
    'calendar.readonly',
    'calendar.events',
    'calendar.events.readonly',
    'calendar.events.owned',
    'calendar.events.owned.readonly',
  ],
  'events.write': ['calendar', 'calendar.events', 'calendar.events.owned'],
  // channels.stop stops what a watch opened: any scope that can watch something.
  'channels.stop': [
    'calendar',
    'calendar.readonly',
    'calendar.events',
    'calendar.events.readonly',
    'calendar.events.owned',
    'calendar.events.owned.readonly',
    'calendar.calendarlist',
    'calendar.calendarlist.readonly',
  ],
};

export function scopesAllow(scopes: readonly string[], access: Access): boolean {
  return OPENS[access].some((scope) => scopes.includes(`${BASE}${scope}`));
}
