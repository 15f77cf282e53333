# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""What the module's test cases share: the test case on the activated
module, the writes the sidecar makes with SQL, graphile-worker's add_job,
credentials, users, calendars and events (the fake sidecar is
fake_sidecar.py's)"""
import datetime as dt
import json

from lxml import etree

from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase
from trytond.transaction import Transaction

# graphile-worker's add_job (its signature), recording its calls, or
# failing as a broken job queue does.
_ADD_JOB = (
    'google_integration_jobs.add_job('
    'identifier text, payload json DEFAULT NULL, '
    'queue_name text DEFAULT NULL, run_at timestamptz DEFAULT NULL, '
    'max_attempts integer DEFAULT NULL, job_key text DEFAULT NULL, '
    'priority integer DEFAULT NULL, flags text[] DEFAULT NULL, '
    "job_key_mode text DEFAULT 'replace') RETURNS void ")
ADD_JOB = (
    f'CREATE FUNCTION {_ADD_JOB}'
    'LANGUAGE sql AS $$ INSERT INTO google_integration_jobs.calls '
    'VALUES (identifier, payload, queue_name, run_at, max_attempts, '
    'job_key) $$')
BROKEN_ADD_JOB = (
    f'CREATE OR REPLACE FUNCTION {_ADD_JOB}'
    "LANGUAGE plpgsql AS $$ BEGIN RAISE 'queue is broken'; END $$")


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def clear_cache(*names):
    "Forget what the transaction read of the models, as after a write"
    for cache in Transaction().cache.values():
        for name in names:
            cache.pop(name, None)


class _Both:
    "Enter two context managers"

    def __init__(self, first, second):
        self.managers = [first, second]

    def __enter__(self):
        for manager in self.managers:
            manager.__enter__()

    def __exit__(self, *exc):
        for manager in reversed(self.managers):
            manager.__exit__(*exc)


class DatabaseTestCase(RouteTestCase):
    """A test case on a database where the module is activated, with party
    (its optional dependency, as test_module's ModuleTestCase does)

    Without ModuleTestCase's standard checks, which test_module runs once;
    RouteTestCase is trytond's case on an activated module that adds none.
    """
    module = 'google_integration'
    extras = ['party']


class RecordsTestMixin:
    "Records as users make them, and rows as the sidecar writes them"

    def create_credentials(self, name="Main", **values):
        Credentials = Pool().get('google_integration.google_credentials')
        record, = Credentials.create([{
                    'name': name,
                    'client_id': 'id.apps.googleusercontent.com',
                    'client_secret': 'secret',
                    'redirect_uri': 'http://127.0.0.1:8200/db/google/callback',
                    **values}])
        return record

    def create_user(self, login, *groups):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user, = User.create([{
                    'name': login.title(), 'login': login,
                    'groups': [('add', [
                                ModelData.get_id('google_integration', g)
                                for g in groups])],
                    }])
        return user

    def as_user(self, user):
        "Act as user through RPC: access rights and record rules apply"
        transaction = Transaction()
        return _Both(
            transaction.set_user(user.id),
            transaction.set_context(_check_access=True))

    def insert(self, model, **values):
        "Insert a row as the sidecar does: SQL, root's stamps; return its id"
        Model = Pool().get(model)
        table = Model.__table__()
        cursor = Transaction().connection.cursor()
        now = utcnow()
        values = {
            'create_uid': 0, 'create_date': now,
            'write_uid': 0, 'write_date': now, **values}
        cursor.execute(*table.insert(
                [getattr(table, c) for c in values], [list(values.values())],
                returning=[table.id]))
        id_, = cursor.fetchone()
        clear_cache(Model.__name__)
        return id_

    def set_columns(self, record, **values):
        """Write columns of the record as the sidecar does: in SQL, behind
        Tryton's back; return the record read again"""
        Model = Pool().get(record.__name__)
        table = Model.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [getattr(table, c) for c in values], list(values.values()),
                where=table.id == record.id))
        clear_cache(Model.__name__)
        return Model(record.id)

    def add_job_schema(self):
        """Create graphile-worker's schema, whose add_job records its calls,
        as a sidecar that ran in the database does"""
        cursor = Transaction().connection.cursor()
        cursor.execute('DROP SCHEMA IF EXISTS google_integration_jobs CASCADE')
        cursor.execute('CREATE SCHEMA google_integration_jobs')
        cursor.execute(
            'CREATE TABLE google_integration_jobs.calls ('
            'identifier text, payload json, queue_name text, '
            'run_at timestamptz, max_attempts integer, job_key text)')
        cursor.execute(ADD_JOB)

    def job_calls(self):
        "The calls of add_job: (identifier, payload, queue, attempts, key)"
        cursor = Transaction().connection.cursor()
        cursor.execute(
            'SELECT identifier, payload::text, queue_name, max_attempts, '
            'job_key FROM google_integration_jobs.calls')
        return [(i, json.loads(p), q, m, k) for i, p, q, m, k in cursor]

    def reset_job_calls(self, setting, table):
        """Forget the calls of add_job, and the settings (setting || id, per
        row of table) that remember this transaction queued: a new
        transaction would queue again"""
        cursor = Transaction().connection.cursor()
        cursor.execute('DELETE FROM google_integration_jobs.calls')
        cursor.execute(
            f"SELECT set_config('{setting}' || id, '', true) FROM {table}")

    def break_add_job(self):
        "Make add_job fail"
        Transaction().connection.cursor().execute(BROKEN_ADD_JOB)


class CalendarTestMixin(RecordsTestMixin):
    """Calendars, events and their users, as the calendar tests make them:
    calendars and events as the sidecar writes them (SQL, as root),
    appointments as users make them (the ORM)"""

    def create_calendar(self, credential, google_id='primary', **values):
        Calendar = Pool().get('google_integration.calendar')
        values.setdefault('name', google_id)
        values.setdefault('access_role', 'owner')
        return Calendar(self.insert(
                'google_integration.calendar', credential=credential.id,
                google_id=google_id, **values))

    def create_event(self, calendar, google_id, detail=None, **values):
        Event = Pool().get('google_integration.event')
        event = Event(self.insert(
                'google_integration.event', calendar=calendar.id,
                google_id=google_id, sync_status='synced', **values))
        if detail is not None:
            self.insert(
                'google_integration.event.detail', event=event.id, **detail)
        return event

    def event_fixtures(self):
        "A credential owned by a user, a calendar and all kinds of events"
        credential = self.create_credentials()
        owner = self.create_user('owner', 'group_google_calendar')
        credential.owner = owner
        credential.save()
        calendar = self.create_calendar(
            credential, color='#fbe983', sync_enabled=True,
            time_zone='Europe/Paris')
        events = {}
        for visibility in ['default', 'public', 'private', 'confidential']:
            events[visibility] = self.create_event(
                calendar, visibility, visibility=visibility,
                starts_at=dt.datetime(2030, 1, 7, 9),
                ends_at=dt.datetime(2030, 1, 7, 10),
                all_day=False, status='confirmed', detail={
                    'summary': f"{visibility.title()} meeting",
                    'description': "Agenda", 'location': "Room 1",
                    'attendees': "a@example.com\nb@example.com",
                    })
        return credential, owner, calendar, events

    def calendar_user(self, credential=None, login='alice'):
        "A user of the Google Calendar group, owner of credential"
        user = self.create_user(login, 'group_google_calendar')
        if credential is not None:
            credential.owner = user
            credential.save()
        return user

    def appointment(self, calendar, summary="Meeting", **values):
        "An event made in Tryton, through the ORM"
        Event = Pool().get('google_integration.event')
        values.setdefault('starts_at', dt.datetime(2030, 1, 7, 9))
        values.setdefault('ends_at', dt.datetime(2030, 1, 7, 10))
        event, = Event.create([{
                    'calendar': calendar.id, 'summary': summary, **values}])
        return event

    def event_row(self, event):
        "The columns of the event as the sidecar reads them"
        cursor = Transaction().connection.cursor()
        cursor.execute(
            'SELECT sync_status, local_version, local_write '
            'FROM google_integration_event WHERE id = %s', (event.id,))
        return cursor.fetchone()

    def set_synced(self, event):
        "What the sidecar writes once Google has the event"
        cursor = Transaction().connection.cursor()
        cursor.execute(
            'UPDATE google_integration_event SET sync_status = %s '
            'WHERE id = %s', ('synced', event.id))

    def set_calendar(self, calendar, **values):
        "Write the calendar as the sidecar does"
        self.set_columns(calendar, **values)
        # What the transaction read of its events depends on it too.
        for cache in Transaction().cache.values():
            cache.clear()

    def view_fields(self, Model, view_type):
        "The names of the fields and labels of the view, and its fields"
        view = Model.fields_view_get(view_type=view_type)
        arch = etree.fromstring(view['arch'])
        return (
            {e.get('name') for e in arch.iter('field')},
            {e.get('name') for e in arch.iter('label')},
            view['fields'])
