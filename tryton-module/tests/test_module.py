# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
import datetime as dt
import json
import os
import socket
import time
from unittest.mock import patch
from zoneinfo import ZoneInfo

from lxml import etree

from trytond.bus import Bus
from trytond.model.exceptions import (
    AccessError, RequiredValidationError, ValidationError)
from trytond.modules.google_integration import (
    credentials as credentials_module, exceptions, sidecar)
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder, PYSONEncoder
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import (
    API_KEY, FakeSidecar, RecordsTestMixin, SidecarTestMixin, clear_cache,
    config_get)


def closed_port_url():
    "The URL of a local port nobody listens on"
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}'


class GoogleIntegrationTestCase(
        SidecarTestMixin, RecordsTestMixin, ModuleTestCase):
    "Test Google Integration module"
    module = 'google_integration'
    # The optional dependency (extras_depend), as Tryton's modules test
    # theirs: the standard checks then cover its views too.
    extras = ['party']

    def assertNoSecret(self, error):
        for text in [error.message, error.description, str(error)]:
            self.assertNotIn(API_KEY, str(text))

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
    def test_sidecar_call(self):
        "Test a JSON-RPC call to the sidecar"
        self.sidecar.result({'state': 'authorized'})

        with self.sidecar_config():
            result = sidecar.call(
                'credentials.status',
                {'database': 'db', 'credential_id': 1})

        self.assertEqual(result, {'state': 'authorized'})
        request, = self.sidecar.requests
        self.assertEqual(request['path'], '/rpc')
        self.assertEqual(
            request['headers']['Authorization'], f'Bearer {API_KEY}')
        self.assertEqual(
            request['headers']['Content-Type'], 'application/json')
        self.assertEqual(request['json'], {
                'jsonrpc': '2.0',
                'id': request['json']['id'],
                'method': 'credentials.status',
                'params': {'database': 'db', 'credential_id': 1},
                })

    @with_transaction()
    def test_sidecar_error_types(self):
        "Test JSON-RPC errors are mapped to translated user errors"
        for type_, (error_class, msg_id, detail) in sidecar.ERRORS.items():
            if type_ == 'unauthenticated':
                continue
            with self.subTest(type=type_):
                self.sidecar.error(-32001, "Sidecar says why", type_)
                with self.sidecar_config(), \
                        self.assertRaises(error_class) as cm:
                    sidecar.call(
                        'credentials.refresh',
                        {'database': 'db', 'credential_id': 1},
                        credentials="Main")
                error = cm.exception
                self.assertIsInstance(error, exceptions.SidecarError)
                self.assertNotEqual(
                    error.message, f'google_integration.{msg_id}')
                self.assertNotIn('%(', error.message)
                self.assertEqual(
                    error.description, "Sidecar says why" if detail else '')
                self.assertNoSecret(error)

    @with_transaction()
    def test_sidecar_error_message_variables(self):
        "Test errors name the database and the credentials"
        self.sidecar.error(-32002, "not found", 'credential_not_found')
        self.sidecar.error(-32001, "not served", 'database_not_served')

        with self.sidecar_config():
            with self.assertRaises(exceptions.CredentialNotFoundError) as cm:
                sidecar.call(
                    'credentials.status',
                    {'database': 'db', 'credential_id': 1}, credentials="Main")
            self.assertIn('"Main"', cm.exception.message)
            with self.assertRaises(exceptions.DatabaseNotServedError) as cm:
                sidecar.call(
                    'credentials.status',
                    {'database': 'other_db', 'credential_id': 1})
            self.assertIn('"other_db"', cm.exception.message)

    @with_transaction()
    def test_sidecar_error_unknown(self):
        "Test unknown JSON-RPC errors keep the sidecar's message"
        self.sidecar.error(-32099, "Something new", 'brand_new_type')
        self.sidecar.error(-32603, "Internal error", status=500)
        self.sidecar.error(-32602, "credential_id: expected integer")

        with self.sidecar_config():
            with self.assertRaises(exceptions.SidecarError) as cm:
                sidecar.call('credentials.status', {'database': 'db'})
            self.assertIs(type(cm.exception), exceptions.SidecarError)
            self.assertEqual(
                cm.exception.description, "Something new (brand_new_type)")

            with self.assertRaises(exceptions.SidecarError) as cm:
                sidecar.call('credentials.status', {'database': 'db'})
            self.assertIs(type(cm.exception), exceptions.SidecarError)
            self.assertEqual(
                cm.exception.description, "Internal error (-32603)")

            with self.assertRaises(exceptions.SidecarError) as cm:
                sidecar.call('credentials.status', {'database': 'db'})
            self.assertIn('compatible', cm.exception.message)
            self.assertEqual(
                cm.exception.description, "credential_id: expected integer")

    @with_transaction()
    def test_sidecar_unauthenticated(self):
        "Test a refused API key asks to check sidecar_api_key"
        self.sidecar.error(-32000, "Unauthorized", 'unauthenticated', 401)
        self.sidecar.answers.append(FakeSidecar.text(401, "Unauthorized"))

        for _ in range(2):
            with self.sidecar_config(), \
                    self.assertRaises(
                        exceptions.SidecarUnauthenticatedError) as cm:
                sidecar.call('credentials.status', {'database': 'db'})
            self.assertIn('sidecar_api_key', cm.exception.message)
            self.assertIn(self.sidecar.url, cm.exception.message)
            self.assertNoSecret(cm.exception)

    @with_transaction()
    def test_sidecar_not_json(self):
        "Test an answer that is not JSON-RPC makes the sidecar unreachable"
        self.sidecar.answers.append(
            FakeSidecar.text(502, "<html>Bad Gateway</html>"))
        self.sidecar.answers.append(FakeSidecar.text(200, "not json"))
        self.sidecar.answers.append(FakeSidecar.json(200, [1, 2]))

        for status in ['502', '200', '200']:
            with self.sidecar_config(), \
                    self.assertRaises(
                        exceptions.SidecarUnreachableError) as cm:
                sidecar.call('credentials.status', {'database': 'db'})
            self.assertIn(self.sidecar.url, cm.exception.message)
            self.assertEqual(
                cm.exception.description,
                f"HTTP {status}: the answer is not JSON-RPC")
            self.assertNoSecret(cm.exception)

    @with_transaction()
    def test_sidecar_redirect_not_followed(self):
        "Test a redirect is not followed, so the key stays with the sidecar"
        self.sidecar.answers.append(FakeSidecar.text(307, "moved"))

        with self.sidecar_config(), \
                self.assertRaises(exceptions.SidecarUnreachableError):
            sidecar.call('credentials.status', {'database': 'db'})
        self.assertEqual(len(self.sidecar.requests), 1)

    @with_transaction()
    def test_sidecar_closed_port(self):
        "Test a refused connection makes the sidecar unreachable"
        url = closed_port_url()

        with self.sidecar_config(sidecar_url=url), \
                self.assertRaises(exceptions.SidecarUnreachableError) as cm:
            sidecar.call('credentials.status', {'database': 'db'})
        self.assertIn(url, cm.exception.message)
        self.assertTrue(cm.exception.description)
        self.assertNoSecret(cm.exception)

    @with_transaction()
    def test_sidecar_timeout(self):
        "Test a slow sidecar times out as configured"
        self.sidecar.result({}, delay=1)

        start = time.monotonic()
        with self.sidecar_config(sidecar_timeout='0.2'), \
                self.assertRaises(exceptions.SidecarUnreachableError) as cm:
            sidecar.call('credentials.status', {'database': 'db'})
        self.assertLess(time.monotonic() - start, 0.9)
        self.assertIn('0.2 seconds', cm.exception.description)

    @with_transaction()
    def test_sidecar_configuration(self):
        "Test a missing or wrong option names the option to set"
        for options, name in [
                ({'sidecar_url': None}, 'sidecar_url'),
                ({'sidecar_url': '  '}, 'sidecar_url'),
                ({'sidecar_api_key': None}, 'sidecar_api_key'),
                ({'sidecar_timeout': 'soon'}, 'sidecar_timeout'),
                ({'sidecar_timeout': '0'}, 'sidecar_timeout'),
                ]:
            with self.subTest(options=options), self.sidecar_config(
                    **options), self.assertRaises(
                        exceptions.SidecarConfigurationError) as cm:
                sidecar.call('credentials.status', {'database': 'db'})
            self.assertIn(name, cm.exception.message)
        self.assertEqual(self.sidecar.requests, [])

        with config_get({}):
            self.assertEqual(sidecar.sidecar_timeout(), 30)

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

    # Calendars and events: the sidecar writes them with SQL, as root.

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

    def as_user(self, user):
        "Act as user through RPC: access rights and record rules apply"
        transaction = Transaction()
        return _Both(
            transaction.set_user(user.id),
            transaction.set_context(_check_access=True))

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

    # Push notifications (docs/contracts.md, "Push notifications"): the
    # sidecar writes the health of each channel, Tryton only shows it.
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
        # status fits, and Tryton reads back what it wrote.
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
                    Calendar(calendar.id).channel_expires, expires)
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

    def view_fields(self, Model, view_type):
        "The names of the fields and labels of the view, and its fields"
        view = Model.fields_view_get(view_type=view_type)
        arch = etree.fromstring(view['arch'])
        return (
            {e.get('name') for e in arch.iter('field')},
            {e.get('name') for e in arch.iter('label')},
            view['fields'])

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

    @with_transaction()
    def test_credentials_last_sync(self):
        "Test credentials sum what the last run did in their calendars"
        credential = self.create_credentials()
        self.create_calendar(
            credential, 'a', name="Work", sync_enabled=True,
            sync_status='ok', last_sync_created=2, last_sync_updated=1,
            last_sync_deleted=0, last_sync_pushed=4, last_sync_conflicts=1)
        self.create_calendar(
            credential, 'b', name="Holidays", sync_enabled=True,
            sync_status='failing', last_sync_created=1, last_sync_updated=0,
            last_sync_deleted=3, last_sync_pushed=1,
            last_error="Google said no")
        self.create_calendar(
            credential, 'c', name="Off", sync_enabled=False,
            last_sync_created=100, last_error="old")
        credential = type(credential)(credential.id)

        self.assertEqual(
            (credential.last_sync_created, credential.last_sync_updated,
                credential.last_sync_deleted, credential.last_sync_pushed,
                credential.last_sync_conflicts), (3, 1, 3, 5, 1))
        self.assertEqual(
            credential.last_sync_error, "Holidays: Google said no")
        self.assertEqual(len(credential.calendars), 3)

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
    def test_sidecar_mixin(self):
        "Test the mixin names the database and the credentials"
        from trytond.modules.google_integration.model import SidecarMixin
        pool = Pool()
        for name in [
                'google_integration.google_credentials',
                'google_integration.calendar']:
            self.assertTrue(issubclass(pool.get(name), SidecarMixin))

        class Nothing(SidecarMixin):
            pass
        self.sidecar.result({'ok': True})
        with self.sidecar_config():
            self.assertEqual(Nothing()._sidecar('rpc.discover'), {'ok': True})
        self.assertEqual(
            self.sidecar.requests[0]['json']['params'],
            {'database': Transaction().database.name})

    # Appointments made in Tryton (docs/contracts.md, "Two-way rules").

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

    def set_calendar(self, calendar, **values):
        "Write the calendar as the sidecar does"
        self.set_columns(calendar, **values)
        # What the transaction read of its events depends on it too.
        for cache in Transaction().cache.values():
            cache.clear()

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


def load_tests(loader, tests, pattern):
    # scripts/test-tryton.sh loads this module by name (pattern is None):
    # bring the tests of the other subjects along. Discovery (a pattern)
    # finds their files itself.
    if pattern is None:
        from . import test_contacts
        tests.addTests(loader.loadTestsFromModule(test_contacts))
    return tests


del ModuleTestCase
