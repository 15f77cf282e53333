# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The module's route: how the sidecar's contacts work reaches Tryton's ORM

POST /<database>/google_integration/contacts/<action> (docs/contracts.md,
"The module's route"), authenticated by a validated res.user.application
key of the application google_integration (Authorization: Bearer <key>),
run as that key's user with that user's access rights, in one transaction.
Parties are written only here, through the ORM, so that the party module's
normalization and validation and other modules' overrides run.

Bodies and answers are JSON objects. Statuses: 200; 400 for a malformed
body; 401 (trytond's user_application) for a missing or refused key; 404
for an unknown action, or a credential that does not exist or does not list
contacts; 422 when Tryton refuses a change (a validation, an access right),
with Tryton's message: the transaction is rolled back, so nothing of the
batch is kept.
"""
import datetime as dt
import json
import logging

from sql.functions import Lower
from werkzeug.exceptions import HTTPException

from trytond.exceptions import UserError, UserWarning
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    HTTPStatus, Response, user_application, with_pool, with_transaction)
from trytond.transaction import Transaction, without_check_access
from trytond.wsgi import app

from . import contact_values
from .contact import APPLICATION, SYNC_CONTEXT
from .event import _chunks, _clear_cache, utcnow

logger = logging.getLogger(__name__)

MAX_ID = 2 ** 31 - 1
MAX_LIMIT = 1000
MAX_PARTY_IDS = 1000
MAX_EMAILS = 1000
MAX_CHANGES = 200
# Sizes of what one contact may hold: far above what Google keeps, low
# enough that a malformed body can not make Tryton work for long.
MAX_TEXT = 4096
MAX_ITEMS = 100
DEFAULT_LIMIT = 200
OPS = {
    'create': {'op', 'resource_name', 'values'},
    'update': {'op', 'party_id', 'values', 'resource_name'},
    'archive': {'op', 'party_id'},
    }

contacts_application = user_application(APPLICATION)


class BadRequest(ValueError):
    "The body is not what the action takes"


def _json(status, value):
    return Response(
        json.dumps(value, separators=(',', ':')), status=status,
        content_type='application/json')


def _abort(status, error, message, description=None):
    "Stop with a JSON answer; with_transaction rolls the transaction back"
    body = {'error': error, 'message': message}
    if description:
        body['description'] = description
    raise HTTPException(response=_json(status, body))


def _iso(value):
    "ISO 8601 UTC of a naive UTC timestamp, to the microsecond"
    if value is None:
        return None
    return value.replace(tzinfo=dt.timezone.utc).isoformat(
        timespec='microseconds').replace('+00:00', 'Z')


# Validation of the bodies

def _object(value, where, keys, required=()):
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object")
    unknown = value.keys() - set(keys)
    if unknown:
        raise BadRequest(f"{where}: unknown {', '.join(sorted(unknown))}")
    missing = [k for k in required if k not in value]
    if missing:
        raise BadRequest(f"{where}: missing {', '.join(missing)}")
    return value


def _integer(value, where, minimum=1, maximum=MAX_ID):
    # bool is an int in Python, never in the contract.
    if (not isinstance(value, int) or isinstance(value, bool)
            or not minimum <= value <= maximum):
        raise BadRequest(
            f"{where} must be an integer from {minimum} to {maximum}")
    return value


def _string(value, where, nullable=False, empty=True, size=MAX_TEXT):
    if value is None and nullable:
        return value
    if not isinstance(value, str) or len(value) > size or (
            not empty and not value.strip()):
        raise BadRequest(
            f"{where} must be a{' non-empty' if not empty else ''} string "
            f"of at most {size} characters")
    if '\x00' in value:
        raise BadRequest(f"{where} must not hold NUL")
    return value


def _list(value, where, size):
    if not isinstance(value, list) or len(value) > size:
        raise BadRequest(f"{where} must be a list of at most {size} items")
    return value


def _values(value, where):
    "The contact values (a field left out is left as Tryton holds it)"
    _object(value, where, contact_values.CONTACT_FIELDS)
    for name in ['name', 'organization', 'website']:
        if name in value:
            _string(value[name], f'{where}.{name}', nullable=True)
    for name in ['emails', 'groups']:
        if name in value:
            for i, item in enumerate(
                    _list(value[name], f'{where}.{name}', MAX_ITEMS)):
                _string(item, f'{where}.{name}[{i}]')
    if 'phones' in value:
        for i, phone in enumerate(
                _list(value['phones'], f'{where}.phones', MAX_ITEMS)):
            at = f'{where}.phones[{i}]'
            _object(phone, at, ['type', 'value', 'e164'], ['type', 'value'])
            if phone['type'] not in contact_values.PHONE_TYPES:
                raise BadRequest(
                    f"{at}.type must be one of "
                    f"{', '.join(contact_values.PHONE_TYPES)}")
            _string(phone['value'], f'{at}.value')
            _string(phone.get('e164'), f'{at}.e164', nullable=True)
    if 'addresses' in value:
        for i, address in enumerate(
                _list(value['addresses'], f'{where}.addresses', MAX_ITEMS)):
            at = f'{where}.addresses[{i}]'
            _object(address, at, contact_values.ADDRESS_FIELDS)
            for name in contact_values.ADDRESS_FIELDS:
                _string(address.get(name), f'{at}.{name}', nullable=True)
    return value


def _read_body(request):
    try:
        body = json.loads(request.get_data(cache=True).decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body must be a JSON object")
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _parse(action, body):
    "The action's parameters, checked"
    # The action's keys, and those required.
    keys = {
        'pending': ['credential_id', 'limit'],
        'read': ['credential_id', 'party_ids'],
        'match': ['credential_id', 'emails'],
        'apply': ['credential_id', 'changes'],
        }[action]
    required = keys[:1] if action == 'pending' else keys
    _object(body, 'body', keys, required)
    _integer(body['credential_id'], 'credential_id')
    if action == 'pending':
        _integer(body.get('limit', DEFAULT_LIMIT), 'limit', 1, MAX_LIMIT)
    elif action == 'read':
        for i, id_ in enumerate(
                _list(body['party_ids'], 'party_ids', MAX_PARTY_IDS)):
            _integer(id_, f'party_ids[{i}]')
    elif action == 'match':
        for i, email in enumerate(_list(body['emails'], 'emails', MAX_EMAILS)):
            _string(email, f'emails[{i}]', size=1024)
    elif action == 'apply':
        for i, change in enumerate(
                _list(body['changes'], 'changes', MAX_CHANGES)):
            at = f'changes[{i}]'
            if not isinstance(change, dict) or change.get('op') not in OPS:
                raise BadRequest(
                    f"{at} must be an object whose op is "
                    f"{', '.join(sorted(OPS))}")
            _object(change, at, OPS[change['op']], sorted(OPS[change['op']]))
            if 'party_id' in change:
                _integer(change['party_id'], f'{at}.party_id')
            if 'resource_name' in change:
                _string(
                    change['resource_name'], f'{at}.resource_name',
                    empty=False, size=1024)
            if 'values' in change:
                _values(change['values'], f'{at}.values')
    return body


# The actions

def _party_states(credential, parties):
    "The PartyState of each party, in the order of parties"
    pool = Pool()
    PartyContact = pool.get('google_integration.party_contact')
    ids = [p.id for p in parties]
    rows = {}
    # The key's user may not read the sidecar's rows: they are the route's.
    with without_check_access():
        for sub_ids in _chunks(ids):
            for row in PartyContact.search([
                        ('credential', '=', credential.id),
                        ('party', 'in', sub_ids),
                        ]):
                rows[row.party.id] = {
                    'contact_id': row.id,
                    'resource_name': row.resource_name,
                    'local_write': _iso(row.local_write),
                    }
    in_scope = credential.contacts_in_scope(ids, active=False)
    values = contact_values.values_of(parties)
    states = []
    for party in parties:
        row = rows.get(party.id, {})
        states.append({
                'party_id': party.id,
                'contact_id': row.get('contact_id'),
                'resource_name': row.get('resource_name'),
                'active': bool(party.active),
                'replaced_by': (
                    party.replaced_by.id if party.replaced_by else None),
                'local_write': row.get('local_write'),
                'in_scope': party.id in in_scope,
                'values': values[party.id],
                })
    return states


def _browse_parties(ids):
    "The existing parties of ids (archived ones too), in the order of ids"
    pool = Pool()
    Party = pool.get('party.party')
    found = {}
    with Transaction().set_context(active_test=False):
        for sub_ids in _chunks(ids):
            for party in Party.search([('id', 'in', sub_ids)]):
                found[party.id] = party
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def pending(credential, body):
    pool = Pool()
    PartyContact = pool.get('google_integration.party_contact')
    limit = body.get('limit', DEFAULT_LIMIT)
    # Rows of deleted parties (party set to NULL) are the sidecar's to
    # find by SQL: they have no party to answer.
    with without_check_access():
        rows = PartyContact.search([
                ('credential', '=', credential.id),
                ('sync_status', '=', 'pending_push'),
                ('party', '!=', None),
                ], order=[
                ('local_write', 'ASC NULLS FIRST'),
                ('id', 'ASC'),
                ], limit=limit)
        party_ids = [r.party.id for r in rows]
    return {'parties': _party_states(credential, _browse_parties(party_ids))}


def read(credential, body):
    parties = _browse_parties(body['party_ids'])
    return {'parties': _party_states(credential, parties)}


def match(credential, body):
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    PartyContact = pool.get('google_integration.party_contact')
    table = Mechanism.__table__()
    cursor = Transaction().connection.cursor()
    emails = {}
    for email in body['emails']:
        key = email.strip().lower()
        if key:
            emails.setdefault(key, email)
    # Tryton keeps an e-mail as it was typed: compared in lower case, which
    # the ORM's domain can not say.
    mechanism_ids = []
    for sub_emails in _chunks(sorted(emails)):
        cursor.execute(*table.select(
                table.id,
                where=(table.type == 'email')
                & Lower(table.value).in_(sub_emails)))
        mechanism_ids.extend(i for i, in cursor)
    found = {}
    with Transaction().set_context(active_test=False):
        for sub_ids in _chunks(mechanism_ids):
            for mechanism in Mechanism.search([
                        ('id', 'in', sub_ids),
                        ('active', '=', True),
                        ('party.active', '=', True),
                        ], order=[]):
                key = mechanism.value.strip().lower()
                found.setdefault(key, set()).add(mechanism.party.id)
    candidates = set().union(*found.values()) if found else set()
    linked = set()
    with without_check_access():
        for sub_ids in _chunks(sorted(candidates)):
            linked.update(row.party.id for row in PartyContact.search([
                        ('credential', '=', credential.id),
                        ('party', 'in', sub_ids),
                        ('resource_name', '!=', None),
                        ]))
    in_scope = credential.contacts_in_scope(candidates - linked)
    matches = []
    for key, email in emails.items():
        # The oldest party holding the e-mail, when several do.
        parties = sorted(found.get(key, set()) & in_scope)
        if parties:
            matches.append({'email': email, 'party_id': parties[0]})
    return {'matches': matches}


def apply(credential, body):
    """Apply the changes in order, answering each party read back as Tryton
    normalized it

    The creates that follow one another are made together (one
    Party.create, their rows at once), the updates and archives one by one
    in between; the answers are read back together at the end.
    """
    pool = Pool()
    Party = pool.get('party.party')
    PartyContact = pool.get('google_integration.party_contact')
    changes = body['changes']
    # What the call works out once: countries, categories, phone numbers.
    cache = contact_values.Cache()
    # The parties the updates and archives name (none is deleted here).
    found = {p.id for p in _browse_parties(
            [c['party_id'] for c in changes if 'party_id' in c])}
    # Of each change: the party and its party_contact row.
    answers = [None] * len(changes)
    creates = {}

    def create():
        if creates:
            _create(credential, list(creates.values()), answers, cache)
            creates.clear()

    for index, change in enumerate(changes):
        op = change['op']
        if op == 'create':
            # The same contact twice: the second one updates the first.
            if change['resource_name'] in creates:
                create()
            creates[change['resource_name']] = (index, change)
            continue
        create()
        if change['party_id'] not in found:
            _abort(
                HTTPStatus.UNPROCESSABLE_ENTITY, 'party_not_found',
                f"Party {change['party_id']} does not exist.")
        party = Party(change['party_id'])
        if op == 'update':
            contact_values.apply(party, change['values'], cache)
        elif party.active:
            Party.write([party], {'active': False})
        row = _synced(credential, party, change.get('resource_name'))
        answers[index] = (party.id, row.id if row else None)
    create()
    # Read back as Tryton normalized it: once, every party of the call.
    _clear_cache(Party)
    _clear_cache(PartyContact)
    parties = Party.browse(list(dict.fromkeys(p for p, _ in answers)))
    values = contact_values.values_of(parties)
    return {'results': [{
                'party_id': party_id,
                'contact_id': row_id,
                'values': values[party_id],
                } for party_id, row_id in answers]}


def _create(credential, creates, answers, cache):
    """The creates (index, change) of distinct resource names: new parties
    with their rows synced, made together; a contact whose row links a
    party already (an earlier apply committed, its answer was lost) updates
    that party instead"""
    pool = Pool()
    Party = pool.get('party.party')
    PartyContact = pool.get('google_integration.party_contact')
    linked = {}
    with without_check_access():
        for sub_names in _chunks([c['resource_name'] for _, c in creates]):
            for row in PartyContact.search([
                        ('credential', '=', credential.id),
                        ('resource_name', 'in', sub_names),
                        ('party', '!=', None),
                        ]):
                linked.setdefault(row.resource_name, row.party.id)
    new = []
    for index, change in creates:
        party_id = linked.get(change['resource_name'])
        if party_id is None:
            new.append((index, change))
            continue
        party = Party(party_id)
        contact_values.apply(party, change['values'], cache)
        row = _synced(credential, party, change['resource_name'])
        answers[index] = (party_id, row.id)
    if not new:
        return
    parties = contact_values.create_parties(
        [c['values'] for _, c in new], cache)
    now = utcnow()
    # New parties have no row of the credential, and no other party holds
    # these contacts (they would be linked above).
    with without_check_access():
        rows = PartyContact.create([{
                    'party': party.id,
                    'credential': credential.id,
                    'resource_name': change['resource_name'],
                    'sync_status': 'synced',
                    'last_sync': now,
                    } for party, (_, change) in zip(parties, new)])
    for (index, _), party, row in zip(new, parties, rows):
        answers[index] = (party.id, row.id)


def _synced(credential, party, resource_name):
    """Mark the party's row synced (with resource_name when given, created
    when missing); one contact of an account is one party"""
    pool = Pool()
    PartyContact = pool.get('google_integration.party_contact')
    now = utcnow()
    # One search: the party's row, and the others holding the contact.
    domain = [('party', '=', party.id)]
    if resource_name:
        domain = ['OR', domain, [
                ('resource_name', '=', resource_name),
                ('party', '!=', None),
                ]]
    with without_check_access():
        found = PartyContact.search([
                ('credential', '=', credential.id),
                domain,
                ])
        rows = [r for r in found if r.party.id == party.id][:1]
        others = [r for r in found if r.party.id != party.id]
        if others:
            PartyContact.write(others, {'resource_name': None})
        values = {'sync_status': 'synced', 'last_sync': now}
        if resource_name:
            values['resource_name'] = resource_name
        if rows:
            row, = rows
            PartyContact.write([row], values)
            return row
        if not resource_name:
            return None
        row, = PartyContact.create([{
                    'party': party.id,
                    'credential': credential.id,
                    **values,
                    }])
        return row


ACTIONS = {
    'pending': pending,
    'read': read,
    'match': match,
    'apply': apply,
    }


@app.route(
    '/<database_name>/google_integration/contacts/<action>',
    methods=['POST'])
@with_pool
@with_transaction()
@contacts_application
def contacts(request, pool, action):
    Credentials = pool.get('google_integration.google_credentials')
    if action not in ACTIONS:
        _abort(
            HTTPStatus.NOT_FOUND, 'not_found', f"No action {action!r}.")
    try:
        body = _parse(action, _read_body(request))
    except BadRequest as error:
        _abort(HTTPStatus.BAD_REQUEST, 'bad_request', str(error))
    with without_check_access():
        credentials = Credentials.search([
                ('id', '=', body['credential_id']),
                ('services', 'in', ['contacts']),
                ], limit=1)
    if not credentials:
        _abort(
            HTTPStatus.NOT_FOUND, 'credential_not_found',
            f"No credentials {body['credential_id']} listing contacts.")
    credential, = credentials
    try:
        # No echo: the changes of this account mark nothing for it (other
        # accounts synchronizing the same parties get them).
        with Transaction().set_context({SYNC_CONTEXT: credential.id}):
            result = ACTIONS[action](credential, body)
    except (UserError, UserWarning) as error:
        logger.info(
            "contacts %s of credentials %s refused: %s",
            action, credential.id, error.message)
        _abort(
            HTTPStatus.UNPROCESSABLE_ENTITY, 'tryton_error', error.message,
            error.description)
    return _json(HTTPStatus.OK, result)
