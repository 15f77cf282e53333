# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""Parties synchronized with the Google Contacts of credentials

Where the party module is activated (docs/contracts.md, "Contacts
synchronization"). A party_contact row says, per credential, whether a
party waits for the sidecar (pending_push) and which Google contact it is.
Tryton marks the rows as users change parties (the on_modification hooks
below) and queues the credential's round (contacts_queue.py); the sidecar
writes the rows back with SQL, and brings Google's changes into parties
through the module's route (routes.py), whose writes mark nothing.
"""
import json

from sql import Conflict, Literal, Null

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from . import contact_values, contacts_queue
from .calendar_ import notify_counts
from .conflict import ConflictMixin
from .event import _chunks, _clear_cache, utcnow
from .exceptions import ContactConflictError
from .model import Timestamp, rec_name_domain

# The context key of the route's writes: they mark nothing for the account
# they come from (no echo); True marks nothing at all.
SYNC_CONTEXT = 'google_integration_contacts_sync'
APPLICATION = 'google_integration'
PARTY_SYNC_STATUSES = [
    (None, ''),
    ('pending_push', "Pending Push"),
    ('synced', "Synchronized"),
    ]
# What a change of marks the party: the contract's synchronized values (its
# categories through party.party-party.category, which any change of them
# creates or deletes).
PARTY_FIELDS = {'name', 'google_organization', 'active', 'replaced_by'}
MECHANISM_FIELDS = {'type', 'value', 'active', 'sequence', 'party'}
ADDRESS_FIELDS = {
    'street', 'street_unstructured', 'street_name', 'building_name',
    'building_number', 'unit_number', 'floor_number', 'room_number',
    'post_box', 'postal_code', 'city', 'country', 'active', 'sequence',
    'party'}
CATEGORY_FIELDS = {'name', 'parent'}
CREDENTIAL_SCOPE_FIELDS = {
    'services', 'contacts_scope', 'contacts_categories'}
SYNC_COUNTS = ['created', 'updated', 'archived', 'pushed', 'deleted']
# The key of the credentials listing contacts in a transaction's memo.
CREDENTIALS_MEMO = 'google_integration.contacts_credentials'


def syncing():
    """What the route's writes must not mark: True for every credential, or
    the id of the credential whose changes they bring (its own account gets
    no echo; the other accounts of the party get the change)"""
    return Transaction().context.get(SYNC_CONTEXT)


class _TransactionMemo:
    """What a transaction works out once, forgotten when it commits or rolls
    back: joined to the transaction as a data manager (one a transaction)"""
    __slots__ = ('values',)

    def __init__(self):
        self.values = {}

    def __eq__(self, other):
        return isinstance(other, _TransactionMemo)

    def __hash__(self):
        return hash(_TransactionMemo)

    def tpc_begin(self, transaction):
        pass

    def commit(self, transaction):
        pass

    def tpc_vote(self, transaction):
        pass

    def tpc_finish(self, transaction):
        self.values.clear()

    def tpc_abort(self, transaction):
        self.values.clear()


def _memo():
    "The current transaction's memo"
    return Transaction().join(_TransactionMemo()).values


def contacts_credential_ids():
    """The ids of the credentials that list the contacts service: searched
    once a transaction (every party saved asks), forgotten when credentials
    are created, deleted or change their services"""
    pool = Pool()
    Credentials = pool.get('google_integration.google_credentials')
    memo = _memo()
    ids = memo.get(CREDENTIALS_MEMO)
    if ids is None:
        with without_check_access():
            records = Credentials.search(
                [('services', 'in', ['contacts'])])
        ids = memo[CREDENTIALS_MEMO] = tuple(r.id for r in records)
    return ids


def forget_contacts_credentials():
    "Search the credentials listing contacts again at the next need"
    _memo().pop(CREDENTIALS_MEMO, None)


def contacts_credentials(exclude=None):
    "The credentials that list the contacts service (but exclude)"
    pool = Pool()
    Credentials = pool.get('google_integration.google_credentials')
    ids = [i for i in contacts_credential_ids() if i != exclude]
    # Read as they were searched: whoever saves a party may not read them.
    with without_check_access():
        return Credentials.browse(ids)


def marking_credentials():
    """The credentials the current writes mark parties for: every one
    listing contacts, but the one whose changes the route brings (no echo),
    and none under SYNC_CONTEXT True"""
    skip = syncing()
    if skip is True:
        return []
    return contacts_credentials(exclude=skip)


def _queue(credential_ids):
    if credential_ids and backend.name == 'postgresql':
        contacts_queue.queue(
            Transaction().connection.cursor(), credential_ids)


def mark_parties(party_ids, deleted=False):
    """Mark the party_contact rows of the parties pending_push and queue the
    rounds of their credentials

    Per credential listing contacts: the rows of the parties it already has,
    and new rows for the active parties in its scope (not for deleted ones).
    """
    pool = Pool()
    PartyContact = pool.get('google_integration.party_contact')
    transaction = Transaction()
    # First, as it is cheap: nothing to do under the route's context when
    # no other credential lists contacts.
    credentials = marking_credentials()
    if not credentials:
        return
    party_ids = {int(i) for i in party_ids if i is not None and int(i) >= 0}
    # Parties being deleted had their rows marked by their own deletion.
    party_ids -= transaction.delete_records.get('party.party', set())
    if not party_ids:
        return
    table = PartyContact.__table__()
    cursor = transaction.connection.cursor()
    now = utcnow()
    queued = []
    for credential in credentials:
        targets = set()
        for sub_ids in _chunks(sorted(party_ids)):
            cursor.execute(*table.select(
                    table.party,
                    where=(table.credential == credential.id)
                    & table.party.in_(sub_ids)))
            targets.update(p for p, in cursor)
            if not deleted:
                targets.update(credential.contacts_in_scope(sub_ids))
        if targets:
            PartyContact.upsert_pending(credential, targets, now)
            queued.append(credential.id)
    _queue(queued)


class CredentialCategory(ModelSQL):
    "The categories whose parties a credential synchronizes"
    __name__ = 'google_integration.credential_category'
    __string__ = "Google Credentials - Party Category"

    credential = fields.Many2One(
        'google_integration.google_credentials', "Credentials",
        required=True, ondelete='CASCADE')
    category = fields.Many2One(
        'party.category', "Category", required=True, ondelete='CASCADE')


class GoogleCredentials(metaclass=PoolMeta):
    __name__ = 'google_integration.google_credentials'

    contacts_categories = fields.Many2Many(
        'google_integration.credential_category', 'credential', 'category',
        "Categories",
        states={
            'invisible': Eval('contacts_scope') != 'categories',
            },
        help="The parties of these categories, or of their children, are "
        "synchronized.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'sync_contacts': {
                    'invisible': (
                        (Eval('state') != 'authorized')
                        | ~Eval('services', []).contains('contacts')),
                    'depends': ['state', 'services'],
                    },
                'allow_deletions': {
                    'invisible': Eval('contacts_status') != 'held',
                    'depends': ['contacts_status'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/form/notebook/page[@id="contacts"]', 'states', {
                    'invisible': ~Eval('services', []).contains('contacts'),
                    }),
            ]

    def contacts_scope_domain(self):
        "The domain of the parties in the scope, active or not"
        if self.contacts_scope == 'categories':
            categories = [c.id for c in self.contacts_categories]
            if not categories:
                return [('id', '=', None)]
            return [('categories', 'child_of', categories, 'parent')]
        return []

    def contacts_in_scope(self, party_ids, active=True):
        "The ids of the parties in the scope (only the active ones)"
        pool = Pool()
        Party = pool.get('party.party')
        result = set()
        # Whoever saves a party may not read credentials.
        with without_check_access(), \
                Transaction().set_context(active_test=False):
            scope = self.contacts_scope_domain()
            for sub_ids in _chunks(sorted(party_ids)):
                domain = [('id', 'in', sub_ids), *scope]
                if active:
                    domain.append(('active', '=', True))
                result.update(p.id for p in Party.search(domain, order=[]))
        return result

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        # A deletion forgets them again once done (on_delete).
        if mode != 'write' or 'services' in field_names:
            forget_contacts_credentials()
        if mode == 'delete':
            return
        if mode == 'write' and not (field_names & CREDENTIAL_SCOPE_FIELDS):
            return
        contacts = [r for r in records if 'contacts' in (r.services or [])]
        if contacts:
            ensure_application_key()
            cls.create_contact_rows(contacts)

    @classmethod
    def on_delete(cls, records):
        callback = super().on_delete(records)
        callback.append(forget_contacts_credentials)
        return callback

    @classmethod
    def create_contact_rows(cls, records):
        """Add a pending party_contact row for every active party in the
        scope of the credentials that has none, and queue their rounds"""
        pool = Pool()
        Party = pool.get('party.party')
        PartyContact = pool.get('google_integration.party_contact')
        table = PartyContact.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        now = utcnow()
        queued = []
        for record in records:
            with without_check_access(), \
                    transaction.set_context(active_test=False):
                parties = Party.search(
                    [('active', '=', True), *record.contacts_scope_domain()],
                    order=[], query=True)
            existing = table.select(
                table.party,
                where=(table.credential == record.id)
                & (table.party != Null))
            party = Party.__table__()
            cursor.execute(*table.insert(
                    [table.party, table.credential, table.sync_status,
                        table.local_write, table.create_uid,
                        table.create_date],
                    party.select(
                        party.id, Literal(record.id),
                        Literal('pending_push'), Literal(now),
                        Literal(transaction.user), Literal(now),
                        where=party.id.in_(parties)
                        & ~party.id.in_(existing)),
                    # A concurrent save made it meanwhile.
                    on_conflict=Conflict(table)))
            if cursor.rowcount:
                queued.append(record.id)
        _clear_cache(PartyContact)
        _queue(queued)

    @classmethod
    @ModelView.button
    def sync_contacts(cls, records):
        "Synchronize the contacts with Google now"
        for record in records:
            result = record._sidecar('contacts.sync')
            notify_contacts_synchronized(record.rec_name, result)
        return 'reload'

    @classmethod
    @ModelView.button
    def allow_deletions(cls, records):
        """Let the next round make the deletions the last one held, and
        queue it"""
        for record in records:
            cls.write([record], {
                    'contacts_allowed_deletions': (
                        record.contacts_held_deletions or 0),
                    })
        _queue([r.id for r in records])


def notify_contacts_synchronized(name, result):
    "Tell the user (through the bus) what a contacts.sync did"
    return notify_counts(
        'google_integration.msg_contacts_synchronized', name, result,
        SYNC_COUNTS, [
            ('conflicts', 'google_integration.msg_contacts_sync_conflicts'),
            ('held', 'google_integration.msg_contacts_sync_held'),
            ])


def ensure_application_key():
    """Create the application key of the module's route for the current user
    when no validated one exists (docs/contracts.md, "The module's route")"""
    pool = Pool()
    Application = pool.get('res.user.application')
    with without_check_access():
        if Application.search([
                    ('application', '=', APPLICATION),
                    ('state', '=', 'validated'),
                    ], limit=1):
            return
        Application.create([{
                    'user': Transaction().user,
                    'application': APPLICATION,
                    'state': 'validated',
                    }])


class PartyContact(ModelSQL, ModelView):
    "The Google contact of a party in the account of credentials"
    __name__ = 'google_integration.party_contact'
    __string__ = "Google Contact of Party"

    party = fields.Many2One(
        'party.party', "Party", readonly=True, ondelete='SET NULL')
    credential = fields.Many2One(
        'google_integration.google_credentials', "Credentials",
        required=True, readonly=True, ondelete='CASCADE')
    account_email = fields.Function(
        fields.Char("Google Account"), 'get_account_email')
    resource_name = fields.Char(
        "Google Resource", readonly=True,
        help="The contact's resource name at Google.")
    sync_status = fields.Selection(
        PARTY_SYNC_STATUSES, "Status", readonly=True, sort=False)
    # Exact: the route sends it, and the sidecar marks the row synced only
    # while it is still the one it read.
    local_write = fields.Timestamp(
        "Changed in Tryton", readonly=True,
        help="When Tryton last changed the synchronized values.")
    last_sync = Timestamp("Last Synchronization", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_credential_unique', Unique(t, t.party, t.credential),
                'google_integration.msg_party_contact_unique'),
            ]
        cls._order = [
            ('credential', 'ASC'),
            ('id', 'ASC'),
            ]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        if backend.name == 'postgresql':
            contacts_queue.create(Transaction().connection.cursor())

    def get_rec_name(self, name):
        party = self.party.rec_name if self.party else ''
        return f'{party} @ {self.credential.rec_name}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(
            clause, ['party.rec_name', 'credential.rec_name'])

    def get_account_email(self, name):
        return self.credential.account_email

    @classmethod
    def upsert_pending(cls, credential, party_ids, now):
        "Mark the rows of the parties pending, creating the missing ones"
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        user = transaction.user
        # One statement: two transactions saving the same new party both
        # mark it, whichever inserts first (unique party, credential).
        for sub_ids in _chunks(sorted(party_ids)):
            cursor.execute(
                f'INSERT INTO "{cls._table}" AS c '
                '(party, credential, sync_status, local_write, '
                'create_uid, create_date) '
                'SELECT p, %s, %s, %s, %s, %s '
                'FROM unnest(%s::integer[]) AS p '
                'ON CONFLICT (party, credential) DO UPDATE SET '
                'sync_status = EXCLUDED.sync_status, '
                'local_write = EXCLUDED.local_write, '
                'write_uid = EXCLUDED.create_uid, '
                'write_date = EXCLUDED.create_date',
                (credential.id, 'pending_push', now, user, now,
                    sub_ids))
        _clear_cache(cls)


class ContactConflict(ConflictMixin, ModelSQL, ModelView):
    "A contact value both sides changed, or one deleted and one changed"
    __name__ = 'google_integration.contact_conflict'
    __string__ = "Google Contact Conflict"
    _record_field = 'party'
    _version_fields = contact_values.CONTACT_FIELDS
    _version_name = 'name'

    party = fields.Many2One(
        'party.party', "Party", readonly=True, ondelete='SET NULL')
    credential = fields.Many2One(
        'google_integration.google_credentials', "Credentials",
        required=True, readonly=True, ondelete='CASCADE')
    lost_version = fields.Function(
        fields.Text(
            "Lost Version",
            help="What \"Apply\" writes onto the party."),
        'get_versions')

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name', *clause[1:])]

    @classmethod
    def _labels(cls):
        "The translated names of the contact values"
        return {
            n: gettext(f'google_integration.msg_contact_field_{n}')
            for n in contact_values.CONTACT_FIELDS}

    @classmethod
    def _format_context(cls):
        "The translated types of the contact mechanisms"
        pool = Pool()
        Mechanism = pool.get('party.contact_mechanism')
        return {
            'types': dict(
                Mechanism.fields_get(['type'])['type']['selection']),
            }

    @classmethod
    def _format_value(cls, name, value, types):
        if value is None:
            return ''
        if isinstance(value, str):
            return value
        if name == 'phones' and isinstance(value, list):
            return ', '.join(
                f"{p.get('value') or p.get('e164') or ''} "
                f"({types.get(p.get('type'), p.get('type'))})"
                if isinstance(p, dict) else str(p) for p in value)
        if name == 'addresses' and isinstance(value, list):
            return '; '.join(
                cls._format_address(a) if isinstance(a, dict) else str(a)
                for a in value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return ', '.join(value)
        return json.dumps(value)

    @staticmethod
    def _format_address(address):
        street = ' '.join((address.get('street') or '').split())
        city = ' '.join(
            p for p in [address.get('postal_code'), address.get('city')] if p)
        return ', '.join(
            p for p in [
                street, address.get('post_box'), city,
                address.get('country')] if p)

    def _apply(self):
        """Write the lost values onto the party (the ORM marks it pending),
        or for a deletion bring it back; return the party"""
        pool = Pool()
        Party = pool.get('party.party')
        version = {
            k: v for k, v in (self._load(self.lost) or {}).items()
            if k in contact_values.CONTACT_FIELDS}
        version = _clean_version(version)
        if self.kind == 'delete':
            # The deletion won: bring the party back as the losing side had
            # it (again, or as a new party once it is gone).
            if not self.party:
                return contact_values.create_party(version)
            party = self.party
            if not party.active:
                Party.write([party], {'active': True})
            contact_values.apply(Party(party.id), version)
            return party
        if not self.party:
            raise ContactConflictError(gettext(
                    'google_integration.msg_contact_conflict_party_gone',
                    conflict=self.rec_name))
        contact_values.apply(self.party, version)
        return self.party


def _clean_version(version):
    "The values of a stored version in the shape apply() takes"
    clean = {}
    for name, value in version.items():
        if name in {'name', 'organization', 'website'}:
            clean[name] = value if isinstance(value, str) else ''
        elif name in {'emails', 'groups'}:
            clean[name] = [v for v in value or [] if isinstance(v, str)]
        elif name == 'phones':
            clean[name] = [
                p for p in value or [] if isinstance(p, dict)
                and p.get('type') in contact_values.PHONE_TYPES]
        elif name == 'addresses':
            clean[name] = [a for a in value or [] if isinstance(a, dict)]
    return clean


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    google_organization = fields.Char(
        "Organization",
        help="The organization of the party's Google contacts.")
    google_contacts = fields.One2Many(
        'google_integration.party_contact', 'party', "Google Contacts",
        readonly=True,
        help="The Google accounts the party is synchronized with.")

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        # A copy is a new party: it has no contact yet.
        default.setdefault('google_contacts', None)
        return super().copy(parties, default=default)

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'write' and not (field_names & PARTY_FIELDS):
            return
        mark_parties([p.id for p in parties], deleted=(mode == 'delete'))


class _MarkOwnerParty:
    "Mark the parties of the records whose synchronized values change"
    __slots__ = ()
    _sync_fields = set()

    @classmethod
    def _owner_parties(cls, records, any_type=False):
        """The parties of the records, read in SQL: the Replace wizard moves
        records to another party in SQL and then calls on_modification
        with records whose cached party is the former one"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        parties = set()
        for sub_ids in _chunks([r.id for r in records]):
            cursor.execute(*table.select(
                    table.party,
                    where=table.id.in_(sub_ids) & cls._synchronized_where(
                        table, any_type)))
            parties.update(p for p, in cursor)
        return parties

    @classmethod
    def _synchronized_where(cls, table, any_type):
        return Literal(True)

    @classmethod
    def on_modification(cls, mode, records, field_names=None):
        super().on_modification(mode, records, field_names=field_names)
        if mode == 'write' and not (field_names & cls._sync_fields):
            return
        # Not even the parties' SQL when there is no one to mark them for.
        if not marking_credentials():
            return
        # A mechanism whose type changed may have been synchronized.
        any_type = mode == 'write' and 'type' in field_names
        mark_parties(cls._owner_parties(records, any_type=any_type))


class ContactMechanism(_MarkOwnerParty, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'
    _sync_fields = MECHANISM_FIELDS

    @classmethod
    def _synchronized_where(cls, table, any_type):
        if any_type:
            return Literal(True)
        return table.type.in_(contact_values.MECHANISM_TYPES)


class Address(_MarkOwnerParty, metaclass=PoolMeta):
    __name__ = 'party.address'
    _sync_fields = ADDRESS_FIELDS


class PartyCategory(_MarkOwnerParty, metaclass=PoolMeta):
    __name__ = 'party.party-party.category'
    _sync_fields = {'party', 'category'}


class Category(metaclass=PoolMeta):
    __name__ = 'party.category'

    @classmethod
    def on_modification(cls, mode, categories, field_names=None):
        super().on_modification(mode, categories, field_names=field_names)
        if mode != 'write' or not (field_names & CATEGORY_FIELDS):
            return
        if not marking_credentials():
            return
        # The full names of the categories, and of their children, change:
        # so do the groups of their parties.
        pool = Pool()
        Party = pool.get('party.party')
        with without_check_access(), \
                Transaction().set_context(active_test=False):
            parties = Party.search([
                    ('categories', 'child_of',
                        [c.id for c in categories], 'parent'),
                    ], order=[])
        mark_parties([p.id for p in parties])
