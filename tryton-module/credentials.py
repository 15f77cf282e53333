# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
from urllib.parse import urlsplit

from trytond import config
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.transaction import Transaction

from .exceptions import RedirectURIError

DEFAULT_SCOPES = 'https://www.googleapis.com/auth/calendar'
STATES = [
    ('without_authorization', "Without Authorization"),
    ('authorization_pending', "Authorization Pending"),
    ('authorized', "Authorized"),
    ('authorization_expired', "Authorization Expired"),
    ]


def sidecar_public_url():
    "Base URL of the sidecar as Google's browser redirect reaches it"
    url = (config.get('google_integration', 'sidecar_public_url')
        or config.get('google_integration', 'sidecar_url')
        or '')
    return url.rstrip('/')


class GoogleCredentials(ModelSQL, ModelView):
    __name__ = 'google_integration.google_credentials'
    __string__ = "Google Credentials"

    # Columns are a contract with the sidecar, which reads and writes them
    # directly (see DESIGN.md): keep names and types stable.
    name = fields.Char("Name", required=True)
    client_id = fields.Char("Client ID")
    # strip=False: secrets and tokens must round-trip byte for byte.
    client_secret = fields.Char("Client Secret", strip=False)
    redirect_uri = fields.Char(
        "Redirect URI",
        help="The URI registered in the Google Cloud console "
        "that the sidecar serves the OAuth callback on.")
    scopes = fields.Text(
        "Scopes", help="The OAuth scopes to request, separated by spaces.")
    state = fields.Selection(
        STATES, "State", required=True, readonly=True, sort=False)

    oauth_state = fields.Char("OAuth State", readonly=True)
    code_verifier = fields.Char("Code Verifier", strip=False, readonly=True)
    authorization_url = fields.Char("Authorization URL", readonly=True)
    authorization_requested_at = fields.Timestamp(
        "Authorization Requested at", readonly=True)

    # Encrypted at rest by the sidecar; never shown in a view.
    access_token = fields.Char("Access Token", strip=False, readonly=True)
    refresh_token = fields.Char("Refresh Token", strip=False, readonly=True)
    token_expiry = fields.Timestamp("Token Expiry", readonly=True)

    granted_scopes = fields.Text("Granted Scopes", readonly=True)
    account_email = fields.Char("Account Email", readonly=True)
    last_error = fields.Text("Last Error", readonly=True)

    sync_enabled = fields.Boolean("Synchronization Enabled")
    last_sync = fields.Timestamp("Last Synchronization", readonly=True)

    @classmethod
    def default_state(cls):
        return 'without_authorization'

    @classmethod
    def default_scopes(cls):
        return DEFAULT_SCOPES

    @classmethod
    def default_sync_enabled(cls):
        return False

    @classmethod
    def default_redirect_uri(cls):
        base = sidecar_public_url()
        if not base:
            return ''
        return f'{base}/{Transaction().database.name}/google/callback'

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        if not field_names or 'redirect_uri' in field_names:
            for record in records:
                record.check_redirect_uri()

    def check_redirect_uri(self):
        if not self.redirect_uri:
            return
        parts = urlsplit(self.redirect_uri)
        if parts.scheme not in {'http', 'https'} or not parts.netloc:
            raise RedirectURIError(gettext(
                    'google_integration.msg_redirect_uri_invalid',
                    credentials=self.rec_name,
                    redirect_uri=self.redirect_uri))
