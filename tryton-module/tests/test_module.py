# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
from unittest.mock import patch

from trytond import config
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def config_get(options):
    "A trytond config.get that answers the [google_integration] options given"
    get = config.get

    def _get(section, option, default=None):
        if section == 'google_integration':
            return options.get(option, default)
        return get(section, option, default)
    return patch.object(config, 'get', _get)


class GoogleIntegrationTestCase(ModuleTestCase):
    "Test Google Integration module"
    module = 'google_integration'

    @with_transaction()
    def test_credentials_defaults(self):
        "Test new credentials start without authorization"
        Credentials = Pool().get('google_integration.google_credentials')

        credentials = Credentials(name="Test")
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

        for uri in ['ftp://example.com/cb', 'example.com/cb', 'https://']:
            with self.subTest(uri=uri):
                credentials = Credentials(name="Test", redirect_uri=uri)
                with self.assertRaises(ValidationError):
                    credentials.save()

        credentials = Credentials(
            name="Test", redirect_uri='http://localhost:8200/db/google/callback')
        credentials.save()


del ModuleTestCase
