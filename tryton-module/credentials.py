# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
import dataclasses
import datetime as dt
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sql.operators import Equal

from trytond import backend, config
from trytond.bus import notify
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from . import authorization_notification, sidecar
from .exceptions import (
    AuthorizeError, ClientChangeWarning, CredentialIncompleteError,
    RedirectURIError, ServicesError)
from .model import SidecarMixin, Timestamp

try:
    from google.oauth2.credentials import Credentials as OAuth2Credentials
except ImportError:
    OAuth2Credentials = None

DEFAULT_SCOPES = 'https://www.googleapis.com/auth/calendar'
STATES = [
    ('without_authorization', "Without Authorization"),
    ('authorization_pending', "Authorization Pending"),
    ('authorized', "Authorized"),
    ('authorization_expired', "Authorization Expired"),
    ]
# Where a new consent page may be requested; 'authorized' re-authorizes.
AUTHORIZE_STATES = {
    'without_authorization', 'authorization_pending', 'authorization_expired'}
REVOKE_STATES = {
    'authorization_pending', 'authorized', 'authorization_expired'}
# Where Google holds (or is about to give) a grant made to the current client:
# changing the client there deserves a warning.
CLIENT_BOUND_STATES = {'authorization_pending', 'authorized'}
# The Google services a credential may serve and the scope each needs
# (docs/contracts.md, "Services of a credential").
SERVICES = [
    ('calendar', "Google Calendar"),
    ('contacts', "Google Contacts"),
    ]
SERVICE_SCOPES = {
    'calendar': 'https://www.googleapis.com/auth/calendar',
    'contacts': 'https://www.googleapis.com/auth/contacts',
    }
DEFAULT_SERVICES = ['calendar']
CONTACTS_SCOPES = [
    ('all', "All Parties"),
    ('categories', "Parties of Categories"),
    ]
CONTACTS_STATUSES = [
    ('none', "None"),
    ('ok', "OK"),
    ('failing', "Failing"),
    ('held', "Deletions Held"),
    ]
DEFAULT_DELETION_LIMIT = 20
# The columns only the sidecar writes: a copy must not share them.
SIDECAR_FIELDS = [
    'oauth_state', 'code_verifier', 'authorization_url',
    'authorization_requested_at', 'access_token', 'refresh_token',
    'token_expiry', 'granted_scopes', 'account_email', 'last_error',
    'last_sync',
    'contacts_last_sync', 'contacts_last_error', 'contacts_last_counts',
    'contacts_held_deletions',
    ]


def parse_utc(value):
    "Naive UTC datetime (as google-auth uses) of an ISO 8601 string"
    if not value:
        return None
    value = str(value).strip()
    if value[-1:] in {'Z', 'z'}:
        value = value[:-1] + '+00:00'
    date = dt.datetime.fromisoformat(value)
    if date.tzinfo is not None:
        date = date.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return date


def format_timestamp(lang, value):
    "A naive UTC datetime in the user's timezone (if known), with its zone"
    zone = Transaction().context.get('timezone') or 'UTC'
    try:
        timezone = ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        zone, timezone = 'UTC', dt.timezone.utc
    value = value.replace(tzinfo=dt.timezone.utc).astimezone(timezone)
    return f'{lang.strftime(value.replace(tzinfo=None))} ({zone})'


class JSONVarChar(fields.MultiSelection):
    """A MultiSelection stored as the JSON text of its list in a VARCHAR

    The sidecar reads the column as text (docs/contracts.md, "Credentials
    table"), and the standalone migration creates it as a VARCHAR; trytond's
    MultiSelection reads and writes such text as it does on SQLite.
    """
    _sql_type = 'VARCHAR'


@dataclasses.dataclass(frozen=True)
class AccessToken:
    """An access token of Google credentials, read-only.

    It has the attributes of google.oauth2.credentials.Credentials that
    get_credentials() fills, for when google-auth is not installed.
    """
    token: str = dataclasses.field(repr=False)
    expiry: dt.datetime | None = None
    scopes: list = dataclasses.field(default_factory=list)

    @property
    def expired(self):
        return (self.expiry is not None
            and dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
            >= self.expiry)

    @property
    def valid(self):
        return bool(self.token) and not self.expired

    def apply(self, headers, token=None):
        headers['authorization'] = f'Bearer {token or self.token}'


def sidecar_public_url():
    "Base URL of the sidecar as Google's browser redirect reaches it"
    url = (config.get('google_integration', 'sidecar_public_url')
        or config.get('google_integration', 'sidecar_url')
        or '')
    return url.rstrip('/')


class GoogleCredentials(SidecarMixin, ModelSQL, ModelView):
    __name__ = 'google_integration.google_credentials'
    __string__ = "Google Credentials"

    # Columns are a contract with the sidecar, which reads and writes them
    # directly (see docs/contracts.md): keep names and types stable.
    name = fields.Char("Name", required=True)
    # Required through states, not required=True: that would make the
    # columns NOT NULL, unlike the table the sidecar's migration creates.
    client_id = fields.Char(
        "Client ID",
        states={
            'required': True,
            })
    # strip=False: secrets and tokens must round-trip byte for byte.
    client_secret = fields.Char(
        "Client Secret", strip=False,
        states={
            'required': True,
            })
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
    authorization_requested_at = Timestamp(
        "Authorization Requested at", readonly=True)

    # Encrypted at rest by the sidecar; never shown in a view.
    access_token = fields.Char("Access Token", strip=False, readonly=True)
    refresh_token = fields.Char("Refresh Token", strip=False, readonly=True)
    token_expiry = Timestamp("Token Expiry", readonly=True)

    granted_scopes = fields.Text("Granted Scopes", readonly=True)
    account_email = fields.Char("Account Email", readonly=True)
    last_error = fields.Text("Last Error", readonly=True)

    sync_enabled = fields.Boolean(
        "Synchronization Enabled",
        help="Synchronize the ticked calendars in the background at the "
        "interval the sidecar is configured with, and ask Google for the "
        "calendar permission on the next authorization.\n"
        "\"Sync Now\" works either way.")
    last_sync = Timestamp("Last Synchronization", readonly=True)

    owner = fields.Many2One(
        'res.user', "Owner", ondelete='SET NULL',
        help="The Tryton user whose Google account it is (by default, the "
        "user who creates the credentials): this user finds the account's "
        "events under \"My Calendars\" and reads the private ones of the "
        "calendars the account may change.")

    services = JSONVarChar(
        SERVICES, "Services", sort=False,
        help="The Google services the account serves.\n"
        "The next authorization asks Google for their permissions: "
        "click \"Re-authorize\" after ticking one.")
    service_status = fields.Function(
        fields.Text(
            "Service Status",
            help="Whether Google granted each service its permission."),
        'get_service_status')

    # The contacts synchronization (docs/contracts.md, "Contacts
    # synchronization"). Columns of the credentials table, so that the
    # table is the same whether the party module is activated or not (the
    # sidecar's standalone migration creates them too); the categories and
    # the buttons, which need parties, are added where party is activated
    # (contact.py).
    contacts_scope = fields.Selection(
        CONTACTS_SCOPES, "Parties to Synchronize", sort=False,
        states={
            'required': Eval('services', []).contains('contacts'),
            },
        help="Which parties are synchronized with the account's contacts; "
        "a contact made in Google is always taken.")
    contacts_deletion_limit = fields.Integer(
        "Deletion Limit (%)",
        domain=['OR',
            ('contacts_deletion_limit', '=', None),
            [('contacts_deletion_limit', '>=', 0),
                ('contacts_deletion_limit', '<=', 100)],
            ],
        states={
            'required': Eval('services', []).contains('contacts'),
            },
        help="The percentage of the synchronized contacts a round may "
        "delete or archive (beyond 5); a round that would delete more "
        "holds them until \"Allow Deletions\" is clicked.")
    contacts_allowed_deletions = fields.Integer(
        "Allowed Deletions", readonly=True,
        help="How many deletions the next round may make beyond the limit, "
        "set by \"Allow Deletions\".")
    contacts_status = fields.Selection(
        CONTACTS_STATUSES, "Contacts Status", readonly=True, sort=False,
        help="How the last contacts round went (written by the sidecar).")
    contacts_last_sync = Timestamp(
        "Contacts Last Synchronization", readonly=True)
    contacts_last_error = fields.Text("Contacts Last Error", readonly=True)
    contacts_last_counts = fields.Text(
        "Contacts Last Counts", readonly=True,
        help="What the last contacts round did.")
    contacts_held_deletions = fields.Integer(
        "Held Deletions", readonly=True,
        help="The deletions the last round held back.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'request_authorization': {
                    'invisible': ~Eval('state').in_(sorted(AUTHORIZE_STATES)),
                    'depends': ['state'],
                    },
                'reauthorize': {
                    'invisible': Eval('state') != 'authorized',
                    'depends': ['state'],
                    },
                'refresh_credentials': {
                    'invisible': Eval('state') != 'authorized',
                    'depends': ['state'],
                    },
                'revoke': {
                    'invisible': ~Eval('state').in_(sorted(REVOKE_STATES)),
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        cursor = Transaction().connection.cursor()
        table = cls.__table__()
        # Rows made before these columns (or by the sidecar's standalone
        # table) get the defaults; the form writes them for new rows.
        for column, default in [
                (table.services, cls.services.sql_format(DEFAULT_SERVICES)),
                (table.contacts_scope, 'all'),
                (table.contacts_deletion_limit, DEFAULT_DELETION_LIMIT),
                (table.contacts_allowed_deletions, 0),
                (table.contacts_status, 'none'),
                ]:
            cursor.execute(*table.update(
                    [column], [default], where=Equal(column, None)))
        if backend.name == 'postgresql':
            authorization_notification.create(cursor)

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
    def default_owner(cls):
        "The user who creates the credentials (root is nobody's account)"
        return Transaction().user or None

    @classmethod
    def default_services(cls):
        return list(DEFAULT_SERVICES)

    @classmethod
    def default_contacts_scope(cls):
        return 'all'

    @classmethod
    def default_contacts_deletion_limit(cls):
        return DEFAULT_DELETION_LIMIT

    @classmethod
    def default_contacts_allowed_deletions(cls):
        return 0

    @classmethod
    def default_contacts_status(cls):
        return 'none'

    @classmethod
    def default_redirect_uri(cls):
        base = sidecar_public_url()
        if not base:
            return ''
        return f'{base}/{Transaction().database.name}/google/callback'

    @classmethod
    def copy(cls, records, default=None):
        # A copy is new credentials: the sidecar's state and tokens belong
        # to the original row (its OAuth state and tokens are bound to it).
        default = default.copy() if default is not None else {}
        default.setdefault('state', cls.default_state())
        default.setdefault('contacts_status', cls.default_contacts_status())
        # An allowance was given for the original account's held deletions.
        default.setdefault(
            'contacts_allowed_deletions',
            cls.default_contacts_allowed_deletions())
        for name in SIDECAR_FIELDS:
            default.setdefault(name, None)
        return super().copy(records, default=default)

    @classmethod
    def get_service_status(cls, records, name):
        "Per service of the credentials, whether Google granted its scope"
        selection = dict(cls.fields_get(['services'])['services']['selection'])
        result = {}
        for record in records:
            granted = set((record.granted_scopes or '').split())
            lines = []
            for service in record.services or []:
                label = selection.get(service, service)
                if SERVICE_SCOPES.get(service) in granted:
                    message = 'msg_service_granted'
                else:
                    message = 'msg_service_not_granted'
                lines.append(gettext(
                        f'google_integration.{message}', service=label))
            result[record.id] = '\n'.join(lines) or None
        return result

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        pool = Pool()
        Warning = pool.get('res.user.warning')
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'write' and external:
            changed = {'client_id', 'client_secret'} & values.keys()
            bound = [
                r for r in records
                if r.state in CLIENT_BOUND_STATES
                and any(getattr(r, n) != values[n] for n in changed)]
            if bound:
                warning_name = Warning.format('google_client_change', bound)
                if Warning.check(warning_name):
                    raise ClientChangeWarning(warning_name, gettext(
                            'google_integration.msg_client_change',
                            credentials=', '.join(
                                r.rec_name for r in bound[:5])))

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        if not field_names or 'redirect_uri' in field_names:
            for record in records:
                record.check_redirect_uri()
        if not field_names or 'services' in field_names:
            cls.check_services(records)

    @classmethod
    def check_services(cls, records):
        "Contacts are parties: refuse them where party is not activated"
        try:
            Pool().get('party.party')
        except KeyError:
            pass
        else:
            return
        for record in records:
            if 'contacts' in (record.services or []):
                raise ServicesError(gettext(
                        'google_integration.msg_contacts_need_party',
                        credentials=record.rec_name))

    def check_redirect_uri(self):
        if not self.redirect_uri:
            return
        parts = urlsplit(self.redirect_uri)
        if parts.scheme not in {'http', 'https'} or not parts.netloc:
            raise RedirectURIError(gettext(
                    'google_integration.msg_redirect_uri_invalid',
                    credentials=self.rec_name,
                    redirect_uri=self.redirect_uri))

    # The sidecar UPDATEs the credentials row in its own transaction: the
    # methods below only read and call, so that no row lock of this
    # transaction makes the sidecar wait until the HTTP call times out.

    def _sidecar_credential(self):
        return self

    @classmethod
    def _authorize(cls, records):
        if len(records) != 1:
            raise AuthorizeError(
                gettext('google_integration.msg_authorize_one'))
        record, = records
        if not (record.client_id and record.client_secret
                and record.redirect_uri):
            raise CredentialIncompleteError(gettext(
                    'google_integration.msg_credential_incomplete',
                    credentials=record.rec_name))
        result = record._sidecar('credentials.request_authorization')
        return {'url': result['authorization_url']}

    @classmethod
    @ModelView.button_action('google_integration.url_authorize')
    def request_authorization(cls, records):
        "Start the authorization: open Google's consent page"
        return cls._authorize(records)

    @classmethod
    @ModelView.button_action('google_integration.url_authorize')
    def reauthorize(cls, records):
        "Ask Google's consent again, for example after changing the scopes"
        return cls._authorize(records)

    @classmethod
    @ModelView.button
    def refresh_credentials(cls, records):
        "Refresh the access token now and tell the user the new expiry"
        for record in records:
            result = record._sidecar('credentials.refresh') or {}
            record._notify_refreshed(parse_utc(result.get('token_expiry')))
        # The client reloads the records (lists search again) to show the
        # expiry the sidecar wrote.
        return 'reload'

    def _notify_refreshed(self, expiry):
        pool = Pool()
        Lang = pool.get('ir.lang')
        body = None
        if expiry:
            body = gettext(
                'google_integration.msg_refreshed_expiry',
                expiry=format_timestamp(Lang.get(), expiry))
        # Without a client in the context (scripts, cron) nobody is told.
        notify(gettext(
                'google_integration.msg_refreshed',
                credentials=self.rec_name), body=body)

    # The names of the first versions, for code that calls them: they are
    # not buttons (the client and RPC use the names above).

    @classmethod
    def authorize(cls, records):
        "Alias of request_authorization"
        return cls.request_authorization(records)

    @classmethod
    def refresh(cls, records):
        "Alias of refresh_credentials"
        return cls.refresh_credentials(records)

    @classmethod
    @ModelView.button
    def revoke(cls, records):
        "Revoke the authorization at Google and forget the tokens"
        for record in records:
            record._sidecar('credentials.revoke')

    def get_status(self):
        "The sidecar's view of the credentials, as a dictionary"
        return self._sidecar('credentials.status')

    def get_credentials(self, min_validity=60, scopes=None):
        """Credentials with an access token valid at least min_validity seconds

        scopes are those the caller will use: the sidecar raises
        scope_not_granted when Google did not grant one of them.
        It is a google.oauth2.credentials.Credentials when google-auth is
        installed, otherwise an AccessToken; both have token, expiry (naive
        UTC datetime) and scopes.
        """
        def params(min_validity):
            params = {'min_validity': int(min_validity)}
            if scopes:
                params['scopes'] = list(scopes)
            return params

        result = self._sidecar(
            'credentials.get_access_token', **params(min_validity))
        token = result['access_token']
        expiry = parse_utc(result.get('token_expiry'))
        granted = list(result.get('scopes') or [])
        if OAuth2Credentials is None:
            return AccessToken(token=token, expiry=expiry, scopes=granted)

        database = Transaction().database.name
        id_, name = self.id, self.rec_name

        def refresh_handler(request, scopes=None):
            # google-auth calls it when the token expires, maybe outside of
            # any Tryton transaction: only the sidecar is needed.
            # google-auth sees a token as expired 3 min 45 s early.
            result = sidecar.call('credentials.get_access_token', {
                    'database': database,
                    'credential_id': id_,
                    **params(max(int(min_validity), 300)),
                    }, credentials=name)
            return (
                result['access_token'],
                parse_utc(result.get('token_expiry')))

        return OAuth2Credentials(
            token=token, expiry=expiry, scopes=granted,
            refresh_handler=refresh_handler)
