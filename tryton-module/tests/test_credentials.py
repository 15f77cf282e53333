# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""Google credentials: defaults, validation, the authorization buttons, copies,
the access tokens (docs/contracts.md, "Credentials table", "State
machine" and "Authorization")"""
import datetime as dt
from unittest.mock import patch

from trytond.bus import Bus
from trytond.model.exceptions import RequiredValidationError, ValidationError
from trytond.modules.google_integration import (
    credentials as credentials_module, exceptions)
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder, PYSONEncoder
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .fake_sidecar import SidecarTestMixin, config_get
from .tools import DatabaseTestCase, RecordsTestMixin


class CredentialsTestCase(
        SidecarTestMixin, RecordsTestMixin, DatabaseTestCase):
    "Test the credentials"

    @with_transaction()
    def test_credentials_defaults(self):
        "Test new credentials start without authorization"
        Credentials = Pool().get('google_integration.google_credentials')

        credentials = Credentials(
            name="Test", client_id='id', client_secret='secret')
        credentials.save()

        self.assertEqual(credentials.state, 'without_authorization')
        self.assertEqual(
            credentials.scopes, 'https://www.googleapis.com/auth/calendar')
        self.assertFalse(credentials.sync_enabled)

    @with_transaction()
    def test_owner_default(self):
        "Test the owner defaults to the user who creates the credentials"
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        Calendar = pool.get('google_integration.calendar')
        Event = pool.get('google_integration.event')
        Action = pool.get('ir.action.act_window')
        ActionDomain = pool.get('ir.action.act_window.domain')
        ModelData = pool.get('ir.model.data')
        manager = self.create_user(
            'manager', 'group_google_integration_admin')
        alice = self.create_user('alice', 'group_google_calendar')

        with self.as_user(manager):
            self.assertEqual(Credentials.default_owner(), manager.id)
            mine, = Credentials.create([{
                        'name': "Mine", 'client_id': 'id',
                        'client_secret': 'secret'}])
            # Credentials of someone else's account, or of nobody's, say so.
            alices, nobodys = Credentials.create([{
                        'name': "Alice's", 'client_id': 'id',
                        'client_secret': 'secret', 'owner': alice.id,
                        }, {
                        'name': "Nobody's", 'client_id': 'id',
                        'client_secret': 'secret', 'owner': None,
                        }])
            # A duplicate is the same account: the same owner.
            copy, = Credentials.copy([Credentials(alices.id)])
        self.assertEqual(
            [c.owner for c in Credentials.browse(
                    [c.id for c in [mine, alices, nobodys, copy]])],
            [manager, alice, None, alice])
        # Root (scripts, the sidecar's migrations) is nobody's account.
        with Transaction().set_user(0):
            self.assertIsNone(Credentials.default_owner())

        # Right after a sync, the events tab the window opens on ("My
        # Calendars") shows the events of the account of who connected it.
        calendar = Calendar(self.insert(
                'google_integration.calendar', credential=mine.id,
                google_id='primary', name="Primary", access_role='owner',
                sync_enabled=True))
        event_id = self.insert(
            'google_integration.event', calendar=calendar.id,
            google_id='e1', sync_status='synced', all_day=True,
            start_date=dt.date(2030, 1, 7), end_date=dt.date(2030, 1, 7))
        action = Action(ModelData.get_id(
                'google_integration', 'act_event_form'))
        tab = ActionDomain(ModelData.get_id(
                'google_integration', 'act_event_form_domain_mine'))
        self.assertEqual(
            min(action.act_window_domains, key=lambda d: d.sequence), tab)
        with self.as_user(manager):
            domain = [
                PYSONDecoder({'_user': manager.id}).decode(d)
                for d in [action.domain, tab.domain]]
            self.assertEqual(
                [e.id for e in Event.search(domain)], [event_id])

    @with_transaction()
    def test_redirect_uri_default_public_url(self):
        "Test redirect URI defaults to the sidecar public URL"
        Credentials = Pool().get('google_integration.google_credentials')
        database = Transaction().database.name

        with config_get({
                    'sidecar_public_url': 'https://sidecar.example.com/',
                    'sidecar_url': 'http://127.0.0.1:8200',
                    }):
            self.assertEqual(
                Credentials.default_redirect_uri(),
                f'https://sidecar.example.com/{database}/google/callback')

    @with_transaction()
    def test_redirect_uri_default_sidecar_url(self):
        "Test redirect URI falls back to the sidecar URL"
        Credentials = Pool().get('google_integration.google_credentials')
        database = Transaction().database.name

        with config_get({'sidecar_url': 'http://127.0.0.1:8200'}):
            self.assertEqual(
                Credentials.default_redirect_uri(),
                f'http://127.0.0.1:8200/{database}/google/callback')

    @with_transaction()
    def test_redirect_uri_default_unconfigured(self):
        "Test redirect URI is empty without sidecar configuration"
        Credentials = Pool().get('google_integration.google_credentials')

        with config_get({}):
            self.assertEqual(Credentials.default_redirect_uri(), '')

    @with_transaction()
    def test_redirect_uri_validation(self):
        "Test redirect URI must be an http(s) URL"
        Credentials = Pool().get('google_integration.google_credentials')

        client = {'client_id': 'id', 'client_secret': 'secret'}
        for uri in ['ftp://example.com/cb', 'example.com/cb', 'https://']:
            with self.subTest(uri=uri):
                credentials = Credentials(
                    name="Test", redirect_uri=uri, **client)
                with self.assertRaises(ValidationError):
                    credentials.save()

        credentials = Credentials(
            name="Test",
            redirect_uri='http://localhost:8200/db/google/callback',
            **client)
        credentials.save()

    @with_transaction()
    def test_client_required(self):
        "Test client ID and secret are required, without NOT NULL columns"
        Credentials = Pool().get('google_integration.google_credentials')

        for field in ['client_id', 'client_secret']:
            with self.subTest(field=field):
                values = {'client_id': 'id', 'client_secret': 'secret'}
                values[field] = None
                credentials = Credentials(name="Test", **values)
                with self.assertRaises(RequiredValidationError):
                    credentials.save()
                definition = Credentials.fields_get([field])[field]
                self.assertFalse(definition['required'])
                self.assertEqual(
                    PYSONDecoder().decode(
                        definition['states'])['required'], True)

        # The column stays nullable, as the sidecar's migration creates it.
        table = Credentials.__table_handler__()
        for field in ['client_id', 'client_secret']:
            self.assertEqual(
                table._columns[field]['notnull'], False, msg=field)

    @with_transaction()
    def test_buttons_visibility(self):
        "Test which buttons each state shows"
        Credentials = Pool().get('google_integration.google_credentials')
        encoder, decoder = PYSONEncoder(), PYSONDecoder
        expected = {
            'without_authorization': {'request_authorization'},
            'authorization_pending': {'request_authorization', 'revoke'},
            'authorized': {
                'reauthorize', 'refresh_credentials', 'revoke',
                'fetch_calendars', 'sync_now'},
            'authorization_expired': {'request_authorization', 'revoke'},
            }
        for state, buttons in expected.items():
            with self.subTest(state=state):
                visible = {
                    name for name, states in Credentials._buttons.items()
                    if not decoder({'state': state}).decode(
                        encoder.encode(states.get('invisible', False)))}
                self.assertEqual(visible, buttons)

    @with_transaction()
    def test_request_authorization(self):
        "Test request_authorization opens the consent page of the sidecar"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        url = 'https://accounts.google.com/o/oauth2/v2/auth?state=x'
        for method in [
                Credentials.request_authorization, Credentials.reauthorize,
                Credentials.authorize]:
            with self.subTest(method=method.__name__):
                self.sidecar.reset()
                self.sidecar.result({
                        'authorization_url': url,
                        'expires_at': '2030-01-01T10:10:00Z'})

                with self.sidecar_config():
                    action = method([record])

                self.assertEqual(action['type'], 'ir.action.url')
                self.assertEqual(action['url'], url)
                request, = self.sidecar.requests
                self.assertEqual(
                    request['json']['method'],
                    'credentials.request_authorization')
                self.assertEqual(request['json']['params'], {
                        'database': Transaction().database.name,
                        'credential_id': record.id,
                        })

    @with_transaction()
    def test_old_names_are_not_buttons(self):
        "Test authorize and refresh remain methods but not buttons nor RPC"
        Credentials = Pool().get('google_integration.google_credentials')

        for name in ['authorize', 'refresh']:
            with self.subTest(name=name):
                self.assertTrue(callable(getattr(Credentials, name)))
                self.assertNotIn(name, Credentials._buttons)
                self.assertNotIn(name, Credentials.__rpc__)
        for name in [
                'request_authorization', 'reauthorize', 'refresh_credentials',
                'revoke']:
            with self.subTest(name=name):
                self.assertIn(name, Credentials._buttons)
                self.assertIn(name, Credentials.__rpc__)

    @with_transaction()
    def test_authorize_incomplete(self):
        "Test authorize requires client ID, secret and redirect URI"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        # Tryton requires the client ID and secret, but a row may still lack
        # them (written in SQL, or saved by an earlier version).
        for field in ['client_id', 'client_secret', 'redirect_uri']:
            with self.subTest(field=field):
                incomplete, = Credentials.copy([record])
                incomplete = self.set_columns(incomplete, **{field: None})
                with self.sidecar_config(), self.assertRaises(
                        exceptions.CredentialIncompleteError):
                    Credentials.request_authorization([incomplete])
        self.assertEqual(self.sidecar.requests, [])

    @with_transaction()
    def test_authorize_one(self):
        "Test authorize refuses many records"
        Credentials = Pool().get('google_integration.google_credentials')
        records = [self.create_credentials(), self.create_credentials()]

        with self.sidecar_config(), \
                self.assertRaises(exceptions.AuthorizeError):
            Credentials.request_authorization(records)
        self.assertEqual(self.sidecar.requests, [])

    @with_transaction()
    def test_copy_without_sidecar_state(self):
        "Test a copy keeps the configuration, not the sidecar's state"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials(
            scopes='openid email', sync_enabled=True)
        sidecar_values = {
            'state': 'authorized',
            'oauth_state': 'digest',
            'code_verifier': 'gcm1.k.verifier',
            'authorization_url': 'https://accounts.google.com/o/oauth2',
            'authorization_requested_at': dt.datetime(2030, 1, 1, 9),
            'access_token': 'gcm1.k.access',
            'refresh_token': 'gcm1.k.refresh',
            'token_expiry': dt.datetime(2030, 1, 1, 10),
            'granted_scopes': 'openid email',
            'account_email': 'sales@example.com',
            'last_error': "Google granted fewer scopes",
            'last_sync': dt.datetime(2030, 1, 1, 9, 30),
            }
        record = self.set_columns(record, **sidecar_values)

        copy, = Credentials.copy([record])

        self.assertEqual(copy.state, 'without_authorization')
        for name in sidecar_values:
            if name != 'state':
                self.assertIsNone(getattr(copy, name), msg=name)
        for name in [
                'client_id', 'client_secret', 'redirect_uri', 'scopes',
                'sync_enabled']:
            self.assertEqual(
                getattr(copy, name), getattr(record, name), msg=name)
        # The caller's default still wins.
        other, = Credentials.copy([record], {'account_email': 'x@example.com'})
        self.assertEqual(other.account_email, 'x@example.com')

    @with_transaction()
    def test_client_change_warning(self):
        "Test changing the client of authorized credentials warns"
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        Warning = pool.get('res.user.warning')
        record = self.create_credentials()
        record = self.set_columns(record, state='authorized')
        other = self.create_credentials()

        with Transaction().set_context(_check_access=True):
            # Unauthorized credentials, or the same value: no warning.
            Credentials.write([other], {'client_secret': 'other'})
            Credentials.write([record], {
                    'client_secret': record.client_secret, 'name': "Main"})
            for field in ['client_id', 'client_secret']:
                with self.subTest(field=field):
                    with self.assertRaises(
                            exceptions.ClientChangeWarning) as cm:
                        Credentials.write([record], {field: 'new'})
                    self.assertIn('"Main"', cm.exception.message)
                    self.assertIn('Re-authorize', cm.exception.message)
            # Once the user accepted it, the change goes through.
            Warning(user=Transaction().user, name=cm.exception.name).save()
            Credentials.write([record], {'client_secret': 'new'})
        self.assertEqual(Credentials(record.id).client_secret, 'new')

        # Server code (not a user's request) is not asked.
        Credentials.write([record], {'client_id': 'new'})

    @with_transaction()
    def test_refresh_credentials(self):
        "Test refresh_credentials tells the user the new expiry and reloads"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        self.sidecar.result({
                'state': 'authorized', 'token_expiry': '2030-01-01T10:00:00Z'})
        self.sidecar.result({'state': 'authorized', 'token_expiry': None})

        with self.sidecar_config(), \
                patch.object(Bus, 'publish') as publish, \
                Transaction().set_context(
                    client='bus-id', timezone='Europe/Paris'):
            result = Credentials.refresh_credentials([record])
            Credentials.refresh_credentials([record])

        self.assertEqual(result, 'reload')
        (channel, message), _ = publish.call_args_list[0]
        self.assertEqual(channel, 'client:bus-id')
        self.assertEqual(message['type'], 'notification')
        self.assertEqual(
            message['title'],
            'The access token of credentials "Main" was refreshed.')
        self.assertEqual(
            message['body'],
            "It is valid until 01/01/2030\xa011:00:00 (Europe/Paris).")
        (channel, message), _ = publish.call_args_list[1]
        self.assertIsNone(message['body'])

        # Without a client to tell, nothing is published.
        self.sidecar.result({
                'state': 'authorized', 'token_expiry': '2030-01-01T10:00:00Z'})
        with self.sidecar_config(), \
                patch.object(Bus, 'publish') as publish:
            Credentials.refresh([record])
        publish.assert_not_called()

    @with_transaction()
    def test_authorization_notification(self):
        "Test the sidecar's function notifies who requested the authorization"
        pool = Pool()
        Log = pool.get('ir.model.log')
        Notification = pool.get('res.notification')
        User = pool.get('res.user')
        cursor = Transaction().connection.cursor()
        record = self.create_credentials()
        user = User(name="Requester", login='requester')
        user.save()

        def notify():
            cursor.execute(
                'SELECT google_integration_notify(%s)', (record.id,))
            return cursor.fetchone()[0]

        # Nobody clicked a button: nobody to tell.
        self.assertIsNone(notify())
        Log(resource=record, event='button', target='revoke',
            user=user).save()
        self.assertIsNone(notify())

        Log(resource=record, event='button', target='request_authorization',
            user=user).save()
        self.set_columns(
            record, state='authorized', account_email='sales@example.com')
        self.assertEqual(notify(), user.id)
        notification, = Notification.search([('user', '=', user.id)])
        self.assertEqual(
            notification.label, 'Google authorized credentials "Main".')
        self.assertEqual(notification.description, 'sales@example.com')
        self.assertEqual(
            notification.model, 'google_integration.google_credentials')
        self.assertEqual(notification.records, f'[{record.id}]')
        self.assertTrue(notification.unread)

        Log(resource=record, event='button', target='reauthorize',
            user=user).save()
        self.set_columns(
            record, state='without_authorization',
            last_error="Google consent was denied (access_denied)")
        self.assertEqual(notify(), user.id)
        notification, _ = Notification.search([('user', '=', user.id)])
        self.assertEqual(
            notification.label, 'Google did not authorize credentials "Main".')
        self.assertEqual(
            notification.description,
            "Google consent was denied (access_denied)")

        cursor.execute('SELECT google_integration_notify(%s)', (-1,))
        self.assertIsNone(cursor.fetchone()[0])

    @with_transaction()
    def test_refresh_revoke(self):
        "Test refresh and revoke call the sidecar for each record"
        Credentials = Pool().get('google_integration.google_credentials')
        record = self.create_credentials()
        database = Transaction().database.name
        self.sidecar.result({
                'state': 'authorized', 'token_expiry': '2030-01-01T10:00:00Z'})
        self.sidecar.result({'state': 'without_authorization'})

        with self.sidecar_config():
            Credentials.refresh_credentials([record])
            Credentials.revoke([record])

        self.assertEqual(
            [(r['json']['method'], r['json']['params'])
                for r in self.sidecar.requests], [
                ('credentials.refresh',
                    {'database': database, 'credential_id': record.id}),
                ('credentials.revoke',
                    {'database': database, 'credential_id': record.id}),
                ])

    @with_transaction()
    def test_get_credentials(self):
        "Test get_credentials returns google-auth credentials"
        from google.oauth2.credentials import Credentials as OAuth2Credentials
        record = self.create_credentials()
        scope = 'https://www.googleapis.com/auth/calendar'
        self.sidecar.result({
                'access_token': 'ya29.token',
                'token_expiry': '2030-01-01T12:00:00.000+02:00',
                'scopes': [scope],
                })

        with self.sidecar_config():
            credentials = record.get_credentials(
                min_validity=120, scopes=(scope,))

        self.assertIsInstance(credentials, OAuth2Credentials)
        self.assertEqual(credentials.token, 'ya29.token')
        self.assertEqual(credentials.expiry, dt.datetime(2030, 1, 1, 10, 0))
        self.assertEqual(credentials.scopes, [scope])
        self.assertTrue(credentials.valid)
        request, = self.sidecar.requests
        self.assertEqual(
            request['json']['method'], 'credentials.get_access_token')
        self.assertEqual(request['json']['params'], {
                'database': Transaction().database.name,
                'credential_id': record.id,
                'min_validity': 120,
                'scopes': [scope],
                })

        # google-auth refreshes through the sidecar
        self.sidecar.result({
                'access_token': 'ya29.new',
                'token_expiry': '2031-01-01T00:00:00Z',
                'scopes': [scope],
                })
        with self.sidecar_config():
            credentials.refresh(None)
        self.assertEqual(credentials.token, 'ya29.new')
        self.assertEqual(credentials.expiry, dt.datetime(2031, 1, 1))
        self.assertEqual(
            self.sidecar.requests[-1]['json']['params']['min_validity'], 300)
        self.assertEqual(
            self.sidecar.requests[-1]['json']['params']['scopes'], [scope])

    @with_transaction()
    def test_get_credentials_without_google_auth(self):
        "Test get_credentials without google-auth"
        record = self.create_credentials()
        self.sidecar.result({
                'access_token': 'ya29.token',
                'token_expiry': '2030-01-01T10:00:00Z',
                'scopes': ['a', 'b'],
                })

        with self.sidecar_config(), patch.object(
                credentials_module, 'OAuth2Credentials', None):
            credentials = record.get_credentials()

        self.assertIsInstance(credentials, credentials_module.AccessToken)
        self.assertEqual(credentials.token, 'ya29.token')
        self.assertEqual(credentials.expiry, dt.datetime(2030, 1, 1, 10, 0))
        self.assertEqual(credentials.scopes, ['a', 'b'])
        self.assertTrue(credentials.valid)
        self.assertNotIn('ya29', repr(credentials))
        headers = {}
        credentials.apply(headers)
        self.assertEqual(headers, {'authorization': 'Bearer ya29.token'})
        with self.assertRaises(AttributeError):
            credentials.token = 'other'
        self.assertEqual(
            self.sidecar.requests[0]['json']['params'], {
                'database': Transaction().database.name,
                'credential_id': record.id,
                'min_validity': 60,
                })

    @with_transaction()
    def test_get_credentials_not_authorized(self):
        "Test get_credentials raises the sidecar's error"
        record = self.create_credentials()
        self.sidecar.error(-32003, "not authorized", 'not_authorized')

        with self.sidecar_config(), \
                self.assertRaises(exceptions.NotAuthorizedError) as cm:
            record.get_credentials()
        self.assertIn('"Main"', cm.exception.message)
