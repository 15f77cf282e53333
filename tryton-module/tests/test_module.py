# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch
from zoneinfo import ZoneInfo

from trytond import config
from trytond.bus import Bus
from trytond.model.exceptions import (
    AccessError, RequiredValidationError, ValidationError)
from trytond.modules.google_integration import (
    credentials as credentials_module, exceptions, sidecar)
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder, PYSONEncoder
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

API_KEY = 'k3y-that-must-not-leak'


def config_get(options):
    "A trytond config.get that answers the [google_integration] options given"
    get = config.get

    def _get(section, option, default=None):
        if section == 'google_integration':
            return options.get(option, default)
        return get(section, option, default)
    return patch.object(config, 'get', _get)


class FakeSidecar:
    """A real HTTP server on 127.0.0.1 answering like the sidecar would

    Each request pops the next queued answer: a function of the JSON-RPC
    request returning (status, content type, body, delay in seconds).
    """

    def __init__(self):
        self.answers = []
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                try:
                    request = json.loads(body)
                except ValueError:
                    request = None
                fake.requests.append({
                        'path': self.path,
                        'headers': dict(self.headers),
                        'json': request,
                        })
                if fake.answers:
                    answer = fake.answers.pop(0)
                else:
                    answer = FakeSidecar.text(500, "no answer queued")
                status, content_type, content, delay = answer(request)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header('Content-Type', content_type)
                    self.send_header('Content-Length', str(len(content)))
                    if 300 <= status < 400:
                        self.send_header(
                            'Location', fake.url + '/elsewhere')
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f'http://{host}:{port}'

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        self.answers.clear()
        self.requests.clear()

    @staticmethod
    def json(status, value, delay=0):
        def answer(request):
            content = value(request) if callable(value) else value
            return (
                status, 'application/json', json.dumps(content).encode(),
                delay)
        return answer

    @staticmethod
    def text(status, text, delay=0):
        return lambda request: (
            status, 'text/html', text.encode(), delay)

    def result(self, result, delay=0):
        self.answers.append(self.json(200, lambda request: {
                    'jsonrpc': '2.0', 'id': request['id'],
                    'result': result}, delay=delay))

    def error(self, code, message, type_=None, status=200):
        error = {'code': code, 'message': message}
        if type_:
            error['data'] = {'type': type_}
        self.answers.append(self.json(status, lambda request: {
                    'jsonrpc': '2.0', 'id': request['id'], 'error': error}))


def closed_port_url():
    "The URL of a local port nobody listens on"
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}'


class GoogleIntegrationTestCase(ModuleTestCase):
    "Test Google Integration module"
    module = 'google_integration'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sidecar = FakeSidecar()
        cls.addClassCleanup(cls.sidecar.close)

    def setUp(self):
        super().setUp()
        self.sidecar.reset()

    def sidecar_config(self, **options):
        values = {
            'sidecar_url': self.sidecar.url + '/',
            'sidecar_api_key': API_KEY,
            'sidecar_timeout': '5',
            }
        values.update(options)
        return config_get({k: v for k, v in values.items() if v is not None})

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
            name="Test", redirect_uri='http://localhost:8200/db/google/callback',
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

    def create_credentials(self, **values):
        Credentials = Pool().get('google_integration.google_credentials')
        record = Credentials(
            name="Main",
            client_id='id.apps.googleusercontent.com',
            client_secret='secret',
            redirect_uri='http://127.0.0.1:8200/db/google/callback',
            **values)
        record.save()
        return record

    def set_columns(self, record, **values):
        "Write columns as the sidecar does: in SQL, behind Tryton's back"
        Credentials = Pool().get('google_integration.google_credentials')
        table = Credentials.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [getattr(table, c) for c in values], list(values.values()),
                where=table.id == record.id))
        # Forget what this transaction read before, as after a write.
        for cache in Transaction().cache.values():
            cache.pop(Credentials.__name__, None)
        return Credentials(record.id)

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
        Credentials = pool.get('google_integration.google_credentials')
        Log = pool.get('ir.model.log')
        Notification = pool.get('res.notification')
        User = pool.get('res.user')
        cursor = Transaction().connection.cursor()
        record = self.create_credentials()
        user = User(name="Requester", login='requester')
        user.save()

        def notify():
            cursor.execute('SELECT google_integration_notify(%s)', (record.id,))
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

    def insert(self, model, **values):
        "Insert a row as the sidecar does: SQL, root's stamps; return its id"
        Model = Pool().get(model)
        table = Model.__table__()
        cursor = Transaction().connection.cursor()
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        values = {
            'create_uid': 0, 'create_date': now,
            'write_uid': 0, 'write_date': now, **values}
        cursor.execute(*table.insert(
                [getattr(table, c) for c in values], [list(values.values())],
                returning=[table.id]))
        id_, = cursor.fetchone()
        for cache in Transaction().cache.values():
            cache.pop(Model.__name__, None)
        return id_

    def create_calendar(self, credential, google_id='primary', **values):
        Calendar = Pool().get('google_integration.calendar')
        values.setdefault('name', google_id)
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

    def create_user(self, login, *groups):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user = User(name=login.title(), login=login, groups=[
                ModelData.get_id('google_integration', g) for g in groups])
        user.save()
        return user

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
                'last_error': ('text', False),
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
        cursor.execute(
            'SELECT column_default FROM information_schema.columns '
            'WHERE table_schema = current_schema() AND table_name = %s '
            'AND column_name = %s', ('google_integration_calendar', 'active'))
        self.assertEqual(cursor.fetchone()[0], 'true')

        # Foreign keys cascade; the owner of credentials is set to NULL.
        cursor.execute(
            'SELECT conrelid::regclass::text, pg_get_constraintdef(oid) '
            'FROM pg_constraint WHERE contype = %s '
            'AND conrelid::regclass::text LIKE %s', ('f', 'google_integration_%'))
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

        # The sidecar's statements (src/db/calendar-repository.ts).
        cursor.execute(
            'INSERT INTO google_integration_calendar '
            '(credential, google_id, name) VALUES (%s, %s, %s) '
            'ON CONFLICT (credential, google_id) '
            'DO UPDATE SET name = excluded.name',
            (credential.id, 'primary', 'Renamed'))
        cursor.execute(
            'INSERT INTO google_integration_event (calendar, google_id) '
            'VALUES (%s, %s) ON CONFLICT (calendar, google_id) DO NOTHING',
            (calendar.id, 'e1'))
        cursor.execute(
            'INSERT INTO google_integration_event_detail (event, summary) '
            'VALUES (%s, %s) ON CONFLICT (event) '
            'DO UPDATE SET summary = excluded.summary', (event.id, "Daily"))
        self.assertEqual(Calendar.search([], count=True), 1)

        # Deleting the credentials deletes their calendars and events.
        cursor.execute(
            'DELETE FROM google_integration_google_credentials '
            'WHERE id = %s', (credential.id,))
        cursor.execute('SELECT count(*) FROM google_integration_event')
        self.assertEqual(cursor.fetchone()[0], 0)

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
        "Test only the calendar groups read calendars and events"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Calendar = pool.get('google_integration.calendar')
        credential, owner, calendar, events = self.event_fixtures()
        employee = self.create_user('employee')
        admin = self.create_user('manager', 'group_google_integration_admin')

        with self.as_user(employee):
            for Model in [Event, Calendar]:
                with self.assertRaises(AccessError):
                    Model.search([])
        with self.as_user(owner):
            self.assertEqual(len(Event.search([])), 4)
            self.assertEqual(Calendar.search([]), [calendar])
            # The calendar's account shows, not its secrets.
            Calendar.read([calendar.id], [
                    'credential.rec_name', 'owner.rec_name', 'account_email'])
            with self.assertRaises(AccessError):
                Calendar.write([calendar], {'sync_enabled': False})
            with self.assertRaises(AccessError):
                Event.delete([events['public']])
        with self.as_user(admin):
            Calendar.write([calendar], {'sync_enabled': False})
            Calendar.delete([calendar])
            self.assertEqual(Event.search([]), [])

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
        "Test calendars and events are not duplicated, nor with credentials"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        Event = pool.get('google_integration.event')
        Credentials = pool.get('google_integration.google_credentials')
        credential, owner, calendar, events = self.event_fixtures()

        with self.assertRaises(exceptions.CopyError):
            Calendar.copy([calendar])
        with self.assertRaises(exceptions.CopyError):
            Event.copy([events['public']])
        self.assertEqual(Calendar.copy([]), [])
        copy, = Credentials.copy([credential])
        self.assertEqual(copy.calendars, ())
        self.assertEqual(copy.owner, owner)
        self.assertEqual(Calendar.search([], count=True), 1)

    @with_transaction()
    def test_credentials_last_sync(self):
        "Test credentials sum what the last run did in their calendars"
        credential = self.create_credentials()
        self.create_calendar(
            credential, 'a', name="Work", sync_enabled=True,
            sync_status='ok', last_sync_created=2, last_sync_updated=1,
            last_sync_deleted=0)
        self.create_calendar(
            credential, 'b', name="Holidays", sync_enabled=True,
            sync_status='failing', last_sync_created=1, last_sync_updated=0,
            last_sync_deleted=3, last_error="Google said no")
        self.create_calendar(
            credential, 'c', name="Off", sync_enabled=False,
            last_sync_created=100, last_error="old")
        credential = type(credential)(credential.id)

        self.assertEqual(
            (credential.last_sync_created, credential.last_sync_updated,
                credential.last_sync_deleted), (3, 1, 3))
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
            'pushed': 0, 'conflicts': 0}
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
            '3 created, 2 updated, 1 deleted.')
        self.assertIsNone(first['body'])
        (_, second), _ = publish.call_args_list[1]
        self.assertIn('"primary"', second['title'])
        self.assertEqual(
            second['body'], "2 events changed in both Tryton and Google.")

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


del ModuleTestCase
