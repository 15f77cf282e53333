# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
from trytond.model import fields
from trytond.transaction import Transaction

from . import sidecar

class Timestamp(fields.Timestamp):
    """A Timestamp the sidecar writes

    Shown as trytond shows any Timestamp (with microseconds): a `format`
    to the second would be shorter, but the web client (sao 8.0) then reads
    the shorter text back into a read-only field and takes the record for
    modified, so leaving a saved form asks whether to save it
    (test/e2e/appointment-in-sao.test.ts).
    """


class SidecarMixin:
    """Calls of the sidecar's JSON-RPC methods about a record

    Every call names the current database and, when the record belongs to
    credentials (see _sidecar_credential), their id. Errors of the sidecar
    are raised as the translated UserErrors of sidecar.call
    (exceptions.SidecarError and its subclasses); an error type the module
    does not know yet is a SidecarError with the sidecar's message.

    The sidecar writes Tryton's tables in its own transaction: callers must
    not write or lock the rows it writes before calling (it would wait for
    this transaction while this transaction waits for it).
    """
    __slots__ = ()

    def _sidecar_credential(self):
        """The google_integration.google_credentials record of the call

        None when the call is about no credentials (no credential_id).
        """
        return None

    def _sidecar(self, method, **params):
        "Call method of the sidecar with params and return its result"
        params.setdefault('database', Transaction().database.name)
        credential = self._sidecar_credential()
        name = None
        if credential is not None:
            params.setdefault('credential_id', credential.id)
            name = credential.rec_name
        return sidecar.call(method, params, credentials=name)


def rec_name_domain(clause, names):
    """The domain of a search_rec_name clause over the fields names: any of
    them matches, or none of them for a negative operator"""
    _, operator, *_ = clause
    bool_op = 'AND' if operator.startswith('!') or operator.startswith(
        'not ') else 'OR'
    return [bool_op, *((n, *clause[1:]) for n in names)]
