# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The module's calls of the sidecar: JSON-RPC, its errors as user errors,
the configuration (docs/contracts.md, "JSON-RPC", "Errors" and
"Configuration")"""
import time

from trytond.modules.google_integration import exceptions, sidecar
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .fake_sidecar import (
    API_KEY, FakeSidecar, SidecarTestMixin, closed_port_url, config_get)
from .tools import DatabaseTestCase


class SidecarTestCase(SidecarTestMixin, DatabaseTestCase):
    "Test the calls of the sidecar"

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
