# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""Google calendars and their members: the tables the sidecar writes, Fetch
Calendars and Sync Now, what the credentials show of the synchronization,
the merge of team calendars (docs/contracts.md, "Calendar synchronization"
and "Team calendars")"""
import datetime as dt
from unittest.mock import patch

from trytond.bus import Bus
from trytond.modules.google_integration import exceptions
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder, PYSONEncoder
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .fake_sidecar import SidecarTestMixin
from .tools import CalendarTestMixin, DatabaseTestCase


class CalendarTestCase(SidecarTestMixin, CalendarTestMixin, DatabaseTestCase):
    "Test the calendars"

    @with_transaction()
    def test_calendar_columns(self):
        "Test the calendar tables are those of the contract"
        pool = Pool()
        cursor = Transaction().connection.cursor()
        expected = {
            'google_integration_calendar': {
                'credential': ('int4', True), 'google_id': ('varchar', True),
                'name': ('varchar', False), 'time_zone': ('varchar', False),
                'access_role': ('varchar', False),
                'color': ('varchar', False), 'is_primary': ('bool', False),
                'active': ('bool', False), 'sync_enabled': ('bool', False),
                'sync_status': ('varchar', False),
                'last_sync': ('timestamp', False),
                'last_sync_created': ('int4', False),
                'last_sync_updated': ('int4', False),
                'last_sync_deleted': ('int4', False),
                'last_sync_pushed': ('int4', False),
                'last_sync_conflicts': ('int4', False),
                'notify_attendees': ('bool', False),
                'last_error': ('text', False),
                'sync_notice': ('text', False),
                'channel_status': ('varchar', False),
                'channel_expires': ('timestamp', False),
                },
            'google_integration_google_credentials': {
                'calendar_list_channel': ('varchar', False),
                },
            'google_integration_calendar_member': {
                'calendar': ('int4', True), 'credential': ('int4', True),
                'access_role': ('varchar', False),
                'name': ('varchar', False), 'color': ('varchar', False),
                'is_primary': ('bool', False),
                },
            'google_integration_event': {
                'calendar': ('int4', True), 'google_id': ('varchar', True),
                'ical_uid': ('varchar', False),
                'recurring_event_id': ('varchar', False),
                'original_start': ('varchar', False),
                'all_day': ('bool', False), 'start_date': ('date', False),
                'end_date': ('date', False),
                'starts_at': ('timestamp', False),
                'ends_at': ('timestamp', False),
                'time_zone': ('varchar', False),
                'visibility': ('varchar', False),
                'status': ('varchar', False), 'html_link': ('varchar', False),
                'google_updated': ('timestamp', False),
                'sync_status': ('varchar', False),
                'local_version': ('int4', True),
                'local_write': ('timestamp', False),
                'repeat_frequency': ('varchar', False),
                'repeat_count': ('int4', False),
                'repeat_until': ('date', False),
                'origin': ('varchar', False),
                },
            'google_integration_event_tombstone': {
                'calendar': ('int4', True), 'google_id': ('varchar', True),
                'summary': ('varchar', False),
                },
            'google_integration_event_conflict': {
                'calendar': ('int4', True), 'event': ('int4', False),
                'google_id': ('varchar', True), 'kind': ('varchar', False),
                'winner': ('varchar', False), 'fields': ('varchar', False),
                'kept': ('text', False), 'lost': ('text', False),
                'state': ('varchar', False),
                },
            'google_integration_event_detail': {
                'event': ('int4', True), 'summary': ('varchar', False),
                'description': ('text', False),
                'location': ('varchar', False),
                'attendees': ('text', False),
                },
            }
        for table, columns in expected.items():
            cursor.execute(
                'SELECT column_name, udt_name, is_nullable, '
                'datetime_precision, column_default '
                'FROM information_schema.columns '
                'WHERE table_schema = current_schema() AND table_name = %s',
                (table,))
            found = {r[0]: r[1:] for r in cursor}
            for column, (type_, not_null) in columns.items():
                with self.subTest(table=table, column=column):
                    self.assertIn(column, found)
                    udt, nullable, precision, _ = found[column]
                    self.assertEqual(udt, type_)
                    self.assertEqual(nullable == 'NO', not_null)
                    if type_ == 'timestamp':
                        # TIMESTAMP, as the contract says, not TIMESTAMP(0)
                        self.assertEqual(precision, 6)
        # The defaults the sidecar's INSERTs rely on.
        for table, column, default in [
                ('google_integration_calendar', 'active', 'true'),
                ('google_integration_calendar', 'notify_attendees', 'false'),
                ('google_integration_event', 'local_version', '0'),
                ('google_integration_event', 'sync_status',
                    "'synced'::character varying"),
                ('google_integration_event_conflict', 'state',
                    "'open'::character varying"),
                ]:
            with self.subTest(table=table, column=column):
                cursor.execute(
                    'SELECT column_default FROM information_schema.columns '
                    'WHERE table_schema = current_schema() '
                    'AND table_name = %s AND column_name = %s',
                    (table, column))
                self.assertEqual(cursor.fetchone()[0], default)

        # Foreign keys cascade; the owner of credentials is set to NULL.
        cursor.execute(
            'SELECT conrelid::regclass::text, pg_get_constraintdef(oid) '
            'FROM pg_constraint WHERE contype = %s '
            'AND conrelid::regclass::text LIKE %s',
            ('f', 'google_integration_%'))
        keys = {(t, d) for t, d in cursor}
        for table, definition in [
                ('google_integration_calendar',
                    'FOREIGN KEY (credential) REFERENCES '
                    'google_integration_google_credentials(id) '
                    'ON DELETE CASCADE'),
                ('google_integration_event',
                    'FOREIGN KEY (calendar) REFERENCES '
                    'google_integration_calendar(id) ON DELETE CASCADE'),
                ('google_integration_event_detail',
                    'FOREIGN KEY (event) REFERENCES '
                    'google_integration_event(id) ON DELETE CASCADE'),
                ('google_integration_calendar_member',
                    'FOREIGN KEY (calendar) REFERENCES '
                    'google_integration_calendar(id) ON DELETE CASCADE'),
                ('google_integration_calendar_member',
                    'FOREIGN KEY (credential) REFERENCES '
                    'google_integration_google_credentials(id) '
                    'ON DELETE CASCADE'),
                ('google_integration_event_tombstone',
                    'FOREIGN KEY (calendar) REFERENCES '
                    'google_integration_calendar(id) ON DELETE CASCADE'),
                ('google_integration_event_conflict',
                    'FOREIGN KEY (calendar) REFERENCES '
                    'google_integration_calendar(id) ON DELETE CASCADE'),
                ('google_integration_event_conflict',
                    'FOREIGN KEY (event) REFERENCES '
                    'google_integration_event(id) ON DELETE SET NULL'),
                ('google_integration_google_credentials',
                    'FOREIGN KEY (owner) REFERENCES res_user(id) '
                    'ON DELETE SET NULL'),
                ]:
            self.assertIn((table, definition), keys)
        self.assertIsNotNone(pool.get('google_integration.calendar'))

    @with_transaction()
    def test_calendar_unique_and_defaults(self):
        "Test the sidecar's upserts find their unique keys and defaults"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        cursor = Transaction().connection.cursor()
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_status='never')
        self.assertTrue(calendar.active)
        self.assertFalse(calendar.sync_enabled)
        event = self.create_event(
            calendar, 'e1', detail={'summary': "Stand-up"})

        # The sidecar's statements (src/db/): one calendar per Google
        # calendar, whichever account lists it.
        other = self.create_credentials()
        cursor.execute(
            'INSERT INTO google_integration_calendar '
            '(credential, google_id, name) VALUES (%s, %s, %s) '
            'ON CONFLICT (google_id) '
            'DO UPDATE SET name = excluded.name',
            (other.id, 'primary', 'Renamed'))
        for member in [credential, other]:
            cursor.execute(
                'INSERT INTO google_integration_calendar_member '
                '(calendar, credential, access_role) VALUES (%s, %s, %s) '
                'ON CONFLICT (calendar, credential) '
                'DO UPDATE SET access_role = excluded.access_role',
                (calendar.id, member.id, 'writer'))
        cursor.execute(
            'INSERT INTO google_integration_event (calendar, google_id) '
            'VALUES (%s, %s) ON CONFLICT (calendar, google_id) DO NOTHING',
            (calendar.id, 'e1'))
        cursor.execute(
            'INSERT INTO google_integration_event (calendar, google_id) '
            'VALUES (%s, %s) RETURNING sync_status, local_version',
            (calendar.id, 'e2'))
        self.assertEqual(cursor.fetchone(), ('synced', 0))
        cursor.execute(
            'INSERT INTO google_integration_event_detail (event, summary) '
            'VALUES (%s, %s) ON CONFLICT (event) '
            'DO UPDATE SET summary = excluded.summary', (event.id, "Daily"))
        cursor.execute(
            'INSERT INTO google_integration_event_tombstone '
            '(calendar, google_id) VALUES (%s, %s) '
            'ON CONFLICT (calendar, google_id) DO NOTHING',
            (calendar.id, 'gone'))
        cursor.execute(
            'INSERT INTO google_integration_event_conflict '
            '(calendar, event, google_id, kind, winner, fields, kept, lost) '
            'VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING state',
            (calendar.id, event.id, 'e1', 'edit', 'google', 'summary',
                '{"summary": "Daily"}', '{"summary": "Stand-up"}'))
        self.assertEqual(cursor.fetchone(), ('open',))
        self.assertEqual(Calendar.search([], count=True), 1)

        # Deleting the credentials deletes their calendars and events.
        cursor.execute(
            'DELETE FROM google_integration_google_credentials '
            'WHERE id = %s', (credential.id,))
        for table in [
                'google_integration_event', 'google_integration_event_detail',
                'google_integration_calendar_member',
                'google_integration_event_tombstone',
                'google_integration_event_conflict']:
            cursor.execute(f'SELECT count(*) FROM {table}')
            self.assertEqual(cursor.fetchone()[0], 0, msg=table)

    @with_transaction()
    def test_calendar_copy(self):
        "Test calendars are not duplicated, nor with credentials"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        Credentials = pool.get('google_integration.google_credentials')
        credential, owner, calendar, events = self.event_fixtures()

        with self.assertRaises(exceptions.CopyError):
            Calendar.copy([calendar])
        self.assertEqual(Calendar.copy([]), [])
        copy, = Credentials.copy([credential])
        self.assertEqual(copy.calendars, ())
        self.assertEqual(copy.owner, owner)
        self.assertEqual(Calendar.search([], count=True), 1)

    COUNTS = [
        'last_sync_created', 'last_sync_updated', 'last_sync_deleted',
        'last_sync_pushed', 'last_sync_conflicts']

    def counts(self, credential):
        "The counts the credentials show, read as the client does"
        Credentials = Pool().get('google_integration.google_credentials')
        row, = Credentials.read([credential.id], self.COUNTS)
        return tuple(row[n] for n in self.COUNTS)

    @with_transaction()
    def test_credentials_last_sync(self):
        "Test credentials show what their last synchronization did"
        Credentials = Pool().get('google_integration.google_credentials')
        credential = self.create_credentials()
        other = self.create_credentials("Other")
        # What the sidecar writes at the end of each calendar's round, then
        # at the end of the run (the credentials' last_sync).
        end = dt.datetime(2030, 1, 8, 9, 0, 30, 123456)
        self.create_calendar(
            credential, 'a', name="Work", sync_enabled=True,
            sync_status='ok', last_sync=end - dt.timedelta(milliseconds=40),
            last_sync_created=2, last_sync_updated=1, last_sync_deleted=0,
            last_sync_pushed=4, last_sync_conflicts=1)
        # A calendar that failed since keeps the counts of its last success.
        self.create_calendar(
            credential, 'b', name="Holidays", sync_enabled=True,
            sync_status='failing', last_sync=end - dt.timedelta(seconds=20),
            last_sync_created=1, last_sync_updated=0, last_sync_deleted=3,
            last_sync_pushed=1, last_sync_conflicts=0,
            last_error="Google said no")
        # A quiet calendar: its last round that changed something was an
        # earlier run's, whose counts are not the last one's.
        quiet = self.create_calendar(
            credential, 'c', name="Team", sync_enabled=True,
            sync_status='ok', last_sync=end - dt.timedelta(minutes=5),
            last_sync_created=7, last_sync_updated=7, last_sync_deleted=7,
            last_sync_pushed=7, last_sync_conflicts=7)
        self.create_calendar(
            credential, 'd', name="Off", sync_enabled=False,
            last_sync_created=100, last_error="old")
        self.create_calendar(
            other, 'e', sync_enabled=True, sync_status='ok', last_sync=end,
            last_sync_created=50)

        # Before their first synchronization, the credentials say nothing.
        self.assertEqual(self.counts(credential), (None,) * 5)
        credential = self.set_columns(credential, last_sync=end)
        self.assertEqual(self.counts(credential), (3, 1, 3, 5, 1))
        self.assertEqual(
            credential.last_sync_error, "Holidays: Google said no")
        self.assertEqual(len(credential.calendars), 4)
        self.assertEqual(
            [c.name for c in credential.last_run_calendars],
            ["Holidays", "Work"])

        # A round that ended after it belongs to the next synchronization;
        # once it ends, the credentials show that one only.
        later = end + dt.timedelta(minutes=5)
        self.set_columns(
            quiet, last_sync=later - dt.timedelta(seconds=1),
            last_sync_created=0, last_sync_updated=1, last_sync_deleted=0,
            last_sync_pushed=0, last_sync_conflicts=0)
        self.assertEqual(self.counts(credential), (3, 1, 3, 5, 1))
        credential = self.set_columns(credential, last_sync=later)
        self.assertEqual(self.counts(credential), (0, 1, 0, 0, 0))
        # Read together, each credentials' own.
        rows = Credentials.read(
            [credential.id, other.id], ['last_sync_created'])
        self.assertEqual(
            {r['id']: r['last_sync_created'] for r in rows},
            {credential.id: 0, other.id: None})

    @with_transaction()
    def test_fetch_calendars(self):
        "Test Fetch Calendars calls the sidecar, notifies and reloads"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        self.sidecar.result({'calendars': [
                    {'id': 1, 'google_id': 'primary', 'name': "Main",
                        'sync_enabled': False},
                    {'id': 2, 'google_id': 'team', 'name': "Team",
                        'sync_enabled': False},
                    ]})

        with self.sidecar_config(), \
                patch.object(Bus, 'publish') as publish, \
                Transaction().set_context(client='bus-id'):
            result = Credentials.fetch_calendars([record])

        self.assertEqual(result, 'reload')
        request, = self.sidecar.requests
        self.assertEqual(
            request['json']['method'], 'calendar.list_calendars')
        self.assertEqual(request['json']['params'], {
                'database': Transaction().database.name,
                'credential_id': record.id,
                })
        (channel, message), _ = publish.call_args
        self.assertEqual(
            message['title'],
            'Google lists 2 calendars for credentials "Main".')

    @with_transaction()
    def test_sync_now(self):
        "Test Sync Now calls the sidecar and notifies what it did"
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        Calendar = pool.get('google_integration.calendar')
        record = self.create_credentials()
        calendar = self.create_calendar(record, sync_enabled=True)
        answer = {
            'calendars': 1, 'created': 3, 'updated': 2, 'deleted': 1,
            'pushed': 4, 'conflicts': 0}
        self.sidecar.result(answer)
        self.sidecar.result(dict(answer, conflicts=2))

        with self.sidecar_config(), \
                patch.object(Bus, 'publish') as publish, \
                Transaction().set_context(client='bus-id'):
            self.assertEqual(Credentials.sync_now([record]), 'reload')
            self.assertEqual(Calendar.sync_now([calendar]), 'reload')

        database = Transaction().database.name
        self.assertEqual(
            [(r['json']['method'], r['json']['params'])
                for r in self.sidecar.requests], [
                ('calendar.sync',
                    {'database': database, 'credential_id': record.id}),
                ('calendar.sync', {
                        'database': database, 'credential_id': record.id,
                        'calendar_id': calendar.id}),
                ])
        (_, first), _ = publish.call_args_list[0]
        self.assertEqual(
            first['title'],
            'Google calendars of "Main" synchronized: '
            '3 created, 2 updated, 1 deleted in Tryton, '
            '4 changes sent to Google.')
        self.assertIsNone(first['body'])
        (_, second), _ = publish.call_args_list[1]
        self.assertIn('"primary"', second['title'])
        self.assertEqual(
            second['body'],
            "2 events changed in both Tryton and Google: "
            "see the Conflicts of the calendar.")

    @with_transaction()
    def test_sync_errors(self):
        "Test the calendar methods raise the sidecar's errors, new ones too"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        self.sidecar.error(-32003, "not authorized", 'not_authorized')
        self.sidecar.error(-32011, "Calendar gone", 'calendar_not_found')

        with self.sidecar_config():
            with self.assertRaises(exceptions.NotAuthorizedError) as cm:
                Credentials.sync_now([record])
            self.assertIn('"Main"', cm.exception.message)
            with self.assertRaises(exceptions.SidecarError) as cm:
                Credentials.fetch_calendars([record])
            self.assertEqual(
                cm.exception.description,
                "Calendar gone (calendar_not_found)")

    @with_transaction()
    def test_calendar_buttons_visibility(self):
        "Test Sync Now on a calendar needs it enabled and authorized"
        Calendar = Pool().get('google_integration.calendar')
        encoder, decoder = PYSONEncoder(), PYSONDecoder
        states = Calendar._buttons['sync_now']
        for values, visible in [
                ({'sync_enabled': True, 'credential_state': 'authorized',
                    'active': True}, True),
                ({'sync_enabled': False, 'credential_state': 'authorized',
                    'active': True}, False),
                ({'sync_enabled': True,
                    'credential_state': 'authorization_expired',
                    'active': True}, False),
                ({'sync_enabled': True, 'credential_state': 'authorized',
                    'active': False}, False),
                ]:
            with self.subTest(values=values):
                self.assertEqual(not decoder(values).decode(
                        encoder.encode(states['invisible'])), visible)

    @with_transaction()
    def test_calendar_migration(self):
        "Test updating merges the calendars of one Google calendar"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        Member = pool.get('google_integration.calendar.member')
        Event = pool.get('google_integration.event')
        cursor = Transaction().connection.cursor()
        # The shape before the two-way release: one row per account.
        cursor.execute(
            'ALTER TABLE google_integration_calendar '
            'DROP CONSTRAINT google_integration_calendar_google_id_unique')
        first, second, third = (self.create_credentials() for _ in range(3))
        team = [
            self.create_calendar(
                credential, 'team@group.calendar.google.com',
                name=f"Team {i}", access_role=role, color=color,
                sync_enabled=enabled, is_primary=False)
            for i, (credential, role, color, enabled) in enumerate([
                    (first, 'reader', '#000000', False),
                    (second, 'owner', '#ffffff', True),
                    (third, 'writer', '#ff0000', False),
                    ])]
        alone = self.create_calendar(
            first, 'first@example.com', is_primary=True)
        for calendar in team:
            self.create_event(calendar, 'e1', detail={'summary': "Copy"})

        Calendar._merge_team_calendars()
        Transaction().cache.clear()

        kept = min(team, key=lambda c: c.id)
        self.assertEqual(
            sorted(c.id for c in Calendar.search([])),
            sorted([kept.id, alone.id]))
        self.assertTrue(Calendar(kept.id).sync_enabled)
        self.assertEqual(
            sorted((m.calendar.id, m.credential.id, m.access_role, m.name,
                    m.color, m.is_primary) for m in Member.search([])),
            sorted([
                    (kept.id, first.id, 'reader', "Team 0", '#000000',
                        False),
                    (kept.id, second.id, 'owner', "Team 1", '#ffffff',
                        False),
                    (kept.id, third.id, 'writer', "Team 2", '#ff0000',
                        False),
                    (alone.id, first.id, 'owner', 'first@example.com',
                        None, True),
                    ]))
        self.assertEqual(
            [e.calendar for e in Event.search([])], [Calendar(kept.id)])
        # Done again, it changes nothing; then the constraint holds.
        Calendar._merge_team_calendars()
        self.assertEqual(Member.search([], count=True), 4)
        cursor.execute(
            'ALTER TABLE google_integration_calendar '
            'ADD CONSTRAINT google_integration_calendar_google_id_unique '
            'UNIQUE (google_id)')
