# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""Google calendar events: what users read of them (private events are busy
time), the calendar view, appointments made in Tryton, conflicts, the
trigger that queues the sidecar's rounds (docs/contracts.md, "Calendar
synchronization" and "Two-way rules")"""
import datetime as dt
import json
from unittest.mock import patch
from zoneinfo import ZoneInfo

from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.google_integration import exceptions
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import CalendarTestMixin, DatabaseTestCase


class EventsTestCase(CalendarTestMixin, DatabaseTestCase):
    "Test the events"

    @with_transaction()
    def test_event_detail_rules(self):
        "Test private events are only busy to users other than the owner"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Detail = pool.get('google_integration.event.detail')
        credential, owner, calendar, events = self.event_fixtures()
        colleague = self.create_user('colleague', 'group_google_calendar')
        admin = self.create_user('manager', 'group_google_integration_admin')
        private = {events['private'].id, events['confidential'].id}
        ids = [e.id for e in events.values()]

        for user, sees_private in [
                (owner, True), (colleague, False), (admin, True)]:
            with self.subTest(user=user.login), self.as_user(user):
                details = Detail.search([])
                self.assertEqual(
                    {d.event.id for d in details},
                    set(ids) if sees_private else set(ids) - private)
                rows = {r['id']: r for r in Event.read(ids, [
                            'rec_name', 'summary', 'description',
                            'location', 'attendees', 'busy'])}
                for event_id, row in rows.items():
                    hidden = event_id in private and not sees_private
                    self.assertEqual(row['busy'], hidden)
                    if hidden:
                        self.assertEqual(row['rec_name'], "Busy")
                        for name in [
                                'summary', 'description', 'location',
                                'attendees']:
                            self.assertIsNone(row[name], msg=name)
                    else:
                        self.assertTrue(row['rec_name'].endswith(" meeting"))
                        self.assertEqual(row['location'], "Room 1")
                # Searching by what a detail says finds only what the user
                # may read.
                found = Event.search([('summary', 'ilike', '%meeting')])
                self.assertEqual(
                    {e.id for e in found},
                    set(ids) if sees_private else set(ids) - private)
                self.assertEqual(
                    [e.id for e in Event.search(
                            [('rec_name', '=', "Private meeting")])],
                    [events['private'].id] if sees_private else [])

        # Reading the detail itself is refused by the rule.
        private_detail, = Detail.search(
            [('event', '=', events['private'].id)])
        with self.as_user(colleague), self.assertRaises(AccessError):
            Detail.read([private_detail.id], ['summary'])
        with self.as_user(owner):
            Detail.read([private_detail.id], ['summary'])

        # Owners change: the former owner no longer sees the private detail.
        credential.owner = colleague
        credential.save()
        with self.as_user(owner):
            self.assertEqual(
                Event.read([events['private'].id], ['rec_name'])[0][
                    'rec_name'], "Busy")
        with self.as_user(colleague):
            self.assertEqual(
                Event(events['private'].id).rec_name, "Private meeting")

    @with_transaction()
    def test_event_access(self):
        "Test only the calendar groups read calendars and change events"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Calendar = pool.get('google_integration.calendar')
        Member = pool.get('google_integration.calendar.member')
        Conflict = pool.get('google_integration.event.conflict')
        Tombstone = pool.get('google_integration.event.tombstone')
        credential, owner, calendar, events = self.event_fixtures()
        employee = self.create_user('employee')
        admin = self.create_user('manager', 'group_google_integration_admin')

        with self.as_user(employee):
            for Model in [Event, Calendar, Member, Conflict]:
                with self.assertRaises(AccessError):
                    Model.search([])
        with self.as_user(owner):
            self.assertEqual(len(Event.search([])), 4)
            self.assertEqual(Calendar.search([]), [calendar])
            # The calendar's account shows, not its secrets.
            Calendar.read([calendar.id], [
                    'credential.rec_name', 'owner.rec_name', 'account_email'])
            for values in [
                    {'sync_enabled': False}, {'notify_attendees': True}]:
                with self.assertRaises(AccessError):
                    Calendar.write([calendar], values)
            # Only the sidecar writes members, tombstones and conflicts.
            self.assertEqual(Member.search([]), [])
            self.assertEqual(Conflict.search([]), [])
            with self.assertRaises(AccessError):
                Tombstone.search([])
            Event.delete([events['public']])
        with self.as_user(admin):
            Calendar.write([calendar], {
                    'sync_enabled': False, 'notify_attendees': True})
            self.assertEqual(len(Tombstone.search([])), 1)
            # Deleted with their calendar: nothing is refused (its sync is
            # off now), nothing waits for Google.
            Calendar.delete([calendar])
            self.assertEqual(Event.search([]), [])
            self.assertEqual(Tombstone.search([]), [])

    @with_transaction()
    def test_event_owner_filters(self):
        "Test events filter by their calendar's owner"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Calendar = pool.get('google_integration.calendar')
        credential, owner, calendar, events = self.event_fixtures()
        other = self.create_credentials()
        other_calendar = self.create_calendar(other, 'team')
        team = self.create_event(
            other_calendar, 'team1', all_day=True,
            start_date=dt.date(2030, 1, 8), end_date=dt.date(2030, 1, 8))

        with self.as_user(owner):
            mine = Event.search([('owner', '=', owner.id)])
            self.assertEqual(len(mine), 4)
            self.assertNotIn(team, mine)
            others = Event.search(
                ['OR', ('owner', '!=', owner.id), ('owner', '=', None)])
            self.assertEqual(others, [team])
            self.assertEqual(
                Calendar.search([('owner', '=', owner.id)]), [calendar])
            self.assertEqual(
                Event.search([('owner.login', '=', 'owner')], count=True), 4)
            self.assertEqual(
                Event.search([('calendar', '=', other_calendar.id)]), [team])
        self.assertEqual(events['public'].owner, owner)
        self.assertEqual(events['public'].color, '#fbe983')
        self.assertEqual(events['public'].text_color, '#000000')
        self.assertIsNone(team.color)

    def client_window(self, zone, first_day, days):
        """The period the web client asks for: from the local midnight of
        first_day to the one days later, as naive UTC (sao's calendar)"""
        tz = ZoneInfo(zone)
        start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(
            first_day + dt.timedelta(days=days), dt.time(), tzinfo=tz)

        def utc(value):
            return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return utc(start), utc(end)

    def client_domain(self, start, end):
        "sao's Calendar.current_domain for DateTime dtstart and dtend"
        return [
            ('calendar_start', '!=', None),
            ('calendar_end', '!=', None),
            ['OR',
                [('calendar_start', '>=', start),
                    ('calendar_start', '<', end)],
                [('calendar_end', '>=', start), ('calendar_end', '<', end)],
                [('calendar_start', '<', start), ('calendar_end', '>', end)],
                ],
            ]

    @with_transaction()
    def test_calendar_view_bounds(self):
        "Test all-day events are dates and timed ones UTC instants"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential, owner, calendar, events = self.event_fixtures()
        one_day = self.create_event(
            calendar, 'holiday', all_day=True,
            start_date=dt.date(2030, 1, 8), end_date=dt.date(2030, 1, 8))
        three_days = self.create_event(
            calendar, 'trip', all_day=True,
            start_date=dt.date(2030, 1, 9), end_date=dt.date(2030, 1, 11))
        timed = events['public']

        for zone in [
                'UTC', 'Pacific/Kiritimati', 'Pacific/Pago_Pago',
                'America/Los_Angeles', 'Europe/Paris', 'Asia/Kolkata']:
            with self.subTest(zone=zone), Transaction().set_context(
                    timezone=zone):
                rows = {r['id']: r for r in Event.read(
                        [one_day.id, three_days.id, timed.id],
                        ['calendar_start', 'calendar_end'])}
                # A date, not a datetime: the client shows it on its day
                # (inclusive end), in whatever zone it runs.
                for event, start, end in [
                        (one_day, dt.date(2030, 1, 8), dt.date(2030, 1, 8)),
                        (three_days,
                            dt.date(2030, 1, 9), dt.date(2030, 1, 11)),
                        ]:
                    row = rows[event.id]
                    self.assertIs(type(row['calendar_start']), dt.date)
                    self.assertIs(type(row['calendar_end']), dt.date)
                    self.assertEqual(
                        (row['calendar_start'], row['calendar_end']),
                        (start, end))
                # The instant in naive UTC: the client shows it in its zone.
                row = rows[timed.id]
                self.assertIs(type(row['calendar_start']), dt.datetime)
                self.assertEqual(
                    (row['calendar_start'], row['calendar_end']),
                    (dt.datetime(2030, 1, 7, 9), dt.datetime(2030, 1, 7, 10)))

    @with_transaction()
    def test_calendar_view_search(self):
        "Test the client's period finds the events it shows, in any zone"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential, owner, calendar, _ = self.event_fixtures()
        Event.delete(Event.search([]))
        day = dt.date(2030, 1, 14)   # a Monday
        all_day = {}
        for offset in [-3, -1, 0, 3, 6, 7, 9]:
            date = day + dt.timedelta(days=offset)
            all_day[offset] = self.create_event(
                calendar, f'day{offset}', all_day=True,
                start_date=date, end_date=date)
        spanning = self.create_event(
            calendar, 'long', all_day=True,
            start_date=day - dt.timedelta(days=10),
            end_date=day + dt.timedelta(days=20))
        ids = {e.id for e in all_day.values()} | {spanning.id}

        for zone in [
                'UTC', 'Pacific/Kiritimati', 'Etc/GMT+12',
                'America/New_York', 'Europe/Paris', 'Asia/Kolkata',
                'Australia/Sydney']:
            with self.subTest(zone=zone):
                tz = ZoneInfo(zone)
                start, end = self.client_window(zone, day, 7)
                timed = []
                for local_hour in [-1, 0, 23, 24 * 7 - 1, 24 * 7]:
                    local = dt.datetime.combine(
                        day, dt.time(), tzinfo=tz) + dt.timedelta(
                        hours=local_hour)
                    utc = local.astimezone(dt.timezone.utc).replace(
                        tzinfo=None)
                    timed.append((local_hour, self.create_event(
                                calendar, f'{zone}{local_hour}',
                                all_day=False, starts_at=utc,
                                ends_at=utc + dt.timedelta(minutes=30))))
                found = {e.id for e in Event.search(
                        self.client_domain(start, end))}
                # Every all-day event of the week's days, whatever the zone
                # (and maybe a neighbour, which the client does not show).
                for offset in [0, 3, 6]:
                    self.assertIn(all_day[offset].id, found, msg=offset)
                self.assertIn(spanning.id, found)
                for offset in [-3, 9]:
                    self.assertNotIn(all_day[offset].id, found, msg=offset)
                # Timed events exactly when they are in the local week.
                for local_hour, event in timed:
                    self.assertEqual(
                        event.id in found, 0 <= local_hour < 24 * 7,
                        msg=local_hour)
                Event.delete([e for _, e in timed])
        # Ordered by their start, all-day events first on their day.
        events = Event.search([('id', 'in', list(ids))])
        self.assertEqual(events[0], spanning)
        self.assertEqual(
            [e.id for e in events[1:]],
            [all_day[o].id for o in sorted(all_day)])

    # Appointments made in Tryton (docs/contracts.md, "Two-way rules").

    @with_transaction()
    def test_event_create(self):
        "Test an event made in Tryton gets its Google id and is pending"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential = self.create_credentials()
        calendar = self.create_calendar(
            credential, sync_enabled=True, time_zone='Europe/Paris')
        alice = self.calendar_user(credential)
        before = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

        with self.as_user(alice):
            self.assertEqual(Event.default_calendar(), calendar.id)
            self.assertEqual(Event.default_time_zone(), 'Europe/Paris')
            event = self.appointment(
                calendar, "Review", location="Room 2",
                attendees="Bob@example.com, carol@example.com\n\n")
            event = Event(event.id)
            self.assertRegex(event.google_id, r'^[0-9a-v]{26}$')
            self.assertEqual(
                (event.summary, event.location, event.attendees,
                    event.time_zone, event.sync_status, event.local_version),
                ("Review", "Room 2", "Bob@example.com\ncarol@example.com",
                    'Europe/Paris', 'pending_push', 1))
            self.assertGreaterEqual(event.local_write, before)
            other = self.appointment(calendar)
            self.assertNotEqual(other.google_id, event.google_id)
        # All-day events hold days, not instants.
        day = self.appointment(
            calendar, all_day=True, start_date=dt.date(2030, 1, 8),
            end_date=dt.date(2030, 1, 9))
        self.assertEqual(
            (day.starts_at, day.ends_at, day.calendar_start, day.calendar_end),
            (None, None, dt.date(2030, 1, 8), dt.date(2030, 1, 9)))

        with self.assertRaises(ValidationError) as cm:
            self.appointment(calendar, attendees="Bob <bob@example.com>")
        self.assertIn('"Bob"', cm.exception.message)
        for values in [
                {'ends_at': dt.datetime(2030, 1, 7, 8)},
                {'time_zone': 'Europe/Nowhere'},
                ]:
            with self.subTest(values=values):
                with self.assertRaises(ValidationError):
                    self.appointment(calendar, **values)

    @with_transaction()
    def test_event_default_calendar(self):
        "Test a new event goes to a writable calendar of the user"
        pool = Pool()
        Event = pool.get('google_integration.event')
        mine = self.create_credentials()
        theirs = self.create_credentials()
        alice = self.calendar_user(mine)
        bob = self.calendar_user(login='bob')
        self.create_calendar(mine, 'reader', access_role='reader',
            sync_enabled=True)
        self.create_calendar(mine, 'off', sync_enabled=False)
        team = self.create_calendar(
            theirs, 'team', access_role='writer', sync_enabled=True)
        own = self.create_calendar(
            mine, 'own', access_role='writer', sync_enabled=True)

        with self.as_user(alice):
            self.assertEqual(Event.default_calendar(), own.id)
        # Bob owns no account: any writable calendar.
        with self.as_user(bob):
            self.assertEqual(Event.default_calendar(), team.id)
        # A member through another account of his.
        bobs = self.create_credentials(owner=bob.id)
        self.insert(
            'google_integration.calendar.member', calendar=own.id,
            credential=bobs.id, access_role='writer')
        with self.as_user(bob):
            self.assertEqual(Event.default_calendar(), own.id)

    @with_transaction()
    def test_event_write_pending(self):
        "Test a change of a synchronized field is pushed, origin is not"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)
        alice = self.calendar_user(credential)
        event = self.appointment(calendar)
        self.set_synced(event)
        _, version, written = self.event_row(event)
        self.assertEqual(version, 1)

        with self.as_user(alice):
            Event.write([Event(event.id)], {'summary': "Renamed"})
        status, version, later = self.event_row(event)
        self.assertEqual((status, version), ('pending_push', 2))
        self.assertGreaterEqual(later, written)
        self.assertEqual(Event(event.id).summary, "Renamed")

        # The sidecar pushed it; then writes that change nothing pushed.
        self.set_synced(event)
        with patch.object(
                Event, '_get_origin', classmethod(lambda cls: ['res.user'])):
            with self.as_user(alice):
                Event.write([Event(event.id)], {
                        'origin': f'res.user,{alice.id}',
                        'summary': "Renamed",
                        })
        self.assertEqual(self.event_row(event)[:2], ('synced', 2))
        self.assertEqual(Event(event.id).origin, alice)

        # A move in the calendar view: the bounds and the instants the
        # client's on_change set, one change.
        with self.as_user(alice):
            Event.write([Event(event.id)], {
                    'calendar_start': dt.datetime(2030, 1, 8, 9),
                    'calendar_end': dt.datetime(2030, 1, 8, 11),
                    'starts_at': dt.datetime(2030, 1, 8, 9),
                    'ends_at': dt.datetime(2030, 1, 8, 11),
                    })
        self.assertEqual(self.event_row(event)[:2], ('pending_push', 3))
        # Without the instants (another client), the setters write them.
        with self.as_user(alice):
            Event.write([Event(event.id)], {
                    'calendar_end': dt.datetime(2030, 1, 8, 12)})
        event = Event(event.id)
        self.assertEqual(
            (event.starts_at, event.ends_at, event.local_version),
            (dt.datetime(2030, 1, 8, 9), dt.datetime(2030, 1, 8, 12), 4))

        # Events the sidecar pulled are pushed once changed too.
        pulled = self.create_event(
            calendar, 'pulled', all_day=True, start_date=dt.date(2030, 1, 9),
            end_date=dt.date(2030, 1, 9), detail={'summary': "Holiday"})
        self.assertEqual(self.event_row(pulled)[:2], ('synced', 0))
        with self.as_user(alice):
            Event.write([Event(pulled.id)], {
                    'end_date': dt.date(2030, 1, 10), 'location': "Beach"})
        self.assertEqual(self.event_row(pulled)[:2], ('pending_push', 1))

    @with_transaction()
    def test_event_on_change(self):
        "Test the calendar view's new events and moves fill the instants"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential = self.create_credentials()
        calendar = self.create_calendar(
            credential, sync_enabled=True, time_zone='Europe/Paris')

        event = Event(calendar=calendar)
        event.on_change_calendar()
        self.assertEqual(event.time_zone, 'Europe/Paris')
        event.calendar_start = dt.datetime(2030, 1, 7, 8)
        event.on_change_calendar_start()
        self.assertEqual(
            (event.all_day, event.starts_at, event.ends_at,
                event.calendar_end),
            (False, dt.datetime(2030, 1, 7, 8), dt.datetime(2030, 1, 7, 9),
                dt.datetime(2030, 1, 7, 9)))
        event.calendar_end = dt.datetime(2030, 1, 7, 10)
        event.on_change_calendar_end()
        self.assertEqual(event.ends_at, dt.datetime(2030, 1, 7, 10))
        # All day: the local days of the instants, and back.
        event.all_day = True
        event.on_change_all_day()
        self.assertEqual(
            (event.start_date, event.end_date),
            (dt.date(2030, 1, 7), dt.date(2030, 1, 7)))
        event = Event(
            calendar=calendar, time_zone='Europe/Paris', all_day=False,
            start_date=dt.date(2030, 1, 7))
        event.on_change_all_day()
        self.assertEqual(
            (event.starts_at, event.ends_at),
            (dt.datetime(2030, 1, 7, 8), dt.datetime(2030, 1, 7, 9)))

    @with_transaction()
    def test_event_delete_tombstone(self):
        "Test deleting an event leaves a tombstone for the sidecar"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Tombstone = pool.get('google_integration.event.tombstone')
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)
        alice = self.calendar_user(credential)
        pulled = self.create_event(
            calendar, 'pulled', visibility='private',
            starts_at=dt.datetime(2030, 1, 7, 9),
            ends_at=dt.datetime(2030, 1, 7, 10),
            detail={'summary': "Doctor"})
        made = self.appointment(calendar, "Lunch")
        made_id = made.google_id

        with self.as_user(alice):
            Event.delete([Event(pulled.id), Event(made.id)])
        self.assertEqual(Event.search([]), [])
        self.assertEqual(
            sorted((t.calendar, t.google_id, t.summary)
                for t in Tombstone.search([])),
            sorted([
                    (calendar, 'pulled', "Doctor"),
                    (calendar, made_id, "Lunch")]))

    @with_transaction()
    def test_event_delete_series(self):
        "Test deleting a series deletes its occurrences, one tombstone"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Tombstone = pool.get('google_integration.event.tombstone')
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)
        other = self.create_calendar(credential, 'other', sync_enabled=True)
        alice = self.calendar_user(credential)
        series = self.appointment(
            calendar, "Stand-up", repeat_frequency='weekly', repeat_count=3)
        occurrences = [
            self.create_event(
                calendar, f'{series.google_id}_203001{d:02d}T090000Z',
                recurring_event_id=series.google_id,
                starts_at=dt.datetime(2030, 1, d, 9),
                ends_at=dt.datetime(2030, 1, d, 10))
            for d in [7, 14]]
        # Same id in another calendar: not an occurrence of this series.
        stranger = self.create_event(
            other, 'stranger', recurring_event_id=series.google_id)
        single = self.create_event(calendar, 'single')
        series_id = series.google_id

        with self.as_user(alice):
            Event.delete([Event(series.id)])
        self.assertEqual(
            sorted(Event.search([]), key=lambda e: e.id),
            sorted([stranger, single], key=lambda e: e.id))
        self.assertEqual(
            [t.google_id for t in Tombstone.search([])], [series_id])
        self.assertEqual(
            Event.search([('id', 'in', [o.id for o in occurrences])]), [])

        # An occurrence alone is deleted at Google under its own id.
        occurrence = self.create_event(
            calendar, 'x_20300121T090000Z', recurring_event_id='x')
        with self.as_user(alice):
            Event.delete([Event(occurrence.id)])
        self.assertIn(
            'x_20300121T090000Z',
            [t.google_id for t in Tombstone.search([])])

    @with_transaction()
    def test_event_refused(self):
        "Test events of calendars Tryton may not change are refused"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential = self.create_credentials()
        alice = self.calendar_user(credential)
        cases = [
            ({'access_role': 'reader', 'sync_enabled': True},
                'its Google account may not change them '
                '(access role "Reader")'),
            ({'access_role': 'freeBusyReader', 'sync_enabled': True},
                '(access role "Free/Busy Reader")'),
            ({'sync_enabled': False}, 'its synchronization is off'),
            ({'sync_enabled': True, 'active': False},
                'Google no longer lists the calendar'),
            ]
        for i, (values, reason) in enumerate(cases):
            calendar = self.create_calendar(
                credential, f'calendar{i}', **values)
            event = self.create_event(
                calendar, 'pulled', starts_at=dt.datetime(2030, 1, 7, 9),
                ends_at=dt.datetime(2030, 1, 7, 10),
                detail={'summary': "Pulled"})
            with self.subTest(values=values), self.as_user(alice):
                for action in [
                        lambda: self.appointment(calendar),
                        lambda: Event.write(
                            [Event(event.id)], {'summary': "Changed"}),
                        lambda: Event.write(
                            [Event(event.id)], {'origin': None}),
                        lambda: Event.delete([Event(event.id)]),
                        lambda: Event.copy([Event(event.id)]),
                        ]:
                    with self.assertRaises(
                            exceptions.CalendarNotWritableError) as cm:
                        action()
                    self.assertIn(f'"calendar{i}"', cm.exception.message)
                    self.assertIn(reason, cm.exception.message)
                self.assertFalse(Event(event.id).can_edit)
        self.assertEqual(self.event_row(event)[:2], ('synced', 0))

    @with_transaction()
    def test_event_repeat(self):
        "Test only new events and series repeat, ending one way"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)
        series = self.appointment(
            calendar, "Stand-up", repeat_frequency='weekly', repeat_count=5)
        single = self.appointment(calendar)
        occurrence = self.create_event(
            calendar, 'x_20300107', recurring_event_id='x',
            starts_at=dt.datetime(2030, 1, 7, 9),
            ends_at=dt.datetime(2030, 1, 7, 10))

        Event.write([series], {
                'repeat_frequency': 'daily', 'repeat_count': None,
                'repeat_until': dt.date(2030, 2, 1)})
        self.assertEqual(self.event_row(series)[:2], ('pending_push', 2))
        for event, values, message in [
                (single, {'repeat_frequency': 'daily'}, 'Only a new event'),
                (occurrence, {'repeat_count': 2}, 'is an occurrence'),
                (series, {'repeat_frequency': None}, 'can not stop'),
                ]:
            with self.subTest(values=values):
                with self.assertRaises(exceptions.EventError) as cm:
                    Event.write([event], values)
                self.assertIn(message, cm.exception.message)
        # A write of no repeat on a single event changes nothing.
        Event.write([single], {'repeat_frequency': None})
        for values in [
                {'repeat_count': 3},
                {'repeat_until': dt.date(2029, 12, 31), 'repeat_count': None},
                ]:
            with self.subTest(values=values):
                with self.assertRaises(ValidationError):
                    Event.write([series], values)
        with self.assertRaises(ValidationError):
            self.appointment(
                calendar, repeat_frequency='weekly', repeat_count=0)

    @with_transaction()
    def test_event_copy(self):
        "Test duplicating an event makes a new appointment"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)
        alice = self.calendar_user(credential)
        pulled = self.create_event(
            calendar, 'abc_20300107T090000Z', ical_uid='abc@google.com',
            recurring_event_id='abc',
            original_start='2030-01-07T10:00:00+01:00',
            html_link='https://www.google.com/calendar/event?eid=abc',
            google_updated=dt.datetime(2029, 12, 1), all_day=False,
            starts_at=dt.datetime(2030, 1, 7, 9),
            ends_at=dt.datetime(2030, 1, 7, 10), visibility='public',
            status='confirmed', time_zone='Europe/Paris',
            detail={'summary': "Stand-up", 'location': "Room 1",
                'attendees': 'a@example.com'})

        with self.as_user(alice):
            copy, = Event.copy([Event(pulled.id)])
        copy = Event(copy.id)
        self.assertRegex(copy.google_id, r'^[0-9a-v]{26}$')
        for name in [
                'ical_uid', 'recurring_event_id', 'original_start',
                'html_link', 'google_updated']:
            self.assertIsNone(getattr(copy, name), msg=name)
        self.assertEqual(
            (copy.summary, copy.location, copy.attendees, copy.starts_at,
                copy.visibility, copy.time_zone, copy.sync_status,
                copy.local_version),
            ("Stand-up", "Room 1", 'a@example.com', pulled.starts_at,
                'public', 'Europe/Paris', 'pending_push', 1))

    @with_transaction()
    def test_event_members(self):
        "Test events filter by the owners of the accounts that see them"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential, owner, calendar, events = self.event_fixtures()
        colleague = self.create_user('colleague', 'group_google_calendar')
        outsider = self.create_user('outsider', 'group_google_calendar')
        theirs = self.create_credentials(owner=colleague.id)
        team = self.create_calendar(theirs, 'team', sync_enabled=True)
        meeting = self.create_event(team, 'meeting')
        # The colleague's account sees the owner's calendar too.
        self.insert(
            'google_integration.calendar.member', calendar=calendar.id,
            credential=theirs.id, access_role='reader')

        self.assertEqual(set(events['public'].members), {colleague, owner})
        self.assertEqual(meeting.members, (colleague,))
        with self.as_user(owner):
            self.assertEqual(
                len(Event.search([('members', '=', owner.id)])), 4)
            self.assertEqual(
                Event.search([('members', '!=', owner.id)]), [meeting])
            self.assertEqual(
                len(Event.search([('members', '=', colleague.id)])), 5)
            self.assertEqual(
                len(Event.search([('members.login', '=', 'owner')])), 4)
            self.assertEqual(
                Event.search([('members', 'not in', [owner.id])]), [meeting])
            self.assertEqual(
                Event.search([('members', '=', outsider.id)]), [])
            self.assertEqual(
                len(Event.search([('members', '!=', outsider.id)])), 5)

    @with_transaction()
    def test_event_detail_rule_members(self):
        "Test private events are read by owners and writers of the calendar"
        pool = Pool()
        Event = pool.get('google_integration.event')
        credential, owner, calendar, events = self.event_fixtures()
        private = events['private']
        writer = self.create_user('writer', 'group_google_calendar')
        reader = self.create_user('reader', 'group_google_calendar')
        for user, role in [(writer, 'writer'), (reader, 'reader')]:
            self.insert(
                'google_integration.calendar.member', calendar=calendar.id,
                credential=self.create_credentials(owner=user.id).id,
                access_role=role)

        for user, reads in [(writer, True), (reader, False), (owner, True)]:
            with self.subTest(user=user.login), self.as_user(user):
                event = Event(private.id)
                self.assertEqual(event.busy, not reads)
                self.assertEqual(event.can_edit, reads)
        # A reader of a calendar Tryton may change may not overwrite what
        # it may not read.
        with self.as_user(reader):
            with self.assertRaises(exceptions.EventDetailError):
                Event.write([Event(private.id)], {'summary': "Mine"})
            Event.write([Event(events['public'].id)], {'summary': "Ours"})
        # The owner's account reads only: its private events are busy to
        # the owner too.
        self.set_calendar(calendar, access_role='reader')
        with self.as_user(owner):
            self.assertTrue(Event(private.id).busy)

    @with_transaction()
    def test_sync_trigger(self):
        "Test saving a change queues the calendar's round, or nothing"
        pool = Pool()
        Event = pool.get('google_integration.event')
        cursor = Transaction().connection.cursor()
        cursor.execute(
            'SELECT tgrelid::regclass::text, tgname FROM pg_trigger '
            'WHERE tgfoid = %s::regprocedure',
            ('google_integration_queue_sync()',))
        self.assertEqual(sorted(cursor), [
                ('google_integration_event',
                    'google_integration_event_queue_sync'),
                ('google_integration_event',
                    'google_integration_event_queue_sync_update'),
                ('google_integration_event_tombstone',
                    'google_integration_event_tombstone_queue_sync'),
                ])
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)
        other = self.create_calendar(credential, 'other', sync_enabled=True)

        # No sidecar ever ran here: saves work, nothing is queued.
        cursor.execute('DROP SCHEMA IF EXISTS google_integration_jobs CASCADE')
        event = self.appointment(calendar)

        self.add_job_schema()
        calls = self.job_calls

        def reset():
            # A new transaction would queue again.
            self.reset_job_calls(
                'google_integration.queued_', 'google_integration_calendar')

        Event.write([event], {'summary': "Changed"})
        Event.write([event], {'location': "Room 1"})
        self.appointment(calendar)
        self.assertEqual(calls(), [(
                    'sync_calendar',
                    {'credential_id': credential.id,
                        'calendar_id': calendar.id},
                    f'calendar:{calendar.id}', 5,
                    f'sync_calendar:{calendar.id}')])
        reset()
        # Writes that change nothing to push queue nothing (the row is
        # synced).
        self.set_synced(event)
        reset()
        Event.write([event], {'summary': "Changed"})
        self.assertEqual(calls(), [])
        Event.delete([event])
        self.assertEqual([c[4] for c in calls()], [
                f'sync_calendar:{calendar.id}'])
        reset()
        self.appointment(other)
        self.assertEqual([c[4] for c in calls()], [
                f'sync_calendar:{other.id}'])
        reset()
        # The sidecar's own writes queue nothing, even of a pending row
        # (a merge keeps it pending without moving local_version).
        self.create_event(calendar, 'pulled')
        self.assertEqual(calls(), [])
        pending = self.appointment(calendar)
        reset()
        table = Event.__table__()
        cursor.execute(*table.update(
                [table.visibility], ['private'],
                where=table.id == pending.id))
        self.assertEqual(calls(), [])

        # An add_job that fails does not fail the save.
        self.break_add_job()
        reset()
        event = self.appointment(calendar, "Still saved")
        self.assertEqual(Event(event.id).summary, "Still saved")

    @with_transaction()
    def test_attendee_parties(self):
        "Test the attendees' parties are found by e-mail, in any case"
        pool = Pool()
        Party = pool.get('party.party')
        credential, owner, calendar, events = self.event_fixtures()
        alice, bob, _ = Party.create([{
                    'name': "Alice",
                    'contact_mechanisms': [
                        ('create', [{'type': 'email',
                                    'value': 'A@Example.com'}])],
                    }, {
                    'name': "Bob",
                    'contact_mechanisms': [
                        ('create', [{'type': 'email',
                                    'value': 'b@example.com'}, {
                                    'type': 'phone', 'value': '+3225551234'},
                                ])],
                    }, {
                    'name': "Carol",
                    'contact_mechanisms': [
                        ('create', [{'type': 'email',
                                    'value': 'carol@example.com'}])],
                    }])
        # The fixtures' attendees: a@example.com and b@example.com.
        self.assertEqual(events['public'].attendee_parties, (alice, bob))
        colleague = self.create_user('colleague', 'group_google_calendar')
        with self.as_user(colleague):
            Event = pool.get('google_integration.event')
            # Private: not even who attends.
            self.assertEqual(
                Event(events['private'].id).attendee_parties, ())

    # Conflicts (written by the sidecar, applied or dismissed by users).

    def create_conflict(self, calendar, event, kind, kept, lost, **values):
        Conflict = Pool().get('google_integration.event.conflict')
        return Conflict(self.insert(
                'google_integration.event.conflict', calendar=calendar.id,
                event=event.id if event else None,
                google_id=values.pop('google_id', event and event.google_id),
                kind=kind, winner=values.pop('winner', 'google'),
                fields=','.join(sorted(lost)), kept=json.dumps(kept),
                lost=json.dumps(lost), state='open', **values))

    @with_transaction()
    def test_conflict_apply_edit(self):
        "Test Apply writes the lost version onto the event, to be pushed"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Conflict = pool.get('google_integration.event.conflict')
        credential = self.create_credentials()
        calendar = self.create_calendar(
            credential, sync_enabled=True, time_zone='Europe/Paris')
        alice = self.calendar_user(credential)
        event = self.create_event(
            calendar, 'e1', starts_at=dt.datetime(2026, 12, 1, 9),
            ends_at=dt.datetime(2026, 12, 1, 10), time_zone='Europe/Paris',
            all_day=False,
            detail={'summary': "Google's", 'attendees': 'a@example.com'})
        conflict = self.create_conflict(calendar, event, 'edit', kept={
                'summary': "Google's",
                'attendees': ['a@example.com'],
                'when': {
                    'all_day': False, 'starts_at': '2026-12-01T09:00:00Z',
                    'ends_at': '2026-12-01T10:00:00Z',
                    'time_zone': 'Europe/Paris'},
                }, lost={
                'summary': "Tryton's",
                'attendees': ['a@example.com', 'b@example.com'],
                'when': {
                    'all_day': True, 'start_date': '2026-12-01',
                    'end_date': '2026-12-02', 'time_zone': 'Europe/Paris'},
                })

        with self.as_user(alice):
            conflict = Conflict(conflict.id)
            self.assertEqual(conflict.rec_name, "Google's")
            self.assertEqual(
                conflict.field_labels, "Attendees, Summary, When")
            self.assertEqual(
                conflict.kept_version.replace('\xa0', ' ').splitlines(), [
                    "Summary: Google's",
                    "When: 12/01/2026 10:00 to 12/01/2026 11:00 "
                    "(Europe/Paris)",
                    "Attendees: a@example.com",
                    ])
            self.assertEqual(
                conflict.lost_version.replace('\xa0', ' ').splitlines(), [
                    "Summary: Tryton's",
                    "When: 12/01/2026 to 12/02/2026, all day",
                    "Attendees: a@example.com, b@example.com",
                    ])
            # Users change conflicts with the buttons only.
            with self.assertRaises(AccessError):
                Conflict.write([conflict], {'state': 'dismissed'})
            Conflict.apply([conflict])
        event = Event(event.id)
        self.assertEqual(
            (event.summary, event.attendees, event.all_day, event.start_date,
                event.end_date, event.starts_at),
            ("Tryton's", 'a@example.com\nb@example.com', True,
                dt.date(2026, 12, 1), dt.date(2026, 12, 2), None))
        self.assertEqual(self.event_row(event)[:2], ('pending_push', 1))
        self.assertEqual(Conflict(conflict.id).state, 'applied')

        # Once applied, the buttons are gone; on a reader calendar Apply
        # is refused.
        self.set_calendar(calendar, access_role='reader')
        other = self.create_conflict(
            calendar, event, 'edit', kept={'location': None},
            lost={'location': "Room 2"})
        with self.as_user(alice):
            with self.assertRaises(exceptions.CalendarNotWritableError):
                Conflict.apply([Conflict(other.id)])

    @with_transaction()
    def test_conflict_apply_delete(self):
        "Test Apply of a deletion conflict makes the event again"
        pool = Pool()
        Conflict = pool.get('google_integration.event.conflict')
        credential = self.create_credentials()
        calendar = self.create_calendar(
            credential, sync_enabled=True, time_zone='Europe/Paris')
        alice = self.calendar_user(credential)
        conflict = self.create_conflict(
            calendar, None, 'delete', google_id='deleted', kept={}, lost={
                'summary': "Offsite", 'description': None,
                'location': "Lyon", 'attendees': [],
                'visibility': 'default', 'status': 'confirmed',
                'when': {
                    'all_day': False, 'starts_at': '2026-12-01T09:00:00Z',
                    'ends_at': '2026-12-01T17:00:00Z', 'time_zone': None},
                'repeat': {'frequency': 'weekly', 'count': 5, 'until': None},
                })

        with self.as_user(alice):
            conflict = Conflict(conflict.id)
            self.assertEqual(conflict.rec_name, "Offsite")
            self.assertEqual(conflict.kept_version, "Deleted")
            self.assertIn(
                "When: 12/01/2026 09:00 to 12/01/2026 17:00 (UTC)",
                conflict.lost_version.replace('\xa0', ' '))
            self.assertIn("Repeat: Weekly, 5 times", conflict.lost_version)
            Conflict.apply([conflict])
        conflict = Conflict(conflict.id)
        event = conflict.event
        self.assertEqual(conflict.state, 'applied')
        self.assertNotEqual(event.google_id, 'deleted')
        self.assertEqual(
            (event.summary, event.location, event.starts_at, event.ends_at,
                event.time_zone, event.repeat_frequency, event.repeat_count,
                event.sync_status, event.local_version),
            ("Offsite", "Lyon", dt.datetime(2026, 12, 1, 9),
                dt.datetime(2026, 12, 1, 17), 'Europe/Paris', 'weekly', 5,
                'pending_push', 1))

    @with_transaction()
    def test_conflict_dismiss(self):
        "Test Dismiss keeps the event as it is"
        pool = Pool()
        Conflict = pool.get('google_integration.event.conflict')
        Calendar = pool.get('google_integration.calendar')
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)
        alice = self.calendar_user(credential)
        event = self.create_event(calendar, 'e1', detail={'summary': "Kept"})
        conflict = self.create_conflict(
            calendar, event, 'edit', kept={'summary': "Kept"},
            lost={'summary': "Lost"})
        self.assertEqual(Calendar(calendar.id).conflicts, (conflict,))

        with self.as_user(alice):
            Conflict.dismiss([Conflict(conflict.id)])
        self.assertEqual(Conflict(conflict.id).state, 'dismissed')
        self.assertEqual(self.event_row(event)[:2], ('synced', 0))
        self.assertEqual(Calendar(calendar.id).conflicts, ())
        # The event goes, the conflict stays.
        Pool().get('google_integration.event').delete([event])
        self.assertIsNone(Conflict(conflict.id).event)
