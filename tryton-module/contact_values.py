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

values_of() reads it from parties; apply() writes it onto a party and
create_parties() makes new parties of it (all in one create), through
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
    from phonenumbers import PhoneNumberFormat
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


class Cache:
    """What one call works out once for all the parties it writes: the
    countries by code, the categories by full name and the phone numbers
    parsed (by the countries of the party's addresses and the text)"""
    __slots__ = ('countries', 'categories', 'phones')

    def __init__(self):
        self.countries = {}
        self.categories = {}
        self.phones = {}


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
    party, = create_parties([values])
    return party


def create_parties(vlist, cache=None):
    """New parties of the contact values, in the order of vlist: one
    Party.create, their addresses, mechanisms and categories nested, so
    that Tryton normalizes and validates them as it does any party's"""
    pool = Pool()
    Party = pool.get('party.party')
    Address = pool.get('party.address')
    if cache is None:
        cache = Cache()
    defaults = None
    to_create = []
    for values in vlist:
        party = {
            'name': _text(values.get('name')) or None,
            'google_organization': (
                _text(values.get('organization')) or None),
            }
        if 'addresses' in values:
            addresses = [
                _new_address(v, SEQUENCE_STEP * (n + 1))
                for n, v in enumerate(_wanted_addresses(
                        values['addresses'] or [], cache))]
        else:
            if defaults is None:
                defaults = _default_addresses()
            addresses = defaults
        # The addresses before the mechanisms, in each party's values: the
        # nested creates run in the order of the keys, and the party module
        # parses national phone numbers with the addresses' countries.
        party['addresses'] = [('create', addresses)] if addresses else []
        # Unsaved: what the party module reads to place national numbers.
        placed = Party(addresses=[
                Address(country=a.get('country')) for a in addresses])
        mechanisms = []
        if 'emails' in values:
            emails, _ = _new_emails(values['emails'] or [])
            mechanisms.extend({'type': 'email', 'value': e} for e in emails)
        if 'phones' in values:
            mechanisms.extend(
                {'type': p['type'], 'value': value}
                for p, value, _ in _new_phones(
                    placed, values['phones'] or [], {}, cache))
        if 'website' in values:
            website = _text(values['website'])
            if website:
                mechanisms.append({'type': 'website', 'value': website})
        party['contact_mechanisms'] = (
            [('create', mechanisms)] if mechanisms else [])
        if 'groups' in values:
            # In place of the default categories, as apply() would write.
            categories = _categories(values['groups'] or [], cache)
            party['categories'] = (
                [('add', [c.id for c in categories])] if categories else [])
        to_create.append(party)
    if not to_create:
        return []
    return Party.create(to_create)


def _default_addresses():
    "The addresses Tryton gives a party created without (as create does)"
    pool = Pool()
    Party = pool.get('party.party')
    defaults = Party._clean_defaults(
        Party.default_get(['addresses'], with_rec_name=False))
    addresses = []
    for action in defaults.get('addresses') or []:
        if action[0] == 'create':
            addresses.extend(action[1])
    return addresses


def _new_address(values, sequence):
    return {
        'street': values['street'] or None,
        'post_box': values['post_box'] or None,
        'postal_code': values['postal_code'] or None,
        'city': values['city'] or None,
        'country': values['_country'].id if values['_country'] else None,
        'sequence': sequence,
        }


def apply(party, values, cache=None):
    """Write the contact values onto the party

    Only the fields present in values are written, and only what differs:
    missing mechanisms and addresses are added, those no longer present are
    archived (never deleted).
    """
    pool = Pool()
    Party = pool.get('party.party')
    Mechanism = pool.get('party.contact_mechanism')
    if cache is None:
        cache = Cache()
    to_write = {}
    for field, name in [('name', 'name'), ('google_organization',
                'organization')]:
        if name in values:
            value = _text(values[name])
            if _text(getattr(party, field)) != value:
                to_write[field] = value or None
    if to_write:
        Party.write([party], to_write)
    # The party's synchronized mechanisms, searched once.
    mechanisms = {}
    if values.keys() & {'emails', 'phones', 'website'}:
        for mechanism in _active(
                Mechanism, [party.id], [('type', 'in', MECHANISM_TYPES)]):
            mechanisms.setdefault(
                'phone' if mechanism.type in PHONE_TYPES else mechanism.type,
                []).append(mechanism)
    # Addresses first: the party module parses national phone numbers with
    # the countries of the party's addresses.
    if 'addresses' in values:
        _apply_addresses(party, values['addresses'] or [], cache)
    if 'emails' in values:
        _apply_emails(
            party, values['emails'] or [], mechanisms.get('email', []))
    if 'phones' in values:
        _apply_phones(
            Party(party.id), values['phones'] or [],
            mechanisms.get('phone', []), cache)
    if 'website' in values:
        _apply_website(
            party, values['website'], mechanisms.get('website', []))
    if 'groups' in values:
        _apply_groups(Party(party.id), values['groups'] or [], cache)


def _archive(Model, records):
    if records:
        Model.write(list(records), {'active': False})


def _new_emails(emails, existing=()):
    """The e-mails to create (as given, trimmed) and the ids of the existing
    mechanisms that hold one of the emails"""
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
    return to_create, kept


def _apply_emails(party, emails, existing):
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    to_create, kept = _new_emails(emails, existing)
    _archive(Mechanism, [m for m in existing if m.id not in kept])
    if to_create:
        Mechanism.create([{
                    'party': party.id, 'type': 'email', 'value': e}
                for e in to_create])


def _phone_number(template, value, cache):
    """The number the party module parses of value for the template's party
    (its addresses' countries), None when it can not: parsed once a call"""
    if phonenumbers is None or not value:
        return None
    key = (tuple(template._phone_country_codes()), value)
    try:
        return cache.phones[key]
    except KeyError:
        number = cache.phones[key] = template._parse_phonenumber(value)
        return number


def _phone(party, phone, cache):
    """The value to store of the phone and its key (type, E.164 digits), or
    None for a phone without number"""
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    template = Mechanism(party=party, type=phone['type'])
    value = _text(phone.get('value'))
    e164 = _text(phone.get('e164'))
    number = _phone_number(template, value, cache)
    # A national number Tryton can not place (the party has no address in
    # its country) is taken in the E.164 form Google gives with it.
    if number is None:
        number = _phone_number(template, e164, cache)
        if number is not None:
            value = e164
    value = value or e164
    if not value:
        return None
    # Its value_compact, as the party module formats it.
    compact = (
        phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if number is not None else value)
    return value, (phone['type'], _digits(compact))


def _new_phones(party, phones, by_key, cache):
    """The phones of the values to create, each (phone, value, None); and
    (phone, value, mechanism) for those a mechanism of by_key holds (by the
    key of _phone)"""
    result, keys = [], set()
    for phone in phones:
        found = _phone(party, phone, cache)
        if not found:
            continue
        value, key = found
        mechanism = by_key.get(key)
        if mechanism:
            result.append((phone, value, mechanism))
        elif key not in keys:
            keys.add(key)
            result.append((phone, value, None))
    return result


def _apply_phones(party, phones, existing, cache):
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    by_key = {}
    for mechanism in existing:
        key = (mechanism.type, _digits(
                mechanism.value_compact or mechanism.value))
        by_key.setdefault(key, mechanism)
    kept, to_create = set(), []
    for phone, value, mechanism in _new_phones(party, phones, by_key, cache):
        if mechanism:
            kept.add(mechanism.id)
        else:
            to_create.append({
                    'party': party.id, 'type': phone['type'], 'value': value})
    _archive(Mechanism, [m for m in existing if m.id not in kept])
    if to_create:
        Mechanism.create(to_create)


def _apply_website(party, website, existing):
    """The first active website is the one synchronized: once applied, the
    website of the values is the party's only active one"""
    pool = Pool()
    Mechanism = pool.get('party.contact_mechanism')
    website = _text(website)
    if (not website and not existing) or (
            len(existing) == 1 and existing[0].value.strip() == website):
        return
    kept = [m for m in existing if website and m.value.strip() == website]
    kept = kept[:1]
    _archive(Mechanism, [m for m in existing if m not in kept])
    if website and not kept:
        Mechanism.create([{
                    'party': party.id, 'type': 'website', 'value': website}])


def _wanted_addresses(addresses, cache):
    pool = Pool()
    Country = pool.get('country.country')
    wanted, countries = [], cache.countries
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


def _apply_addresses(party, addresses, cache):
    pool = Pool()
    Address = pool.get('party.address')
    wanted = _wanted_addresses(addresses, cache)
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
                    **_new_address(v, top + SEQUENCE_STEP * (n + 1)),
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


def category(name, cache=None):
    """The category of the full name ("Parent / Child"), created where
    missing: at the top level, or below the parents the name gives"""
    if cache is not None:
        try:
            return cache.categories[name]
        except KeyError:
            record = cache.categories[name] = category(name)
            return record
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


def _categories(groups, cache):
    "The categories of the groups, each once"
    wanted = []
    for name in groups:
        name = _text(name)
        if name:
            record = category(name, cache)
            if record and record not in wanted:
                wanted.append(record)
    return wanted


def _apply_groups(party, groups, cache):
    pool = Pool()
    Party = pool.get('party.party')
    wanted = _categories(groups, cache)
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
