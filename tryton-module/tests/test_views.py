# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""What the screens show, as far as trytond tells the clients: the
credentials' form, the lists of what only the sidecar creates, colours,
times, the events' windows (trytond's standard checks validate every view
against the RNG: test_module)"""
import datetime as dt

from lxml import etree

from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import DatabaseTestCase, RecordsTestMixin

# The models only the sidecar creates rows of, and their lists.
SIDECAR_LISTS = [
    ('google_integration.calendar', 'calendar_view_list'),
    ('google_integration.calendar', 'calendar_view_list_credential'),
    ('google_integration.calendar.member', 'calendar_member_view_list'),
    ('google_integration.event.conflict', 'event_conflict_view_list'),
    ('google_integration.party_contact', 'party_contact_view_list'),
    ('google_integration.contact_conflict', 'contact_conflict_view_list'),
    ]
# The timestamps the sidecar writes, shown in a view.
SIDECAR_TIMESTAMPS = {
    'google_integration.google_credentials': [
        'authorization_requested_at', 'token_expiry', 'last_sync',
        'contacts_last_sync'],
    'google_integration.calendar': ['last_sync', 'channel_expires'],
    'google_integration.event': ['google_updated', 'local_write'],
    'google_integration.event.conflict': ['create_date'],
    'google_integration.party_contact': ['last_sync', 'local_write'],
    'google_integration.contact_conflict': ['create_date'],
    }


class ViewsTestCase(RecordsTestMixin, DatabaseTestCase):
    "Test the module's screens"

    def view(self, model, xml_id=None, view_type='form'):
        "The view as trytond gives it to the clients: (arch, fields)"
        pool = Pool()
        Model = pool.get(model)
        ModelData = pool.get('ir.model.data')
        view_id = (
            ModelData.get_id('google_integration', xml_id)
            if xml_id else None)
        view = Model.fields_view_get(view_id=view_id, view_type=view_type)
        return etree.fromstring(view['arch']), view['fields']

    @with_transaction()
    def test_credentials_form(self):
        "Test the state and buttons stay in view, the calendars fit the tab"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        arch, fields = self.view(
            'google_integration.google_credentials',
            'google_credentials_view_form')

        # Above the notebook, whichever page is open: the name, the state
        # and the authorization buttons.
        top = [
            (e.tag, e.get('name') or e.get('id'))
            for e in arch.iterchildren(tag=etree.Element)]
        self.assertEqual(top, [
                ('label', 'name'), ('field', 'name'),
                ('label', 'state'), ('field', 'state'),
                ('group', 'buttons'), ('notebook', None)])
        self.assertEqual(
            [b.get('name') for b in arch.xpath("group[@id='buttons']/button")],
            ['revoke', 'refresh_credentials', 'reauthorize',
                'request_authorization'])

        # The Synchronization tab: its buttons before the calendars, which
        # take the rest of the page in their narrow list.
        page, = arch.xpath("//page[@id='synchronization']")
        children = list(page.iterchildren(tag=etree.Element))
        buttons, = page.xpath("group[@id='synchronization_buttons']")
        calendars, = page.xpath("field[@name='calendars']")
        self.assertEqual(
            [b.get('name') for b in buttons.iter('button')],
            ['fetch_calendars', 'sync_now'])
        self.assertLess(children.index(buttons), children.index(calendars))
        self.assertIs(calendars, children[-1])
        self.assertEqual(calendars.get('yexpand'), '1')
        self.assertEqual(calendars.get('create'), '0')
        list_id = ModelData.get_id(
            'google_integration', 'calendar_view_list_credential')
        self.assertEqual(calendars.get('view_ids'), str(list_id))
        self.assertIn(str(list_id), fields['calendars']['views'])

        # The columns shown by default in that list: the switch, the
        # calendar, its role and how its synchronization goes.
        arch, _ = self.view(
            'google_integration.calendar', 'calendar_view_list_credential',
            'tree')
        shown = [
            e.get('name') for e in arch.iter('field')
            if e.get('optional') != '1']
        self.assertEqual(shown, [
                'sync_enabled', 'name', 'access_role', 'sync_status',
                'last_sync', 'last_sync'])
        self.assertEqual(
            [b.get('name') for b in arch.iter('button')], ['sync_now'])

    @with_transaction()
    def test_sidecar_lists(self):
        "Test nothing proposes to create what only the sidecar creates"
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        manager = self.create_user(
            'manager', 'group_google_integration_admin',
            'group_google_calendar')

        for model, xml_id in SIDECAR_LISTS:
            with self.subTest(model=model, view=xml_id):
                arch, _ = self.view(model, xml_id, 'tree')
                self.assertEqual(arch.get('creatable'), '0')
                with Transaction().set_user(manager.id):
                    access = ModelAccess.get_access([model])[model]
                self.assertFalse(access['create'])
        # Their lists in the forms offer no creation either.
        for model, xml_id, names in [
                ('google_integration.google_credentials',
                    'google_credentials_view_form', ['calendars']),
                ('google_integration.calendar', 'calendar_view_form',
                    ['members', 'conflicts']),
                ('party.party', None, ['google_contacts']),
                ]:
            arch, _ = self.view(model, xml_id)
            for name in names:
                with self.subTest(model=model, field=name):
                    field, = arch.xpath(f"//field[@name='{name}']")
                    self.assertEqual(field.get('create'), '0')

    @with_transaction()
    def test_colours(self):
        "Test the calendars' colours show as colours"
        for model, xml_id, view_type in [
                ('google_integration.calendar', 'calendar_view_list',
                    'tree'),
                ('google_integration.calendar',
                    'calendar_view_list_credential', 'tree'),
                ('google_integration.calendar.member',
                    'calendar_member_view_list', 'tree'),
                ]:
            with self.subTest(view=xml_id):
                arch, fields = self.view(model, xml_id, view_type)
                prefix, = arch.xpath("field[@name='name']/prefix")
                self.assertEqual(
                    (prefix.get('icon'), prefix.get('icon_type')),
                    ('color', 'color'))
                self.assertIn('color', fields)
        arch, _ = self.view('google_integration.calendar')
        field, = arch.xpath("//field[@name='color']")
        self.assertEqual(field.get('widget'), 'color')
        arch, _ = self.view(
            'google_integration.event', 'event_view_calendar', 'calendar')
        self.assertEqual(arch.get('background_color'), 'color')

    @with_transaction()
    def test_timestamps_to_the_second(self):
        "Test the sidecar's timestamps are shown and read to the second"
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        definitions = Credentials.fields_get(['last_sync', 'token_expiry'])
        for name, definition in definitions.items():
            with self.subTest(field=name):
                self.assertEqual(
                    PYSONDecoder().decode(definition['format']), '%H:%M:%S')
        stored = dt.datetime(2026, 12, 3, 10, 5, 12, 345678)
        credential = self.set_columns(
            self.create_credentials(),
            last_sync=stored, token_expiry=stored)
        self.assertEqual(
            credential.last_sync, stored.replace(microsecond=0))
        self.assertEqual(
            Credentials.read([credential.id], ['token_expiry'])[0][
                'token_expiry'],
            stored.replace(microsecond=0))
        self.assertEqual(
            Credentials.search([('last_sync', '=', stored)]), [])
        self.assertEqual(
            Credentials.search(
                [('last_sync', '=', stored.replace(microsecond=0))]),
            [credential])

    @with_transaction()
    def test_timestamps(self):
        "Test the sidecar's timestamps are timestamps, in one heading"
        pool = Pool()
        for model, names in SIDECAR_TIMESTAMPS.items():
            definitions = pool.get(model).fields_get(names)
            for name in names:
                with self.subTest(model=model, field=name):
                    self.assertEqual(definitions[name]['type'], 'timestamp')

        # A list shows a timestamp in a date and a time column, under one
        # heading.
        for model, xml_id, name, heading in [
                ('google_integration.calendar', 'calendar_view_list',
                    'last_sync', "Last Synchronization"),
                ('google_integration.calendar',
                    'calendar_view_list_credential', 'last_sync',
                    "Last Synchronization"),
                ('google_integration.google_credentials',
                    'google_credentials_view_list', 'last_sync',
                    "Last Synchronization"),
                ('google_integration.google_credentials',
                    'google_credentials_view_list', 'token_expiry',
                    "Token Expiry"),
                ('google_integration.party_contact',
                    'party_contact_view_list', 'last_sync',
                    "Last Synchronization"),
                ]:
            with self.subTest(view=xml_id, field=name):
                arch, fields = self.view(model, xml_id, 'tree')
                columns = arch.xpath(f"field[@name='{name}']")
                self.assertEqual(
                    [(c.get('widget'),
                            c.get('string') or fields[name]['string'])
                        for c in columns],
                    [('date', heading), ('time', "at")])

    @with_transaction()
    def test_event_windows(self):
        "Test the events' windows open an event's form from the calendar"
        pool = Pool()
        Action = pool.get('ir.action.act_window')
        ModelData = pool.get('ir.model.data')

        for xml_id in ['act_event_form', 'act_calendar_events']:
            with self.subTest(action=xml_id):
                action = Action(
                    ModelData.get_id('google_integration', xml_id))
                # The web client opens the view after the calendar's when an
                # event is clicked.
                self.assertEqual(
                    [v.view.type for v in action.act_window_views],
                    ['calendar', 'form', 'tree'])
                # sao scrolls the calendar to the working hours.
                self.assertEqual(
                    PYSONDecoder().decode(action.context),
                    {'calendar_scroll_time': '08:00:00'})
