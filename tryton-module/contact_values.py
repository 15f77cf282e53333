# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The contact values of parties, both ways

The one JSON shape in which the sidecar compares a party with a Google
contact (docs/contracts.md, "What is synchronized"):

    {"name": str, "organization": str, "emails": [str],
     "phones": [{"type": "phone"|"mobile"|"fax", "value": str, "e164": str}],
     "website": str,
     "addresses": [{"street", "post_box", "postal_code", "city",
                    "country"}],
     "groups": [str]}

values_of() reads it from parties; apply() writes it onto a party through
Tryton's ORM, so that the party module normalizes what it takes (phones in
international format, e-mails, the composed street) and its validation and
the overrides of other modules run. Values are compared, never their
spelling, so that a value Tryton spells differently from Google writes
nothing: texts trimmed, e-mails in lower case, phones by type and E.164,
countries by code. What Tryton holds is never deleted: mechanisms and
addresses no longer in the values are archived.
"""
from string import Template

try:
    import phonenumbers
except ImportError:
    phonenumbers = None

from trytond.pool import Pool
from trytond.tools.email_ import normalize_email
from trytond.transaction import Transaction

from .event import _chunks

CONTACT_FIELDS = [
    'name', 'organization', 'emails', 'phones', 'website', 'addresses',
    'groups']
PHONE_TYPES = ['phone', 'mobile', 'fax']
MECHANISM_TYPES = ['email', *PHONE_TYPES, 'website']
ADDRESS_FIELDS = ['street', 'post_box', 'postal_code', 'city', 'country']
# party.category's tree separator: a group is a category by its full name.
CATEGORY_SEPARATOR = ' / '
# Addresses created or reordered by apply are numbered by this step, so
# that a user may still insert one between two.
SEQUENCE_STEP = 10
# The numbers of Tryton's street format that Google keeps apart (poBox).
POST_BOX_NUMBERS = ['post_box', 'private_bag', 'post_office']


def _text(value):
    return (value or '').strip()


def _digits(value):
    "A phone number as compared when it can not be parsed: digits and +"
    return ''.join(c for c in (value or '') if c.isdigit() or c == '+')


def _order(records):
    "Tryton's order of sequence_ordered records: sequence (nulls first), id"
    return sorted(
        records, key=lambda r: (r.sequence is not None, r.sequence or 0, r.id))


def _active(Model, party_ids, domain=None):
    "The active records of Model of the parties, in Tryton's order"
    records = []
    with Transaction().set_context(active_test=False):
        for sub_ids in _chunks(party_ids):
            records.extend(Model.search([
                        ('party', 'in', sub_ids),
                        ('active', '=', True),
                        *(domain or []),
                        ]))
    return _order(records)


def street(address):
    """The street of the address without its post box

    Tryton 8.0's street is composed from the structured fields by the
    address format, the post box included, and falls back to the
    unstructured street only when they are all empty: Google keeps the post
    box apart (poBox), so it is left out here, and an unstructured street
    with a post box is that street.
    """
    pool = Pool()
    AddressFormat = pool.get('party.address.format')
    substitutions = address._get_street_substitutions()
    for name in POST_BOX_NUMBERS:
        substitutions[name] = substitutions[name.upper()] = ''
    composed = Template(AddressFormat.get_street_format(address)).substitute(
        **substitutions)
    return (address._strip(composed, doublespace=True)
        or address.street_unstructured or '')


def _address_values(address):
    return {
        'street': street(address),
        'post_box': address.post_box or '',
        'postal_code': address.postal_code or '',
        'city': address.city or '',
        'country': address.country.code if address.country else '',
        }


def values_of(parties):
    "The contact values of each party, by party id"
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    Address = pool.get('party.address')
    ids = [p.id for p in parties]
    result = {}
    for party in parties:
        result[party.id] = {
            'name': party.name or '',
            'organization': party.google_organization or '',
            'emails': [],
            'phones': [],
            'website': '',
            'addresses': [],
            # Archived categories too: the party still belongs to them.
            'groups': sorted({c.rec_name for c in party.categories}),
            }
    for mechanism in _active(
            Mechanism, ids, [('type', 'in', MECHANISM_TYPES)]):
        values = result[mechanism.party.id]
        if mechanism.type == 'email':
            values['emails'].append(mechanism.value)
        elif mechanism.type == 'website':
            # The first one only: Google's urls[0].
            values['website'] = values['website'] or mechanism.value
        else:
            values['phones'].append({
                    'type': mechanism.type,
                    'value': mechanism.value,
                    'e164': mechanism.value_compact or mechanism.value,
                    })
    for address in _active(Address, ids):
        result[address.party.id]['addresses'].append(
            _address_values(address))
    return result


def create_party(values):
    "A new party of the contact values"
    pool = Pool()
    Party = pool.get('party.party')
    party, = Party.create([{
                'name': _text(values.get('name')) or None,
                'google_organization': (
                    _text(values.get('organization')) or None),
                }])
    apply(party, {
            k: v for k, v in values.items()
            if k not in {'name', 'organization'}})
    return party


def apply(party, values):
    """Write the contact values onto the party

    Only the fields present in values are written, and only what differs:
    missing mechanisms and addresses are added, those no longer present are
    archived (never deleted).
    """
    pool = Pool()
    Party = pool.get('party.party')
    to_write = {}
    for field, name in [('name', 'name'), ('google_organization',
                'organization')]:
        if name in values:
            value = _text(values[name])
            if _text(getattr(party, field)) != value:
                to_write[field] = value or None
    if to_write:
        Party.write([party], to_write)
    # Addresses first: the party module parses national phone numbers with
    # the countries of the party's addresses.
    if 'addresses' in values:
        _apply_addresses(party, values['addresses'] or [])
    if 'emails' in values:
        _apply_emails(party, values['emails'] or [])
    if 'phones' in values:
        _apply_phones(Party(party.id), values['phones'] or [])
    if 'website' in values:
        _apply_website(party, values['website'])
    if 'groups' in values:
        _apply_groups(Party(party.id), values['groups'] or [])


def _archive(Model, records):
    if records:
        Model.write(list(records), {'active': False})


def _apply_emails(party, emails):
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    existing = _active(Mechanism, [party.id], [('type', '=', 'email')])
    by_email = {}
    for mechanism in existing:
        by_email.setdefault(mechanism.value.strip().lower(), mechanism)
    kept, to_create = set(), []
    for email in emails:
        email = _text(email)
        if not email:
            continue
        key = normalize_email(email).lower()
        mechanism = by_email.get(key) or by_email.get(email.lower())
        if mechanism:
            kept.add(mechanism.id)
        elif key not in {v.lower() for v in to_create}:
            to_create.append(email)
    _archive(Mechanism, [m for m in existing if m.id not in kept])
    if to_create:
        Mechanism.create([{
                    'party': party.id, 'type': 'email', 'value': e}
                for e in to_create])


def _parsed(mechanism, value):
    "Whether the party module can parse the phone number (for the party)"
    if phonenumbers is None or not value:
        return False
    return mechanism._parse_phonenumber(value) is not None


def _apply_phones(party, phones):
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    existing = _active(Mechanism, [party.id], [('type', 'in', PHONE_TYPES)])
    by_key = {}
    for mechanism in existing:
        key = (mechanism.type, _digits(
                mechanism.value_compact or mechanism.value))
        by_key.setdefault(key, mechanism)
    kept, to_create, keys = set(), [], set()
    for phone in phones:
        type_ = phone['type']
        value = _text(phone.get('value'))
        e164 = _text(phone.get('e164'))
        template = Mechanism(party=party, type=type_)
        # A national number Tryton can not place (the party has no address
        # in its country) is taken in the E.164 form Google gives with it.
        if not _parsed(template, value) and _parsed(template, e164):
            value = e164
        value = value or e164
        if not value:
            continue
        key = (type_, _digits(template.format_value_compact(
                    value=value, type_=type_)))
        mechanism = by_key.get(key)
        if mechanism:
            kept.add(mechanism.id)
        elif key not in keys:
            keys.add(key)
            to_create.append({
                    'party': party.id, 'type': type_, 'value': value})
    _archive(Mechanism, [m for m in existing if m.id not in kept])
    if to_create:
        Mechanism.create(to_create)


def _apply_website(party, website):
    """The first active website is the one synchronized: once applied, the
    website of the values is the party's only active one"""
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    website = _text(website)
    existing = _active(Mechanism, [party.id], [('type', '=', 'website')])
    if (not website and not existing) or (
            len(existing) == 1 and existing[0].value.strip() == website):
        return
    kept = [m for m in existing if website and m.value.strip() == website]
    kept = kept[:1]
    _archive(Mechanism, [m for m in existing if m not in kept])
    if website and not kept:
        Mechanism.create([{
                    'party': party.id, 'type': 'website', 'value': website}])


def _wanted_addresses(addresses):
    pool = Pool()
    Country = pool.get('country.country')
    wanted, countries = [], {}
    for address in addresses:
        values = {f: _text(address.get(f)) for f in ADDRESS_FIELDS}
        code = values['country'].upper()
        if code and code not in countries:
            found = Country.search([('code', '=', code)], limit=1)
            countries[code] = found[0] if found else None
        country = countries.get(code)
        # A country Tryton does not have is not kept (docs/contracts.md).
        values['country'] = code if country else ''
        values['_country'] = country
        wanted.append(values)
    return wanted


def _address_key(values):
    return tuple(
        _text(values[f]).upper() if f == 'country' else _text(values[f])
        for f in ADDRESS_FIELDS)


def _apply_addresses(party, addresses):
    pool = Pool()
    Address = pool.get('party.address')
    wanted = _wanted_addresses(addresses)
    existing = _active(Address, [party.id])
    matched, used = {}, set()
    # The same address: kept as it is.
    for i, values in enumerate(wanted):
        for address in existing:
            if address.id not in used and _address_key(
                    _address_values(address)) == _address_key(values):
                matched[i] = address
                used.add(address.id)
                break
    # A changed address: the next one left, changed in place, so that its
    # other fields (attention, identifiers, its mechanisms) stay.
    left = [a for a in existing if a.id not in used]
    to_create = []
    for i, values in enumerate(wanted):
        if i in matched:
            continue
        if left:
            address = left.pop(0)
            _update_address(address, values)
            matched[i] = address
        else:
            to_create.append((i, values))
    _archive(Address, left)
    if to_create:
        top = max((a.sequence or 0 for a in existing), default=0)
        created = Address.create([{
                    'party': party.id,
                    'street': v['street'] or None,
                    'post_box': v['post_box'] or None,
                    'postal_code': v['postal_code'] or None,
                    'city': v['city'] or None,
                    'country': v['_country'].id if v['_country'] else None,
                    'sequence': top + SEQUENCE_STEP * (n + 1),
                    } for n, (_, v) in enumerate(to_create)])
        for (i, _), address in zip(to_create, created):
            matched[i] = address
    # Addresses are compared in order: number them as the values list them
    # when Tryton's order differs.
    ordered = [matched[i] for i in range(len(wanted))]
    current = _order(Address.browse([a.id for a in ordered]))
    if [a.id for a in current] != [a.id for a in ordered]:
        for n, address in enumerate(ordered):
            Address.write([address], {'sequence': SEQUENCE_STEP * (n + 1)})


def _update_address(address, values):
    pool = Pool()
    Address = pool.get('party.address')
    to_write = {}
    for field in ['post_box', 'postal_code', 'city']:
        if _text(getattr(address, field)) != values[field]:
            to_write[field] = values[field] or None
    country = values['_country']
    if address.country != country:
        to_write['country'] = country.id if country else None
    # Through the street's setter and only when it differs: it would
    # replace a structured street by its text.
    if _text(street(address)) != values['street']:
        to_write['street'] = values['street'] or None
    if to_write:
        Address.write([address], to_write)


def category(name):
    """The category of the full name ("Parent / Child"), created where
    missing: at the top level, or below the parents the name gives"""
    pool = Pool()
    Category = pool.get('party.category')
    with Transaction().set_context(active_test=False):
        found = Category.search([('rec_name', '=', name)], limit=1)
        if found:
            return found[0]
        parent = None
        # A category's name can not hold the separator: each part is one.
        for part in [p.strip() for p in name.split(CATEGORY_SEPARATOR)]:
            if not part:
                continue
            found = Category.search([
                    ('name', '=', part),
                    ('parent', '=', parent.id if parent else None),
                    ], limit=1)
            if found:
                parent = found[0]
            else:
                parent, = Category.create([{
                            'name': part,
                            'parent': parent.id if parent else None,
                            }])
        return parent


def _apply_groups(party, groups):
    pool = Pool()
    Party = pool.get('party.party')
    wanted = []
    for name in groups:
        name = _text(name)
        if name:
            record = category(name)
            if record and record not in wanted:
                wanted.append(record)
    current = list(party.categories)
    to_add = [c.id for c in wanted if c not in current]
    to_remove = [c.id for c in current if c not in wanted]
    actions = []
    if to_add:
        actions.append(('add', to_add))
    if to_remove:
        actions.append(('remove', to_remove))
    if actions:
        Party.write([party], {'categories': actions})
