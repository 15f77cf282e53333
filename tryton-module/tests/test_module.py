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

from trytond import config
from trytond.bus import Bus
from trytond.model.exceptions import RequiredValidationError, ValidationError
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


del ModuleTestCase
