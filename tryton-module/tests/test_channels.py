# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""Push notifications: the health of the channels the sidecar writes, which
Tryton only shows (docs/contracts.md, "Push notifications")"""
import datetime as dt
import os

from lxml import etree

from trytond.model.exceptions import AccessError
from trytond.modules.google_integration import (
    credentials as credentials_module, exceptions)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import CalendarTestMixin, DatabaseTestCase, clear_cache


class ChannelsTestCase(CalendarTestMixin, DatabaseTestCase):
    "Test the channels' health in Tryton"

    CHANNEL_FIELDS = {
        'google_integration.calendar': ['channel_status', 'channel_expires'],
        'google_integration.google_credentials': ['calendar_list_channel'],
        }
    CHANNEL_STATUSES = [
        (None, ''), ('none', "None"), ('waiting', "Waiting"),
        ('active', "Active"), ('failing', "Failing")]

    @with_transaction()
    def test_channel_fields(self):
        "Test the channel fields: their statuses, read-only, kept from users"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        Credentials = pool.get('google_integration.google_credentials')
        credential = self.create_credentials()
        calendar = self.create_calendar(credential, sync_enabled=True)

        for Model, names in [
                (Calendar, ['channel_status', 'channel_expires']),
                (Credentials, ['calendar_list_channel'])]:
            definitions = Model.fields_get(names)
            for name in names:
                with self.subTest(model=Model.__name__, field=name):
                    self.assertTrue(definitions[name]['readonly'])
        fields = Calendar.fields_get(['channel_status', 'channel_expires'])
        self.assertEqual(fields['channel_status']['type'], 'selection')
        self.assertEqual(
            fields['channel_status']['selection'], self.CHANNEL_STATUSES)
        self.assertFalse(fields['channel_status']['sort'])
        self.assertEqual(fields['channel_expires']['type'], 'timestamp')
        fields = Credentials.fields_get(['calendar_list_channel'])
        self.assertEqual(fields['calendar_list_channel']['type'], 'selection')
        self.assertEqual(
            fields['calendar_list_channel']['selection'],
            self.CHANNEL_STATUSES)

        # Nothing is written until the sidecar makes a channel.
        self.assertIsNone(calendar.channel_status)
        self.assertIsNone(calendar.channel_expires)
        self.assertIsNone(credential.calendar_list_channel)

        # The sidecar's statements (src/db/watch-repository.ts): every
        # status fits, and Tryton reads back what it wrote (to the second,
        # as it shows the sidecar's timestamps).
        cursor = Transaction().connection.cursor()
        expires = dt.datetime(2030, 1, 8, 9, 30, 15, 123000)
        for status, _ in self.CHANNEL_STATUSES[1:]:
            with self.subTest(status=status):
                cursor.execute(
                    'UPDATE google_integration_calendar '
                    'SET channel_status = %s, channel_expires = %s, '
                    "write_date = timezone('UTC', now()), write_uid = 0 "
                    'WHERE id = %s AND (channel_status, channel_expires) '
                    'IS DISTINCT FROM (%s::varchar, %s::timestamp)',
                    (status, expires, calendar.id, status, expires))
                self.assertEqual(cursor.rowcount, 1)
                cursor.execute(
                    'UPDATE google_integration_google_credentials '
                    'SET calendar_list_channel = %s, '
                    "write_date = timezone('UTC', now()), write_uid = 0 "
                    'WHERE id = %s AND calendar_list_channel '
                    'IS DISTINCT FROM %s', (status, credential.id, status))
                self.assertEqual(cursor.rowcount, 1)
                clear_cache(Calendar.__name__, Credentials.__name__)
                self.assertEqual(Calendar(calendar.id).channel_status, status)
                self.assertEqual(
                    Calendar(calendar.id).channel_expires,
                    expires.replace(microsecond=0))
                self.assertEqual(
                    Credentials(credential.id).calendar_list_channel, status)

        # The users of Google Calendar read them and change nothing.
        colleague = self.create_user('colleague', 'group_google_calendar')
        with self.as_user(colleague):
            Calendar = pool.get('google_integration.calendar')
            Credentials = pool.get('google_integration.google_credentials')
            self.assertEqual(Calendar(calendar.id).channel_status, 'failing')
            self.assertEqual(
                Credentials(credential.id).calendar_list_channel, 'failing')
            for Model, record, values in [
                    (Calendar, calendar, {'channel_status': 'active'}),
                    (Calendar, calendar,
                        {'channel_expires': dt.datetime(2031, 1, 1)}),
                    (Credentials, credential,
                        {'calendar_list_channel': 'active'})]:
                with self.subTest(values=values), \
                        self.assertRaises(AccessError):
                    Model.write([Model(record.id)], values)

    @with_transaction()
    def test_channel_views(self):
        "Test the calendar and credentials views show the channels' health"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        Credentials = pool.get('google_integration.google_credentials')
        ModelData = pool.get('ir.model.data')
        admin = self.create_user('manager', 'group_google_integration_admin')
        colleague = self.create_user('colleague', 'group_google_calendar')

        for user in [admin, colleague]:
            with self.subTest(user=user.login), self.as_user(user):
                Calendar = pool.get('google_integration.calendar')
                Credentials = pool.get(
                    'google_integration.google_credentials')
                # The calendar's form: both, with their labels.
                fields, labels, definitions = self.view_fields(
                    Calendar, 'form')
                for name in ['channel_status', 'channel_expires']:
                    self.assertIn(name, fields)
                    self.assertIn(name, labels)
                    self.assertTrue(definitions[name]['readonly'])
                # The calendars' list: the status (an optional column).
                fields, _, definitions = self.view_fields(Calendar, 'tree')
                self.assertIn('channel_status', fields)
                self.assertTrue(definitions['channel_status']['readonly'])
                # The credentials' form (with the calendar additions): the
                # calendarList channel, in the Synchronization tab.
                view = Credentials.fields_view_get(
                    view_type='form', view_id=ModelData.get_id(
                        'google_integration', 'google_credentials_view_form'))
                page, = etree.fromstring(view['arch']).xpath(
                    "//page[@id='synchronization']")
                self.assertTrue(page.xpath(
                        "label[@name='calendar_list_channel']"))
                self.assertTrue(page.xpath(
                        "field[@name='calendar_list_channel']"))
                self.assertTrue(
                    view['fields']['calendar_list_channel']['readonly'])

    @with_transaction()
    def test_channel_copy(self):
        "Test a copy of credentials does not take the channels' health"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        Credentials = pool.get('google_integration.google_credentials')
        credential = self.create_credentials(sync_enabled=True)
        credential = self.set_columns(
            credential, state='authorized', calendar_list_channel='active')
        calendar = self.create_calendar(
            credential, sync_enabled=True, channel_status='active',
            channel_expires=dt.datetime(2030, 1, 8, 9))
        self.assertEqual(credential.calendar_list_channel, 'active')

        copy, = Credentials.copy([credential])
        self.assertIsNone(copy.calendar_list_channel)
        self.assertEqual(copy.calendars, ())
        # A copy is a new Google account for the sidecar: nothing to renew.
        self.assertEqual(copy.state, 'without_authorization')
        # The caller's default still wins.
        other, = Credentials.copy(
            [credential], {'calendar_list_channel': 'none'})
        self.assertEqual(other.calendar_list_channel, 'none')
        # The original keeps its channels.
        self.assertEqual(
            Credentials(credential.id).calendar_list_channel, 'active')
        calendar = Calendar(calendar.id)
        self.assertEqual(
            (calendar.channel_status, calendar.channel_expires),
            ('active', dt.datetime(2030, 1, 8, 9)))
        # A calendar (and so its channel) is never copied.
        with self.assertRaises(exceptions.CopyError):
            Calendar.copy([calendar])
        self.assertEqual(Calendar.search([], count=True), 1)

    @with_transaction()
    def test_channel_translations(self):
        "Test the French translation of the channel fields"
        pool = Pool()
        Translation = pool.get('ir.translation')
        Calendar = pool.get('google_integration.calendar')
        Credentials = pool.get('google_integration.google_credentials')
        po_path = os.path.join(
            os.path.dirname(credentials_module.__file__), 'locale', 'fr.po')
        Translation.translation_import('fr', 'google_integration', po_path)

        # Every term of the fields (label, help, selection values) Tryton
        # registered for the module has its French translation.
        for model, names in self.CHANNEL_FIELDS.items():
            for name in names:
                terms = Translation.search([
                        ('lang', '=', 'en'),
                        ('module', '=', 'google_integration'),
                        ('name', '=', f'{model},{name}'),
                        ('type', 'in', ['field', 'help', 'selection']),
                        ])
                self.assertTrue(terms, msg=name)
                for term in terms:
                    with self.subTest(
                            field=name, type=term.type, src=term.src):
                        translated = Translation.search([
                                ('lang', '=', 'fr'),
                                ('module', '=', 'google_integration'),
                                ('name', '=', term.name),
                                ('type', '=', term.type),
                                ('src', '=', term.src),
                                ('value', 'not in', [None, '']),
                                ('fuzzy', '=', False),
                                ])
                        self.assertEqual(len(translated), 1)

        statuses = [
            (None, ''), ('none', "Aucune"), ('waiting', "En attente"),
            ('active', "Actives"), ('failing', "En échec")]
        with Transaction().set_context(language='fr'):
            fields = Calendar.fields_get(['channel_status', 'channel_expires'])
            self.assertEqual(
                fields['channel_status']['string'],
                "Notifications instantanées")
            self.assertEqual(fields['channel_status']['selection'], statuses)
            self.assertIn("(Actives)", fields['channel_status']['help'])
            self.assertEqual(
                fields['channel_expires']['string'],
                "Notifications instantanées jusqu'au")
            self.assertEqual(
                fields['channel_expires']['help'],
                "La fin du canal ; le sidecar le renouvelle un jour avant.")
            fields = Credentials.fields_get(['calendar_list_channel'])
            self.assertEqual(
                fields['calendar_list_channel']['string'],
                "Notifications de la liste des calendriers")
            self.assertEqual(
                fields['calendar_list_channel']['selection'], statuses)
            self.assertTrue(fields['calendar_list_channel']['help'])
