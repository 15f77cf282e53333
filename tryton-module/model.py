# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
from sql.functions import DateTrunc

from trytond import backend
from trytond.model import fields
from trytond.transaction import Transaction

from . import sidecar


class Timestamp(fields.Timestamp):
    """A timestamp the sidecar writes, shown to the second

    trytond shows a Timestamp with its microseconds, which do not fit its
    field. This one is shown to the second and read truncated to the second
    (sql_column), so that what a client shows is the very value it holds: a
    client that reads the shown text back (sao 8.0 was seen doing it, then
    taking the record for modified) finds it unchanged
    (test/e2e/authorization-in-sao.test.ts checks the form). Searches and
    orders are to the second too. A timestamp compared with what it was
    (local_write) is a plain fields.Timestamp.
    """
    format = '%H:%M:%S'

    def sql_column(self, tables, Model):
        column = super().sql_column(tables, Model)
        if backend.name == 'postgresql':
            column = DateTrunc('second', column)
        return column


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
