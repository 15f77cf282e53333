# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The parties of the attendees, where the party module is activated"""
from sql.functions import Lower

from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .event import _chunks


class Event(metaclass=PoolMeta):
    __name__ = 'google_integration.event'

    attendee_parties = fields.Function(
        fields.Many2Many(
            'party.party', None, None, "Attendee Parties",
            help="The parties with the e-mail of an attendee."),
        'get_attendee_parties')

    @classmethod
    def get_attendee_parties(cls, events, name):
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        mechanism = ContactMechanism.__table__()
        cursor = Transaction().connection.cursor()

        emails = {
            e.id: {
                a.strip().lower() for a in (e.attendees or '').splitlines()
                if a.strip()}
            for e in events}
        # E-mails are compared in lower case: Google and users do not
        # agree on the case of addresses.
        parties = {}
        for sub_emails in _chunks(sorted(set().union(*emails.values()))):
            cursor.execute(*mechanism.select(
                    Lower(mechanism.value), mechanism.party,
                    where=(mechanism.type == 'email')
                    & (mechanism.active == True)  # noqa: E712
                    & Lower(mechanism.value).in_(sub_emails)))
            for email, party in cursor:
                parties.setdefault(email, set()).add(party)
        return {
            e.id: sorted(set().union(
                    *(parties.get(a, ()) for a in emails[e.id])))
            for e in events}
