# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The Google Contacts synchronization: credentials, marking, contact values,
the module's route and contact conflicts (docs/contracts.md, "Services of a
credential" and "Contacts synchronization")"""
import datetime as dt
import json
import os
import sys
import time
from unittest.mock import patch

from trytond.backend.postgresql.database import LoggingCursor
from trytond.bus import Bus
from trytond.model.exceptions import AccessError, DomainValidationError
from trytond.modules.google_integration import (
    contact_values, credentials as credentials_module, exceptions)
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, RouteTestCase, with_transaction)
from trytond.transaction import Transaction

from .fake_sidecar import SidecarTestMixin
from .tools import RecordsTestMixin, clear_cache, utcnow

CALENDAR = 'https://www.googleapis.com/auth/calendar'
CONTACTS = 'https://www.googleapis.com/auth/contacts'


class _ContactsMixin(RecordsTestMixin):
    module = 'google_integration'
    extras = ['party']

    def create_credentials(self, name="Main", **values):
        values.setdefault('services', ['calendar', 'contacts'])
        return super().create_credentials(name, **values)

    def party_contacts(self, party=None, credential=None):
        "The party_contact table, and the condition of the rows of either"
        PartyContact = Pool().get('google_integration.party_contact')
        table = PartyContact.__table__()
        where = table.id > 0
        if party is not None:
            where &= table.party == party.id
        if credential is not None:
            where &= table.credential == credential.id
        return table, where

    def rows(self, party=None, credential=None):
        "The party_contact rows: {(party, credential): (status, local_write,"
        " resource_name)}"
        table, where = self.party_contacts(party, credential)
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.party, table.credential, table.sync_status,
                table.local_write, table.resource_name, where=where))
        return {(p, c): (s, w, r) for p, c, s, w, r in cursor}

    def status(self, party, credential):
        row = self.rows(party, credential).get((party.id, credential.id))
        return row[0] if row else None

    def set_synced(self, credential=None, resource_name=None):
        "Settle every row as the sidecar does after a push"
        table, where = self.party_contacts(credential=credential)
        cursor = Transaction().connection.cursor()
        columns, values = [table.sync_status], ['synced']
        if resource_name:
            columns.append(table.resource_name)
            values.append(resource_name)
        cursor.execute(*table.update(columns, values, where=where))
        clear_cache('google_integration.party_contact')

    def create_party(self, name="Alice", **values):
        Party = Pool().get('party.party')
        party, = Party.create([{'name': name, **values}])
        return party

    def country(self, code='BE', name="Belgium"):
        Country = Pool().get('country.country')
        found = Country.search([('code', '=', code)])
        if found:
            return found[0]
        country, = Country.create([{'code': code, 'name': name}])
        return country

    def reset_contacts_jobs(self):
        self.reset_job_calls(
            'google_integration.contacts_queued_',
            'google_integration_google_credentials')


class ContactsTestCase(SidecarTestMixin, _ContactsMixin, RouteTestCase):
    "Test the contacts synchronization in Tryton"

    # Credentials

    @with_transaction()
    def test_services(self):
        "Test services default to the calendar and are stored as JSON text"
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        cursor = Transaction().connection.cursor()
        calendar = self.create_credentials(
            "Calendar", services=Credentials.default_services())
        both = self.create_credentials("Both")

        self.assertEqual(Credentials.default_services(), ['calendar'])
        self.assertEqual(calendar.services, ('calendar',))
        cursor.execute(
            'SELECT data_type FROM information_schema.columns '
            "WHERE table_name = 'google_integration_google_credentials' "
            "AND column_name = 'services'")
        self.assertEqual(cursor.fetchone(), ('character varying',))
        cursor.execute(
            'SELECT services FROM google_integration_google_credentials '
            'WHERE id = %s', (both.id,))
        self.assertEqual(
            json.loads(cursor.fetchone()[0]), ['calendar', 'contacts'])
        self.assertEqual(
            Credentials.search([
                    ('services', 'in', ['contacts']),
                    ('id', 'in', [calendar.id, both.id]),
                    ]),
            [both])

    @with_transaction()
    def test_service_status(self):
        "Test service_status says per service whether its scope was granted"
        record = self.create_credentials()
        not_granted = 'not granted: click "Re-authorize"'
        for scopes, status in [
                (None, f"Google Calendar: {not_granted}\n"
                    f"Google Contacts: {not_granted}"),
                (f'openid {CALENDAR} email', "Google Calendar: granted\n"
                    f"Google Contacts: {not_granted}"),
                (f'{CONTACTS} {CALENDAR}',
                    "Google Calendar: granted\nGoogle Contacts: granted"),
                ]:
            with self.subTest(scopes=scopes):
                record = self.set_columns(record, granted_scopes=scopes)
                self.assertEqual(record.service_status, status)

        # A service not listed is not reported, granted or not.
        record.services = ['contacts']
        record.save()
        self.assertEqual(record.service_status, "Google Contacts: granted")

    @with_transaction()
    def test_contacts_fields(self):
        "Test the contacts fields' defaults, limits and copy"
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        record = self.create_credentials()
        self.assertEqual(
            (record.contacts_scope, record.contacts_deletion_limit,
                record.contacts_allowed_deletions, record.contacts_status),
            ('all', 20, 0, 'none'))

        for limit in [-1, 101]:
            with self.subTest(limit=limit), \
                    self.assertRaises(DomainValidationError):
                Credentials.write([record], {
                        'contacts_deletion_limit': limit})
        Credentials.write([record], {'contacts_deletion_limit': 100})

        category = self.create_category("Customers")
        Credentials.write([record], {
                'contacts_scope': 'categories',
                'contacts_categories': [('add', [category.id])],
                })
        record = self.set_columns(
            record, contacts_status='held', contacts_last_sync=utcnow(),
            contacts_last_error="Too many deletions",
            contacts_last_counts='{"created": 1}',
            contacts_held_deletions=12, contacts_allowed_deletions=12)

        copy, = Credentials.copy([record])
        # What the sidecar wrote, and the allowance, are the original's.
        self.assertEqual(
            (copy.contacts_status, copy.contacts_last_sync,
                copy.contacts_last_error, copy.contacts_last_counts,
                copy.contacts_held_deletions,
                copy.contacts_allowed_deletions),
            ('none', None, None, None, None, 0))
        # What the admin chose is copied.
        self.assertEqual(
            (copy.services, copy.contacts_scope,
                copy.contacts_deletion_limit, copy.contacts_categories),
            (('calendar', 'contacts'), 'categories', 100, (category,)))

    @with_transaction()
    def test_contacts_columns(self):
        "Test the columns of the contracts' tables"
        cursor = Transaction().connection.cursor()

        def columns(table):
            cursor.execute(
                'SELECT column_name, data_type FROM '
                'information_schema.columns WHERE table_name = %s',
                (table,))
            return dict(cursor)

        credentials = columns('google_integration_google_credentials')
        for name, type_ in [
                ('services', 'character varying'),
                ('contacts_scope', 'character varying'),
                ('contacts_deletion_limit', 'integer'),
                ('contacts_allowed_deletions', 'integer'),
                ('contacts_status', 'character varying'),
                ('contacts_last_sync', 'timestamp without time zone'),
                ('contacts_last_error', 'text'),
                ('contacts_last_counts', 'text'),
                ('contacts_held_deletions', 'integer'),
                ]:
            self.assertEqual(credentials.get(name), type_, msg=name)
        self.assertEqual(
            {k: v for k, v in columns(
                    'google_integration_credential_category').items()
                if k in {'credential', 'category'}},
            {'credential': 'integer', 'category': 'integer'})
        party_contact = columns('google_integration_party_contact')
        for name, type_ in [
                ('party', 'integer'), ('credential', 'integer'),
                ('resource_name', 'character varying'),
                ('sync_status', 'character varying'),
                ('local_write', 'timestamp without time zone'),
                ('last_sync', 'timestamp without time zone'),
                ]:
            self.assertEqual(party_contact.get(name), type_, msg=name)
        conflict = columns('google_integration_contact_conflict')
        for name, type_ in [
                ('party', 'integer'), ('credential', 'integer'),
                ('kind', 'character varying'),
                ('winner', 'character varying'),
                ('fields', 'character varying'), ('kept', 'text'),
                ('lost', 'text'),
                ('create_date', 'timestamp without time zone'),
                ]:
            self.assertEqual(conflict.get(name), type_, msg=name)
        # Foreign keys: a deleted party leaves its row (the sidecar deletes
        # the contact at Google), a deleted credential takes its rows.
        cursor.execute(
            'SELECT kcu.column_name, rc.delete_rule '
            'FROM information_schema.referential_constraints rc '
            'JOIN information_schema.key_column_usage kcu '
            'ON kcu.constraint_name = rc.constraint_name '
            "WHERE kcu.table_name = 'google_integration_party_contact'")
        self.assertEqual(
            {c: r for c, r in cursor if c in {'party', 'credential'}},
            {'party': 'SET NULL', 'credential': 'CASCADE'})

    @with_transaction()
    def test_application_key(self):
        "Test listing contacts creates the route's key for the saving user"
        pool = Pool()
        Application = pool.get('res.user.application')
        User = pool.get('res.user')
        self.assertIn(
            'google_integration',
            dict(Application.fields_get(
                    ['application'])['application']['selection']))

        def keys():
            return Application.search([
                    ('application', '=', 'google_integration')])

        calendar = self.create_credentials("Calendar", services=['calendar'])
        self.assertEqual(keys(), [])

        user, = User.create([{'name': "Owner", 'login': 'owner'}])
        with Transaction().set_user(user.id):
            Credentials = pool.get('google_integration.google_credentials')
            Credentials.write([calendar], {
                    'services': ['calendar', 'contacts']})
        key, = keys()
        self.assertEqual(
            (key.user, key.state, len(key.key)), (user, 'validated', 128))

        # One key serves the database.
        self.create_credentials("Other")
        self.assertEqual(keys(), [key])

        # Cancelled: the next credential listing contacts makes a new one.
        Application.cancel([key])
        self.create_credentials("Third")
        cancelled, new = sorted(keys(), key=lambda k: k.id)
        self.assertEqual(
            (cancelled.state, new.state, new.user.id),
            ('cancelled', 'validated', Transaction().user))

    def create_category(self, name, parent=None):
        Category = Pool().get('party.category')
        category, = Category.create([{
                    'name': name, 'parent': parent.id if parent else None}])
        return category

    # Marking

    @with_transaction()
    def test_rows_when_contacts_start(self):
        "Test rows are made for the parties in scope when contacts start"
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        Party = pool.get('party.party')
        customers = self.create_category("Customers")
        vip = self.create_category("VIP", customers)
        other = self.create_category("Suppliers")
        alice = self.create_party(
            "Alice", categories=[('add', [customers.id])])
        bob = self.create_party("Bob", categories=[('add', [vip.id])])
        carol = self.create_party(
            "Carol", categories=[('add', [other.id])])
        dave = self.create_party("Dave")
        Party.write([dave], {'active': False})

        record = self.create_credentials(services=['calendar'])
        self.assertEqual(self.rows(credential=record), {})

        Credentials.write([record], {
                'services': ['calendar', 'contacts'],
                'contacts_scope': 'categories',
                'contacts_categories': [('add', [customers.id])],
                })
        rows = self.rows(credential=record)
        # The category and its children; active parties only.
        self.assertEqual(
            sorted(p for p, _ in rows), sorted([alice.id, bob.id]))
        self.assertEqual(
            {s for s, _, _ in rows.values()}, {'pending_push'})
        self.assertTrue(all(w for _, w, _ in rows.values()))

        # The scope grows: rows for the new parties only.
        self.set_synced(record)
        Credentials.write([record], {
                'contacts_categories': [('add', [other.id])]})
        self.assertEqual(self.status(alice, record), 'synced')
        self.assertEqual(self.status(carol, record), 'pending_push')
        Credentials.write([record], {'contacts_scope': 'all'})
        self.assertEqual(
            sorted(p for p, _ in self.rows(credential=record)),
            sorted([alice.id, bob.id, carol.id]))
        self.assertIsNone(self.status(dave, record))

    @with_transaction()
    def test_mark_party(self):
        "Test creating and changing a party marks it pending"
        pool = Pool()
        Party = pool.get('party.party')
        record = self.create_credentials()
        calendar_only = self.create_credentials(
            "Calendar", services=['calendar'])

        party = self.create_party()
        rows = self.rows(party)
        self.assertEqual(list(rows), [(party.id, record.id)])
        status, created, _ = rows[(party.id, record.id)]
        self.assertEqual(status, 'pending_push')
        self.assertIsNone(self.status(party, calendar_only))

        for values in [
                {'name': "Alice Liddell"},
                {'google_organization': "Wonderland Ltd"},
                ]:
            with self.subTest(values=values):
                self.set_synced()
                Party.write([party], values)
                status, written, _ = self.rows(party)[(party.id, record.id)]
                self.assertEqual(status, 'pending_push')
                self.assertGreater(written, created)
                created = written

        # Fields that are not synchronized mark nothing.
        self.set_synced()
        Party.write([party], {'code': 'NEW-CODE'})
        self.assertEqual(self.status(party, record), 'synced')

    @with_transaction()
    def test_mark_mechanisms_and_addresses(self):
        "Test changes of mechanisms and addresses mark their party"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        Address = pool.get('party.address')
        record = self.create_credentials()
        party = self.create_party()

        def marked(function, *args):
            self.set_synced()
            result = function(*args)
            return self.status(party, record) == 'pending_push', result

        def changes(Model, values, created, writes):
            """Create a record of the party, then make each write: whether
            each marks the party; return the record"""
            changed, (record_,) = marked(
                Model.create, [{'party': party.id, **values}])
            self.assertEqual(changed, created)
            for write, expected in writes:
                with self.subTest(model=Model.__name__, write=write):
                    self.assertEqual(
                        marked(Model.write, [record_], write)[0], expected)
            return record_

        email = changes(
            Mechanism, {'type': 'email', 'value': 'alice@example.com'}, True, [
                ({'value': 'alice@example.org'}, True),
                ({'comment': "Home"}, False),
                ({'active': False}, True),
                ])
        self.assertEqual(marked(Mechanism.delete, [email])[0], True)
        # Mechanisms Google has no place for mark nothing, unless they
        # become one.
        changes(Mechanism, {'type': 'skype', 'value': 'alice'}, False, [
                ({'type': 'website', 'value': 'https://alice.example.com'},
                    True),
                ])

        changes(
            Address, {'street': "1 Main Street", 'city': "Brussels"}, True, [
                ({'street': "2 Main Street"}, True),
                ({'attn': "Reception"}, False),
                ({'active': False}, True),
                ])

    @with_transaction()
    def test_mark_categories(self):
        "Test changes of the categories of a party, or of their names, mark"
        pool = Pool()
        Party = pool.get('party.party')
        Category = pool.get('party.category')
        record = self.create_credentials()
        customers = self.create_category("Customers")
        vip = self.create_category("VIP", customers)
        alice = self.create_party("Alice")
        bob = self.create_party("Bob", categories=[('add', [vip.id])])

        self.set_synced()
        Party.write([alice], {'categories': [('add', [customers.id])]})
        self.assertEqual(self.status(alice, record), 'pending_push')
        self.assertEqual(self.status(bob, record), 'synced')

        self.set_synced()
        Party.write([alice], {'categories': [('remove', [customers.id])]})
        self.assertEqual(self.status(alice, record), 'pending_push')

        # A renamed parent renames the groups of its children's parties.
        self.set_synced()
        Category.write([customers], {'name': "Clients"})
        self.assertEqual(self.status(bob, record), 'pending_push')
        self.assertEqual(self.status(alice, record), 'synced')

    @with_transaction()
    def test_mark_scope(self):
        "Test only the parties in scope get rows, but rows are kept marked"
        pool = Pool()
        Party = pool.get('party.party')
        customers = self.create_category("Customers")
        record = self.create_credentials(
            contacts_scope='categories',
            contacts_categories=[('add', [customers.id])])
        alice = self.create_party(
            "Alice", categories=[('add', [customers.id])])
        bob = self.create_party("Bob")
        self.assertEqual(self.status(alice, record), 'pending_push')
        self.assertIsNone(self.status(bob, record))

        # Leaving the scope: the row stays and is still marked.
        self.set_synced()
        Party.write([alice], {
                'categories': [('remove', [customers.id])],
                'name': "Alice L."})
        self.assertEqual(self.status(alice, record), 'pending_push')

        # Archived: its contact is deleted at Google.
        self.set_synced()
        Party.write([alice], {'active': False})
        self.assertEqual(self.status(alice, record), 'pending_push')
        # An archived party out of the scope gets no row.
        Party.write([bob], {'active': False})
        self.assertIsNone(self.status(bob, record))

    @with_transaction()
    def test_mark_replace(self):
        "Test merging parties with the Replace wizard marks both"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        Replace = pool.get('party.replace', type='wizard')
        record = self.create_credentials()
        source = self.create_party("Alice")
        destination = self.create_party("Alice")
        Mechanism.create([{
                    'party': source.id, 'type': 'email',
                    'value': 'alice@example.com'}])
        self.set_synced()

        session_id, _, _ = Replace.create()
        replace = Replace(session_id)
        replace.ask.source = source
        replace.ask.destination = destination
        replace.transition_replace()

        self.assertEqual(self.status(source, record), 'pending_push')
        self.assertEqual(self.status(destination, record), 'pending_push')

    @with_transaction()
    def test_mark_delete(self):
        "Test deleting a party leaves its rows pending, without party"
        pool = Pool()
        Party = pool.get('party.party')
        record = self.create_credentials()
        party = self.create_party()
        self.set_synced(resource_name='people/c1')

        Party.delete([party])

        (key, (status, local_write, resource_name)), = self.rows(
            credential=record).items()
        self.assertEqual(
            (key, status, resource_name),
            ((None, record.id), 'pending_push', 'people/c1'))
        self.assertTrue(local_write)

    @with_transaction()
    def test_no_mark_when_syncing(self):
        "Test the route's writes (its context) mark nothing"
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        record = self.create_credentials()
        party = self.create_party()
        self.set_synced()
        with Transaction().set_context(google_integration_contacts_sync=True):
            other = self.create_party("Bob")
            Party.write([party], {'name': "Alice L."})
            Mechanism.create([{
                        'party': party.id, 'type': 'email',
                        'value': 'alice@example.com'}])
        self.assertEqual(self.status(party, record), 'synced')
        self.assertIsNone(self.status(other, record))

        # The route's writes for one account mark the party for the others.
        second = self.create_credentials("Second")
        self.set_synced()
        with Transaction().set_context(
                google_integration_contacts_sync=record.id):
            Party.write([party], {'name': "Alice Liddell"})
            third = self.create_party("Carol")
        self.assertEqual(self.status(party, record), 'synced')
        self.assertEqual(self.status(party, second), 'pending_push')
        self.assertIsNone(self.status(third, record))
        self.assertEqual(self.status(third, second), 'pending_push')

    @with_transaction()
    def test_mark_credentials_once(self):
        "Test marking searches the credentials once a transaction"
        pool = Pool()
        Party = pool.get('party.party')
        Credentials = pool.get('google_integration.google_credentials')
        record = self.create_credentials()
        search = Credentials.search
        domain = [('services', 'in', ['contacts'])]

        def searches(call):
            with patch.object(
                    Credentials, 'search', side_effect=search) as mock:
                call()
            return [c for c in mock.call_args_list if c.args[0] == domain]

        self.assertEqual(len(searches(lambda: [
                        self.create_party(f"Party {i}", contact_mechanisms=[
                                ('create', [{
                                            'type': 'email',
                                            'value': f'p{i}@example.com',
                                            }])])
                        for i in range(3)])), 1)
        self.assertEqual(searches(lambda: self.create_party("Bob")), [])
        # Credentials that change their services are searched again.
        Credentials.write([record], {'services': ['calendar']})
        self.assertEqual(len(searches(lambda: self.create_party("Carol"))), 1)
        carol, = Party.search([('name', '=', "Carol")])
        self.assertIsNone(self.status(carol, record))
        # And so is a new one.
        second = self.create_credentials("Second")
        dave = self.create_party("Dave")
        self.assertEqual(self.status(dave, second), 'pending_push')
        # Under the route's context of the only credential listing
        # contacts, a save marks nothing; outside of it, it marks.
        Credentials.write([record], {'services': ['calendar', 'contacts']})
        self.set_synced()
        Credentials.delete([second])
        with Transaction().set_context(
                google_integration_contacts_sync=record.id):
            Party.write([dave], {'name': "Dave L."})
        self.assertEqual(self.status(dave, record), 'synced')
        Party.write([dave], {'name': "Dave Lister"})
        self.assertEqual(self.status(dave, record), 'pending_push')

    @with_transaction()
    def test_queue_contacts(self):
        "Test marking queues the credential's round, once a transaction"
        pool = Pool()
        Party = pool.get('party.party')
        cursor = Transaction().connection.cursor()
        cursor.execute(
            "SELECT pg_get_function_identity_arguments(oid) FROM pg_proc "
            "WHERE proname = 'google_integration_queue_contacts'")
        self.assertEqual(cursor.fetchall(), [('credential integer',)])

        # No sidecar ever ran here: saves work, nothing is queued.
        cursor.execute('DROP SCHEMA IF EXISTS google_integration_jobs CASCADE')
        record = self.create_credentials()
        party = self.create_party()

        self.add_job_schema()
        Party.write([party], {'name': "Alice L."})
        self.create_party("Bob")
        # One call for the transaction, 2 seconds ahead.
        cursor.execute(
            'SELECT run_at - now() FROM google_integration_jobs.calls')
        self.assertEqual(cursor.fetchall(), [(dt.timedelta(seconds=2),)])
        self.assertEqual(self.job_calls(), [(
                    'sync_contacts', {'credential_id': record.id},
                    f'contacts:{record.id}', 5,
                    f'sync_contacts:{record.id}')])
        self.reset_contacts_jobs()

        # Nothing to push, nothing queued.
        Party.write([party], {'code': 'OTHER'})
        self.assertEqual(self.job_calls(), [])

        # An add_job that fails does not fail the save.
        self.break_add_job()
        Party.write([party], {'name': "Still saved"})
        self.assertEqual(Party(party.id).name, "Still saved")

    # Contact values

    def alice(self):
        "A party with every kind of value, in Belgium"
        pool = Pool()
        Party = pool.get('party.party')
        belgium = self.country()
        customers = self.create_category("Customers")
        vip = self.create_category("VIP", customers)
        party, = Party.create([{
                    'name': "Alice",
                    'google_organization': "Wonderland",
                    'categories': [('add', [vip.id])],
                    'addresses': [('create', [{
                                    'street': "Rue Neuve 1",
                                    'postal_code': '1000', 'city': "Brussels",
                                    'country': belgium.id,
                                    }])],
                    }])
        # Phones after the address: Tryton places national numbers in the
        # countries of the party's addresses.
        Party.write([party], {
                'contact_mechanisms': [('create', [
                            {'type': 'email', 'value': 'alice@example.com',
                                'sequence': 1},
                            {'type': 'phone', 'value': '02 555 12 34',
                                'sequence': 2},
                            {'type': 'mobile', 'value': '0470 12 34 56',
                                'sequence': 3},
                            {'type': 'website',
                                'value': 'https://alice.example.com',
                                'sequence': 4},
                            {'type': 'email', 'value': 'old@example.com',
                                'active': False},
                            {'type': 'skype', 'value': 'alice'},
                            ])],
                })
        return Party(party.id)

    @with_transaction()
    def test_values_of(self):
        "Test the contact values of a party"
        party = self.alice()
        self.assertEqual(contact_values.values_of([party])[party.id], {
                'name': "Alice",
                'organization': "Wonderland",
                'emails': ['alice@example.com'],
                # Formatted by Tryton (phonenumbers): international, E.164.
                'phones': [
                    {'type': 'phone', 'value': '+32 2 555 12 34',
                        'e164': '+3225551234'},
                    {'type': 'mobile', 'value': '+32 470 12 34 56',
                        'e164': '+32470123456'},
                    ],
                'website': 'https://alice.example.com',
                'addresses': [{
                        'street': "Rue Neuve 1", 'post_box': '',
                        'postal_code': '1000', 'city': "Brussels",
                        'country': 'BE'}],
                'groups': ["Customers / VIP"],
                })
        empty = self.create_party(None)
        self.assertEqual(contact_values.values_of([empty])[empty.id], {
                'name': '', 'organization': '', 'emails': [], 'phones': [],
                'website': '', 'addresses': [], 'groups': []})

    @with_transaction()
    def test_apply_values(self):
        "Test applying contact values: added, kept, archived, never deleted"
        pool = Pool()
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        Address = pool.get('party.address')
        Category = pool.get('party.category')
        self.country('FR', "France")
        party = self.alice()
        mechanisms = {
            m.value: m for m in Mechanism.search([('party', '=', party.id)])}
        address, = party.addresses
        Address.write([address], {
                'street_name': "Rue Neuve", 'building_number': '1'})
        address = Address(address.id)
        self.assertEqual(address.street, "Rue Neuve 1")

        contact_values.apply(party, {
                'name': " Alice Liddell ",
                'organization': "",
                # Another case: the same e-mail.
                'emails': ['ALICE@example.com', 'alice@work.example.com'],
                'phones': [
                    # The same number in another spelling.
                    {'type': 'phone', 'value': '+3225551234',
                        'e164': '+3225551234'},
                    # National: placed in Belgium by the party's address.
                    {'type': 'fax', 'value': '02 555 99 99',
                        'e164': '+3225559999'},
                    # National elsewhere: taken in Google's E.164 form.
                    {'type': 'mobile', 'value': '06 12 34 56 78',
                        'e164': '+33612345678'},
                    ],
                'website': 'https://liddell.example.com',
                'addresses': [{
                        'street': "Rue Neuve 1", 'post_box': '',
                        'postal_code': '1000', 'city': "Bruxelles",
                        'country': 'be',
                        }, {
                        'street': "1 Rue de Rivoli", 'post_box': 'BP 12',
                        'postal_code': '75001', 'city': "Paris",
                        'country': 'FR',
                        }],
                'groups': ["Customers / VIP", "Friends", "Clubs / Chess"],
                })

        party = Party(party.id)
        values = contact_values.values_of([party])[party.id]
        self.assertEqual(values['name'], "Alice Liddell")
        self.assertEqual(party.google_organization, None)
        self.assertEqual(
            sorted(values['emails']),
            ['alice@example.com', 'alice@work.example.com'])
        self.assertEqual(sorted(values['phones'], key=lambda p: p['e164']), [
                {'type': 'phone', 'value': '+32 2 555 12 34',
                    'e164': '+3225551234'},
                {'type': 'fax', 'value': '+32 2 555 99 99',
                    'e164': '+3225559999'},
                {'type': 'mobile', 'value': '+33 6 12 34 56 78',
                    'e164': '+33612345678'},
                ])
        self.assertEqual(values['website'], 'https://liddell.example.com')
        self.assertEqual(values['addresses'], [{
                    'street': "Rue Neuve 1", 'post_box': '',
                    'postal_code': '1000', 'city': "Bruxelles",
                    'country': 'BE',
                    }, {
                    'street': "1 Rue de Rivoli", 'post_box': 'BP 12',
                    'postal_code': '75001', 'city': "Paris",
                    'country': 'FR',
                    }])
        self.assertEqual(
            values['groups'],
            ["Clubs / Chess", "Customers / VIP", "Friends"])
        # The street did not change: its structure is kept.
        address = Address(address.id)
        self.assertEqual(
            (address.street_name, address.building_number, address.city),
            ("Rue Neuve", '1', "Bruxelles"))
        # Removed values are archived, never deleted; kept ones unchanged.
        with Transaction().set_context(active_test=False):
            archived = {
                m.value: m.active for m in Mechanism.search([
                        ('party', '=', party.id)])}
        self.assertEqual(archived['+32 470 12 34 56'], False)
        self.assertEqual(archived['https://alice.example.com'], False)
        self.assertEqual(archived['alice@example.com'], True)
        self.assertEqual(archived['alice'], True)  # skype: not synchronized
        self.assertEqual(
            Mechanism(mechanisms['+32 2 555 12 34'].id).active, True)
        # Categories by full name: created at the top level, or below the
        # parents the name gives.
        friends, = Category.search([('name', '=', "Friends")])
        self.assertIsNone(friends.parent)
        chess, = Category.search([('name', '=', "Chess")])
        self.assertEqual(chess.parent.name, "Clubs")

        # An address no longer listed is archived; a changed street is
        # written through the setter (its text replaces the structure).
        contact_values.apply(party, {'addresses': [{
                        'street': "Boulevard Anspach 2", 'post_box': '',
                        'postal_code': '1000', 'city': "Bruxelles",
                        'country': 'XX',
                        }]})
        address = Address(address.id)
        self.assertEqual(
            (address.active, address.street, address.street_name,
                address.country),
            (True, "Boulevard Anspach 2", None, None))
        with Transaction().set_context(active_test=False):
            self.assertEqual(
                sorted(a.active for a in Address.search([
                            ('party', '=', party.id)])), [False, True])

        # Emptied.
        contact_values.apply(party, {
                'emails': [], 'phones': [], 'website': '', 'groups': [],
                'addresses': []})
        values = contact_values.values_of([Party(party.id)])[party.id]
        self.assertEqual(
            [values[k] for k in [
                    'emails', 'phones', 'website', 'addresses', 'groups']],
            [[], [], '', [], []])

    @with_transaction()
    def test_apply_order(self):
        "Test addresses are numbered as the values list them"
        pool = Pool()
        Party = pool.get('party.party')
        party = self.create_party()
        first = {'street': "A", 'post_box': '', 'postal_code': '',
            'city': "One", 'country': ''}
        second = dict(first, street="B", city="Two")
        contact_values.apply(party, {'addresses': [first, second]})
        contact_values.apply(party, {'addresses': [second, first]})
        values = contact_values.values_of([Party(party.id)])[party.id]
        self.assertEqual(values['addresses'], [second, first])

    @with_transaction()
    def test_create_party(self):
        "Test a party made of contact values"
        self.country()
        party = contact_values.create_party({
                'name': "Bob", 'organization': "Builders",
                'emails': ['bob@example.com'],
                'phones': [{'type': 'mobile', 'value': '+32470998877'}],
                'addresses': [{'city': "Liège", 'country': 'BE'}],
                'groups': ["Suppliers"],
                })
        self.assertTrue(party.code)
        values = contact_values.values_of([party])[party.id]
        self.assertEqual(values['phones'], [{
                    'type': 'mobile', 'value': '+32 470 99 88 77',
                    'e164': '+32470998877'}])
        self.assertEqual(values['groups'], ["Suppliers"])
        self.assertEqual(values['addresses'][0]['city'], "Liège")

    # Buttons

    @with_transaction()
    def test_sync_contacts(self):
        "Test Sync Contacts Now calls the sidecar and notifies what it did"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        self.assertIn('sync_contacts', Credentials._buttons)
        self.sidecar.result({
                'created': 2, 'updated': 1, 'archived': 0, 'pushed': 3,
                'deleted': 1, 'conflicts': 1, 'held': 0})

        with self.sidecar_config(), \
                patch.object(Bus, 'publish') as publish, \
                Transaction().set_context(client='bus-id'):
            self.assertEqual(Credentials.sync_contacts([record]), 'reload')

        request, = self.sidecar.requests
        self.assertEqual(
            (request['json']['method'], request['json']['params']),
            ('contacts.sync', {
                    'database': Transaction().database.name,
                    'credential_id': record.id}))
        (_, message), _ = publish.call_args
        self.assertEqual(
            message['title'],
            'Google contacts of "Main" synchronized: 2 created, 1 updated, '
            '0 archived in Tryton, 3 sent to Google, 1 deleted in Google.')
        self.assertEqual(
            message['body'],
            "1 contacts changed in both Tryton and Google: "
            "see the Contact Conflicts.")

        self.sidecar.error(
            -32011, "contacts not listed", 'service_not_enabled')
        with self.sidecar_config(), \
                self.assertRaises(exceptions.ServiceNotEnabledError) as cm:
            Credentials.sync_contacts([record])
        self.assertIn('"Main"', cm.exception.message)
        self.sidecar.error(
            -32012, "TRYTOND_URL is not set", 'tryton_unreachable')
        with self.sidecar_config(), \
                self.assertRaises(exceptions.TrytonUnreachableError) as cm:
            Credentials.sync_contacts([record])
        self.assertEqual(cm.exception.description, "TRYTOND_URL is not set")

    @with_transaction()
    def test_allow_deletions(self):
        "Test Allow Deletions copies the held deletions and queues a round"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        self.add_job_schema()
        self.reset_contacts_jobs()
        record = self.set_columns(
            record, contacts_status='held', contacts_held_deletions=42)

        Credentials.allow_deletions([record])

        self.assertEqual(Credentials(record.id).contacts_allowed_deletions, 42)
        self.assertEqual(
            [c[4] for c in self.job_calls()], [f'sync_contacts:{record.id}'])

    @with_transaction()
    def test_buttons_states(self):
        "Test when the contacts buttons show"
        Credentials = Pool().get('google_integration.google_credentials')
        from trytond.pyson import PYSONDecoder, PYSONEncoder

        def visible(button, **values):
            invisible = Credentials._buttons[button]['invisible']
            return not PYSONDecoder(values).decode(
                PYSONEncoder().encode(invisible))

        self.assertTrue(visible(
                'sync_contacts', state='authorized',
                services=['calendar', 'contacts'], contacts_status='none'))
        self.assertFalse(visible(
                'sync_contacts', state='authorized', services=['calendar'],
                contacts_status='none'))
        self.assertFalse(visible(
                'sync_contacts', state='without_authorization',
                services=['contacts'], contacts_status='none'))
        self.assertTrue(visible('allow_deletions', contacts_status='held'))
        self.assertFalse(visible('allow_deletions', contacts_status='ok'))

    # Conflicts

    def insert_conflict(self, credential, party, kind, kept, lost, fields):
        "Insert a conflict as the sidecar does (its state left to SQL)"
        ContactConflict = Pool().get('google_integration.contact_conflict')
        return ContactConflict(self.insert(
                'google_integration.contact_conflict',
                party=party.id if party else None, credential=credential.id,
                kind=kind, winner='google', fields=fields,
                kept=json.dumps(kept), lost=json.dumps(lost)))

    @with_transaction()
    def test_conflict_apply(self):
        "Test Apply writes the lost values onto the party, which pushes them"
        pool = Pool()
        Party = pool.get('party.party')
        ContactConflict = pool.get('google_integration.contact_conflict')
        record = self.create_credentials()
        party = self.create_party("Alice")
        contact_values.apply(party, {'emails': ['alice@example.com']})
        self.set_synced()
        conflict = self.insert_conflict(
            record, party, 'edit',
            {'name': "Alice G.", 'emails': ['alice@google.example.com']},
            {'name': "Alice T.", 'emails': ['alice@example.com'],
                'phones': [{'type': 'mobile', 'value': '+32470123456',
                        'e164': '+32470123456'}],
                'addresses': [{'street': "Rue Neuve 1", 'post_box': '',
                        'postal_code': '1000', 'city': "Brussels",
                        'country': 'BE'}]},
            'name,emails')

        self.assertEqual(conflict.state, 'open')
        self.assertEqual(conflict.rec_name, "Alice")
        self.assertEqual(conflict.field_labels, "Name, E-mails")
        self.assertEqual(
            conflict.kept_version,
            "Name: Alice G.\nE-mails: alice@google.example.com")
        self.assertEqual(
            conflict.lost_version,
            "Name: Alice T.\nE-mails: alice@example.com\n"
            "Phones: +32470123456 (Mobile)\n"
            "Addresses: Rue Neuve 1, 1000 Brussels, BE")

        ContactConflict.apply([conflict])

        party = Party(party.id)
        self.assertEqual(party.name, "Alice T.")
        self.assertEqual(ContactConflict(conflict.id).state, 'applied')
        self.assertEqual(self.status(party, record), 'pending_push')

        # The party of a deletion that won is brought back.
        Party.write([party], {'active': False})
        conflict = self.insert_conflict(
            record, party, 'delete', {}, {'name': "Alice Back"}, 'name')
        self.assertEqual(conflict.kept_version, "Deleted")
        ContactConflict.apply([conflict])
        party = Party(party.id)
        self.assertEqual((party.active, party.name), (True, "Alice Back"))

        # A party deleted since: an edit can not be applied; a deletion makes
        # a new party.
        edit = self.insert_conflict(
            record, None, 'edit', {'name': "X"}, {'name': "Gone"}, 'name')
        with self.assertRaises(exceptions.ContactConflictError):
            ContactConflict.apply([edit])
        deletion = self.insert_conflict(
            record, None, 'delete', {}, {'name': "Carol"}, 'name')
        ContactConflict.apply([deletion])
        deletion = ContactConflict(deletion.id)
        self.assertEqual(
            (deletion.state, deletion.party.name), ('applied', "Carol"))

        ContactConflict.dismiss([edit])
        self.assertEqual(ContactConflict(edit.id).state, 'dismissed')

    # Access

    @with_transaction()
    def test_access(self):
        "Test who reads the rows and conflicts; nobody makes them in the UI"
        pool = Pool()
        PartyContact = pool.get('google_integration.party_contact')
        ContactConflict = pool.get('google_integration.contact_conflict')
        record = self.create_credentials()
        party = self.create_party()
        conflict = self.insert_conflict(
            record, party, 'edit', {'name': "A"}, {'name': "B"}, 'name')
        calendar_user = self.create_user('calendar', 'group_google_calendar')
        admin = self.create_user(
            'gadmin', 'group_google_integration_admin')
        plain = self.create_user('plain')
        transaction = Transaction()

        for user, readable in [
                (calendar_user, True), (admin, True), (plain, False)]:
            with self.subTest(user=user.login), \
                    transaction.set_user(user.id), \
                    transaction.set_context(_check_access=True):
                if readable:
                    self.assertEqual(len(PartyContact.search([
                                    ('party', '=', party.id)])), 1)
                    self.assertEqual(ContactConflict.search([]), [conflict])
                else:
                    with self.assertRaises(AccessError):
                        PartyContact.search([])
                    with self.assertRaises(AccessError):
                        ContactConflict.search([])
                with self.assertRaises(AccessError):
                    PartyContact.create([{
                                'party': party.id,
                                'credential': record.id}])
                with self.assertRaises(AccessError):
                    ContactConflict.delete([conflict])
                # A plain user saves parties all the same: the rows are the
                # module's.
                self.create_party("Saved by " + user.login)

    @with_transaction()
    def test_translations(self):
        "Test every term of the module has its French translation"
        pool = Pool()
        Translation = pool.get('ir.translation')
        TranslationSet = pool.get('ir.translation.set', type='wizard')
        # The terms of the views too.
        session_id, _, _ = TranslationSet.create()
        TranslationSet(session_id).transition_set_()
        po_path = os.path.join(
            os.path.dirname(credentials_module.__file__), 'locale', 'fr.po')
        Translation.translation_import('fr', 'google_integration', po_path)
        terms = Translation.search([
                ('lang', '=', 'en'),
                ('module', '=', 'google_integration'),
                ('src', 'not in', [None, '']),
                ])
        missing = []
        for term in terms:
            if not Translation.search([
                        ('lang', '=', 'fr'),
                        ('module', '=', 'google_integration'),
                        ('name', '=', term.name),
                        ('type', '=', term.type),
                        ('res_id', '=', term.res_id),
                        ('src', '=', term.src),
                        ('value', 'not in', [None, '']),
                        ('fuzzy', '=', False),
                        ]):
                missing.append((term.type, term.name, term.src))
        self.assertEqual(missing, [])
        with Transaction().set_context(language='fr'):
            Credentials = pool.get('google_integration.google_credentials')
            services = Credentials.fields_get(['services'])['services']
            self.assertEqual(
                services['selection'],
                [('calendar', "Google Agenda"),
                    ('contacts', "Google Contacts")])
            record = self.create_credentials()
            self.assertEqual(
                Credentials(record.id).service_status,
                "Google Agenda : non accordé : cliquez sur « Autoriser à "
                "nouveau »\n"
                "Google Contacts : non accordé : cliquez sur « Autoriser à "
                "nouveau »")


class ContactsRouteTestCase(_ContactsMixin, RouteTestCase):
    "Test the module's route, as the sidecar calls it"

    @classmethod
    def setUpDatabase(cls):
        pool = Pool()
        Application = pool.get('res.user.application')
        Credentials = pool.get('google_integration.google_credentials')
        Category = pool.get('party.category')
        Country = pool.get('country.country')
        Country.create([
                {'code': 'BE', 'name': "Belgium"},
                {'code': 'FR', 'name': "France"}])
        customers, = Category.create([{'name': "Customers"}])
        # Saving the first credential that lists contacts makes the key
        # (of the user who saves it: admin here).
        client = {'client_id': 'id', 'client_secret': 'secret'}
        main, calendar, scoped = Credentials.create([{
                    'name': "Main", 'services': ['calendar', 'contacts'],
                    **client,
                    }, {
                    'name': "Calendar only", 'services': ['calendar'],
                    **client,
                    }, {
                    'name': "Customers", 'services': ['contacts'],
                    'contacts_scope': 'categories',
                    'contacts_categories': [('add', [customers.id])],
                    **client,
                    }])
        application, = Application.search([
                ('application', '=', 'google_integration'),
                ('state', '=', 'validated'),
                ])
        cls.key = application.key
        cls.main, cls.calendar, cls.scoped = main.id, calendar.id, scoped.id
        cls.customers = customers.id

    def post(self, action, body=None, key=None, data=None, method='POST'):
        headers = {}
        if key is not False:
            headers['Authorization'] = f'Bearer {key or self.key}'
        if data is None:
            data = json.dumps(body if body is not None else {})
        return self.client().open(
            f'/{DB_NAME}/google_integration/contacts/{action}',
            method=method, data=data, headers=headers,
            content_type='application/json')

    def assertAnswer(self, response, status, error=None):
        self.assertEqual(response.status_code, status, msg=response.data)
        if error:
            self.assertEqual(
                response.headers['Content-Type'], 'application/json')
            self.assertEqual(json.loads(response.data)['error'], error)
        return json.loads(response.data) if status != 401 else None

    def committed(self):
        "A transaction that commits, as the route's own does"
        return Transaction().start(DB_NAME, 1)

    def test_authentication(self):
        "Test the route needs a validated key of the application"
        body = {'credential_id': self.main, 'limit': 1}
        self.assertAnswer(self.post('pending', body, key=False), 401)
        self.assertAnswer(self.post('pending', body, key='wrong'), 401)
        with self.committed():
            Application = Pool().get('res.user.application')
            other, rest = Application.create([{
                        'user': 1, 'application': 'google_integration'}, {
                        'user': 1, 'application': 'rest'}])
            Application.cancel([other])
            other_key, rest_key = other.key, rest.key
        self.assertAnswer(self.post('pending', body, key=other_key), 401)
        self.assertAnswer(self.post('pending', body, key=rest_key), 401)
        self.assertAnswer(self.post('pending', body), 200)

    def test_not_found(self):
        "Test unknown actions and credentials that do not list contacts"
        self.assertAnswer(
            self.post('delete', {'credential_id': self.main}), 404,
            'not_found')
        for credential in [self.calendar, 2 ** 31 - 1]:
            with self.subTest(credential=credential):
                self.assertAnswer(
                    self.post('pending', {'credential_id': credential}),
                    404, 'credential_not_found')
        self.assertEqual(
            self.post('pending', {}, method='GET').status_code, 405)

    def test_bad_request(self):
        "Test malformed bodies are refused with 400"
        main = self.main
        long = 'x' * 5000
        for action, data in [
                ('pending', 'not json'),
                ('pending', '[1]'),
                ('pending', b'\xff'),
                ('pending', {}),
                ('pending', {'credential_id': '1'}),
                ('pending', {'credential_id': True}),
                ('pending', {'credential_id': 0}),
                ('pending', {'credential_id': 2 ** 31}),
                ('pending', {'credential_id': main, 'limit': 0}),
                ('pending', {'credential_id': main, 'limit': 1001}),
                ('pending', {'credential_id': main, 'other': 1}),
                ('read', {'credential_id': main}),
                ('read', {'credential_id': main, 'party_ids': [1, 'a']}),
                ('read', {
                        'credential_id': main,
                        'party_ids': list(range(1, 1002))}),
                ('match', {'credential_id': main, 'emails': 'a@b.c'}),
                ('match', {'credential_id': main, 'emails': [None]}),
                ('match', {
                        'credential_id': main, 'emails': ['a@b.c'] * 1001}),
                ('apply', {'credential_id': main, 'changes': {}}),
                ('apply', {
                        'credential_id': main,
                        'changes': [{'op': 'create'}] * 201}),
                ('apply', {
                        'credential_id': main,
                        'changes': [{'op': 'delete', 'party_id': 1}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'create', 'values': {}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'create', 'resource_name': ' ',
                                'values': {}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'archive', 'party_id': 1,
                                'values': {}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'update', 'party_id': 1,
                                'resource_name': 'people/c1',
                                'values': {'name': 1}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'create', 'resource_name': 'people/c1',
                                'values': {'name': long}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'create', 'resource_name': 'people/c1',
                                'values': {'notes': "x"}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'create', 'resource_name': 'people/c1',
                                'values': {'phones': [{
                                            'type': 'pager',
                                            'value': '1'}]}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'create', 'resource_name': 'people/c1',
                                'values': {'addresses': [{
                                            'city': ["Paris"]}]}}]}),
                ('apply', {'credential_id': main, 'changes': [{
                                'op': 'create', 'resource_name': 'people/c1',
                                'values': {'emails': ['a'] * 101}}]}),
                ]:
            with self.subTest(action=action, data=str(data)[:80]):
                if not isinstance(data, (str, bytes)):
                    data = json.dumps(data)
                answer = self.assertAnswer(
                    self.post(action, data=data), 400, 'bad_request')
                self.assertTrue(answer['message'])

    def create_alice(self, email='Alice@Example.com'):
        "Alice, in Belgium, with an e-mail and a phone (committed)"
        with self.committed():
            pool = Pool()
            Party = pool.get('party.party')
            Country = pool.get('country.country')
            belgium, = Country.search([('code', '=', 'BE')])
            alice, = Party.create([{
                        'name': "Alice",
                        'addresses': [('create', [{
                                        'street': "Rue Neuve 1",
                                        'city': "Brussels",
                                        'country': belgium.id}])],
                        }])
            Party.write([alice], {'contact_mechanisms': [('create', [
                                {'type': 'email', 'value': email},
                                {'type': 'phone', 'value': '02 555 12 34'},
                                ])]})
            return alice.id

    def test_pending_and_read(self):
        "Test pending answers the pending parties, oldest first; read any"
        alice = self.create_alice()
        with self.committed():
            Party = Pool().get('party.party')
            bob, carol = Party.create([{'name': "Bob"}, {'name': "Carol"}])
            Party.write([carol], {'active': False})
            bob, carol = bob.id, carol.id

        answer = self.assertAnswer(self.post('pending', {
                    'credential_id': self.main, 'limit': 1000}), 200)
        parties = [p for p in answer['parties'] if p['party_id'] in {
                alice, bob, carol}]
        # Carol was archived once in scope: her row waits (for nothing to
        # delete at Google, as she has no contact yet).
        self.assertEqual(
            [(p['party_id'], p['active']) for p in parties],
            [(alice, True), (bob, True), (carol, False)])
        state = parties[0]
        self.assertEqual(sorted(state), [
                'active', 'contact_id', 'in_scope', 'local_write',
                'party_id', 'replaced_by', 'resource_name', 'values'])
        self.assertIsInstance(state['contact_id'], int)
        self.assertTrue(state['local_write'].endswith('Z'))
        dt.datetime.fromisoformat(state['local_write'][:-1])
        self.assertEqual(
            (state['active'], state['replaced_by'], state['resource_name'],
                state['in_scope']),
            (True, None, None, True))
        self.assertEqual(state['values'], {
                'name': "Alice", 'organization': '',
                'emails': ['Alice@Example.com'],
                'phones': [{'type': 'phone', 'value': '+32 2 555 12 34',
                        'e164': '+3225551234'}],
                'website': '',
                'addresses': [{'street': "Rue Neuve 1", 'post_box': '',
                        'postal_code': '', 'city': "Brussels",
                        'country': 'BE'}],
                'groups': []})
        answer = self.assertAnswer(self.post('pending', {
                    'credential_id': self.main, 'limit': 1}), 200)
        self.assertEqual(len(answer['parties']), 1)
        # The scoped credential has none of them.
        answer = self.assertAnswer(self.post('pending', {
                    'credential_id': self.scoped}), 200)
        self.assertFalse({p['party_id'] for p in answer['parties']} & {
                alice, bob, carol})

        answer = self.assertAnswer(self.post('read', {
                    'credential_id': self.scoped,
                    'party_ids': [carol, 2 ** 31 - 1, alice]}), 200)
        self.assertEqual(
            [(p['party_id'], p['active'], p['contact_id'], p['in_scope'])
                for p in answer['parties']],
            [(carol, False, None, False), (alice, True, None, False)])

    def test_match(self):
        "Test match finds parties in scope, without a link, by e-mail"
        alice = self.create_alice('Alice@Match.example.com')
        body = {'credential_id': self.main, 'emails': [
                'ALICE@match.example.COM', 'nobody@example.com']}
        answer = self.assertAnswer(self.post('match', body), 200)
        self.assertEqual(answer['matches'], [
                {'email': 'ALICE@match.example.COM', 'party_id': alice}])
        self.assertNotIn(
            'nobody@example.com', [m['email'] for m in answer['matches']])
        # Out of the scope of the credential.
        answer = self.assertAnswer(self.post('match', dict(
                    body, credential_id=self.scoped)), 200)
        self.assertEqual(answer['matches'], [])
        # Linked to a contact of the account already.
        with self.committed():
            PartyContact = Pool().get('google_integration.party_contact')
            table = PartyContact.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.resource_name], ['people/c-alice'],
                    where=(table.party == alice)
                    & (table.credential == self.main)))
        answer = self.assertAnswer(self.post('match', body), 200)
        self.assertNotIn(alice, [m['party_id'] for m in answer['matches']])

    def test_apply(self):
        "Test apply creates, updates and archives parties, read back"
        alice = self.create_alice('alice@apply.example.com')
        with self.committed():
            pool = Pool()
            Party = pool.get('party.party')
            bob, = Party.create([{'name': "Bob"}])
            bob = bob.id
        changes = [{
                'op': 'create', 'resource_name': 'people/c-dave',
                'values': {
                    'name': "Dave", 'organization': "Dave & Co",
                    'emails': ['dave@example.com'],
                    'phones': [{'type': 'mobile', 'value': '0470 11 22 33',
                            'e164': '+32470112233'}],
                    'website': '',
                    'addresses': [{'street': "Rue Haute 5", 'post_box': '',
                            'postal_code': '1000', 'city': "Brussels",
                            'country': 'BE'}],
                    'groups': ["Customers"],
                    },
                }, {
                'op': 'update', 'party_id': alice,
                'resource_name': 'people/c-alice',
                'values': {
                    'name': "Alice Liddell",
                    'emails': ['alice@work.example.com'],
                    },
                }, {
                'op': 'archive', 'party_id': bob,
                }]
        answer = self.assertAnswer(self.post('apply', {
                    'credential_id': self.main, 'changes': changes}), 200)

        dave_result, alice_result, bob_result = answer['results']
        dave = dave_result['party_id']
        self.assertEqual(dave_result['values'], {
                'name': "Dave", 'organization': "Dave & Co",
                'emails': ['dave@example.com'],
                # Read back as Tryton formatted it.
                'phones': [{'type': 'mobile', 'value': '+32 470 11 22 33',
                        'e164': '+32470112233'}],
                'website': '',
                'addresses': [{'street': "Rue Haute 5", 'post_box': '',
                        'postal_code': '1000', 'city': "Brussels",
                        'country': 'BE'}],
                'groups': ["Customers"]})
        self.assertEqual(alice_result['party_id'], alice)
        self.assertEqual(
            alice_result['values']['emails'], ['alice@work.example.com'])
        self.assertEqual(alice_result['values']['name'], "Alice Liddell")
        self.assertEqual(bob_result['party_id'], bob)
        self.assertIsInstance(bob_result['contact_id'], int)
        with self.committed():
            pool = Pool()
            Party = pool.get('party.party')
            Mechanism = pool.get('party.contact_mechanism')
            main = pool.get('google_integration.google_credentials')(
                self.main)
            scoped = pool.get('google_integration.google_credentials')(
                self.scoped)
            rows = self.rows(credential=main)
            self.assertEqual(
                rows[(dave, self.main)][::2], ('synced', 'people/c-dave'))
            self.assertEqual(dave_result['contact_id'], self.rows_ids(
                    dave, main))
            self.assertEqual(
                rows[(alice, self.main)][::2], ('synced', 'people/c-alice'))
            # No echo for this account; another account whose scope Dave
            # entered (his group) gets him.
            self.assertEqual(self.status(Party(dave), scoped), 'pending_push')
            self.assertFalse(Party(bob).active)
            self.assertEqual(rows[(bob, self.main)][0], 'synced')
            with Transaction().set_context(active_test=False):
                emails = {
                    m.value: m.active for m in Mechanism.search([
                            ('party', '=', alice), ('type', '=', 'email')])}
            self.assertEqual(emails, {
                    'alice@apply.example.com': False,
                    'alice@work.example.com': True})

        # The same contact handed to another party: one party a contact.
        answer = self.assertAnswer(self.post('apply', {
                    'credential_id': self.main, 'changes': [{
                            'op': 'update', 'party_id': bob,
                            'resource_name': 'people/c-dave',
                            'values': {}}]}), 200)
        with self.committed():
            main = Pool().get('google_integration.google_credentials')(
                self.main)
            rows = self.rows(credential=main)
            self.assertEqual(rows[(bob, self.main)][2], 'people/c-dave')
            self.assertIsNone(rows[(dave, self.main)][2])

    def rows_ids(self, party, credential):
        PartyContact = Pool().get('google_integration.party_contact')
        row, = PartyContact.search([
                ('party', '=', party), ('credential', '=', credential.id)])
        return row.id

    def test_apply_refused(self):
        "Test a change Tryton refuses answers 422 and keeps nothing"
        alice = self.create_alice('alice@refused.example.com')
        answer = self.assertAnswer(self.post('apply', {
                    'credential_id': self.main, 'changes': [{
                            'op': 'create', 'resource_name': 'people/c-eve',
                            'values': {'name': "Eve"}}, {
                            'op': 'update', 'party_id': alice,
                            'resource_name': 'people/c-alice',
                            'values': {'phones': [{
                                        'type': 'phone',
                                        'value': 'not a number'}]}}]}),
            422, 'tryton_error')
        self.assertIn('not a number', answer['message'])
        with self.committed():
            Party = Pool().get('party.party')
            self.assertEqual(Party.search([('name', '=', "Eve")]), [])

        answer = self.assertAnswer(self.post('apply', {
                    'credential_id': self.main, 'changes': [{
                            'op': 'archive', 'party_id': 2 ** 31 - 1}]}),
            422, 'party_not_found')

    def test_apply_create_repeated(self):
        "Test a create whose contact has a party already updates that party"
        def apply(changes, credential=None):
            answer = self.assertAnswer(self.post('apply', {
                        'credential_id': credential or self.main,
                        'changes': changes}), 200)
            return answer['results']

        frank = {
            'op': 'create', 'resource_name': 'people/c-frank',
            'values': {'name': "Frank", 'emails': ['frank@example.com']},
            }
        first, = apply([frank])
        # The sidecar gave up waiting for the answer, the transaction
        # committed: the next round creates the contact again.
        phones = [{'type': 'mobile', 'value': '+32470998877'}]
        again, = apply([
                dict(frank, values=dict(frank['values'], phones=phones))])
        self.assertEqual(
            (again['party_id'], again['contact_id']),
            (first['party_id'], first['contact_id']))
        self.assertEqual(again['values']['phones'], [{
                    'type': 'mobile', 'value': '+32 470 99 88 77',
                    'e164': '+32470998877'}])
        self.assertEqual(again['values']['emails'], ['frank@example.com'])
        # Twice in one call: one party, read back as the last one left it.
        grace = {
            'op': 'create', 'resource_name': 'people/c-grace',
            'values': {'name': "Grace"},
            }
        one, two = apply([grace, dict(grace, values={'name': "Grace H."})])
        self.assertEqual(one['party_id'], two['party_id'])
        self.assertEqual(one['contact_id'], two['contact_id'])
        self.assertEqual(two['values']['name'], "Grace H.")
        # Another account's contact of that name is another contact.
        other, = apply([frank], credential=self.scoped)
        self.assertNotEqual(other['party_id'], first['party_id'])
        with self.committed():
            pool = Pool()
            Party = pool.get('party.party')
            PartyContact = pool.get('google_integration.party_contact')
            self.assertEqual(len(Party.search([
                            ('name', 'in', ["Frank", "Grace", "Grace H."]),
                            ])), 3)
            rows = PartyContact.search([
                    ('resource_name', 'in', [
                            'people/c-frank', 'people/c-grace']),
                    ], order=[('id', 'ASC')])
            self.assertEqual(
                [(r.party.id, r.credential.id, r.sync_status)
                    for r in rows],
                [(first['party_id'], self.main, 'synced'),
                    (one['party_id'], self.main, 'synced'),
                    (other['party_id'], self.scoped, 'synced')])
            # Its party deleted, the contact is a new party again.
            Party.delete([Party(first['party_id'])])
        third, = apply([frank])
        self.assertNotIn(
            third['party_id'], [first['party_id'], other['party_id']])

    def test_apply_batch(self):
        "Test the creates of a call are made together, answered in order"
        alice = self.create_alice('alice@batch.example.com')
        changes = []
        for i in range(50):
            if i == 25:
                changes.append({
                        'op': 'update', 'party_id': alice,
                        'resource_name': 'people/c-alice-batch',
                        'values': {'name': "Alice Batch"},
                        })
            changes.append({
                    'op': 'create', 'resource_name': f'people/batch-{i}',
                    'values': {
                        'name': f" Person {i} ", 'organization': "",
                        'emails': [f' Person{i}@Batch.example.com ', ''],
                        # National: placed in Belgium by the address.
                        'phones': [{'type': 'mobile',
                                'value': f'0470 12 34 {i:02}', 'e164': ''}],
                        'website': f'https://{i}.example.com',
                        'addresses': [{'street': f"Rue {i}",
                                'postal_code': '1000', 'city': "Brussels",
                                'country': 'be'}],
                        'groups': ["Batch / Members", "Customers"],
                        },
                    })
        answer = self.assertAnswer(self.post('apply', {
                    'credential_id': self.main, 'changes': changes}), 200)

        results = answer['results']
        self.assertEqual(len(results), 51)
        self.assertEqual(results[25]['party_id'], alice)
        self.assertEqual(results[25]['values']['name'], "Alice Batch")
        created = results[:25] + results[26:]
        self.assertEqual(len({r['party_id'] for r in created}), 50)
        for i, result in enumerate(created):
            with self.subTest(i=i):
                self.assertEqual(result['values'], {
                        'name': f"Person {i}", 'organization': '',
                        'emails': [f'Person{i}@Batch.example.com'],
                        'phones': [{'type': 'mobile',
                                'value': f'+32 470 12 34 {i:02}',
                                'e164': f'+324701234{i:02}'}],
                        'website': f'https://{i}.example.com',
                        'addresses': [{'street': f"Rue {i}", 'post_box': '',
                                'postal_code': '1000', 'city': "Brussels",
                                'country': 'BE'}],
                        'groups': ["Batch / Members", "Customers"]})
        with self.committed():
            pool = Pool()
            Category = pool.get('party.category')
            PartyContact = pool.get('google_integration.party_contact')
            members, = Category.search([('name', '=', "Members")])
            self.assertEqual(members.parent.name, "Batch")
            rows = {r.id: r for r in PartyContact.search([
                        ('credential', '=', self.main),
                        ('resource_name', 'like', 'people/batch-%'),
                        ])}
            self.assertEqual(
                sorted((r['contact_id'], r['party_id']) for r in created),
                sorted((i, r.party.id) for i, r in rows.items()))
            self.assertEqual(
                {r.sync_status for r in rows.values()}, {'synced'})
            self.assertEqual(
                [rows[r['contact_id']].resource_name for r in created],
                [f'people/batch-{i}' for i in range(50)])

    def test_apply_statements(self):
        "Test the statements of a call of 200 creates, per party"
        changes = [{
                'op': 'create', 'resource_name': f'people/many-{i}',
                'values': {
                    'name': f"Many {i}", 'organization': '',
                    'emails': [f'many{i}@example.com'],
                    'phones': [{'type': 'phone' if i % 2 else 'mobile',
                            'value': f'+32 2 2{i:06}' if i % 2
                            else f'+32475{i:06}', 'e164': ''}],
                    'website': '', 'addresses': [], 'groups': [],
                    },
                } for i in range(200)]
        body = {'credential_id': self.main, 'changes': changes}
        statements = [0]
        execute = LoggingCursor.execute

        def counted(cursor, *args, **kwargs):
            statements[0] += 1
            return execute(cursor, *args, **kwargs)

        with patch.object(LoggingCursor, 'execute', counted):
            started = time.perf_counter()
            answer = self.assertAnswer(self.post('apply', body), 200)
            elapsed = time.perf_counter() - started
        self.assertEqual(len(answer['results']), 200)
        per_party = statements[0] / 200
        print(
            f"\napply of 200 creates: {per_party:.1f} statements, "
            f"{elapsed * 1000 / 200:.1f} ms a party", file=sys.stderr)
        # One Party.create for all: a few statements a party (searching
        # per party took 43).
        self.assertLess(per_party, 15)
