# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""What the conflicts of events and of contacts share

The sidecar writes both tables with SQL when both sides changed a record
(docs/contracts.md, "Calendar synchronization" and "Contacts
synchronization"): kind, winner, fields and the two versions as JSON (kept,
lost) are the contract's columns; state is the module's, for the buttons.
"""
import json

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pyson import Eval


CONFLICT_KINDS = [
    (None, ''),
    ('edit', "Changed on Both Sides"),
    ('delete', "Deleted and Changed"),
    ]
CONFLICT_WINNERS = [
    (None, ''),
    ('tryton', "Tryton"),
    ('google', "Google"),
    ]
CONFLICT_STATES = [
    ('open', "Open"),
    ('applied', "Applied"),
    ('dismissed', "Dismissed"),
    ]


class ConflictMixin:
    """A conflict the sidecar wrote, which users apply or dismiss

    The model adds the record the conflict is about (the Many2One named by
    _record_field), lost_version (a Function field of get_versions whose
    help says what Apply writes onto; trytond sets a field up from the last
    class of the MRO that has it, so the mixin's would win over the model's)
    and the methods that know the values of a version: _labels,
    _format_value (with what _format_context reads) and _apply.
    """
    __slots__ = ()
    # The Many2One of the record Apply writes onto (or brings back).
    _record_field = None
    # The fields of a version in the order the conflict shows them; others
    # follow by name.
    _version_fields = []
    # The field of a version that names the record once it is gone.
    _version_name = None

    kind = fields.Selection(
        CONFLICT_KINDS, "Kind", readonly=True, sort=False)
    winner = fields.Selection(
        CONFLICT_WINNERS, "Kept", readonly=True, sort=False,
        help="The side whose version was kept: the later change.")
    kept = fields.Text("Kept Values", readonly=True)
    lost = fields.Text("Lost Values", readonly=True)
    # Not in the contract's columns: the sidecar's INSERTs leave it to its
    # SQL default (open, __register__); users set it with the buttons.
    state = fields.Selection(
        CONFLICT_STATES, "State", readonly=True, sort=False)
    kept_version = fields.Function(
        fields.Text("Kept Version"), 'get_versions')
    field_labels = fields.Function(
        fields.Char("Changed Fields"), 'get_field_labels')
    # Last: the name of the column shadows the module in the class body.
    fields = fields.Char(
        "Fields", readonly=True,
        help="The fields concerned, separated by commas.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('create_date', 'DESC'),
            ('id', 'DESC'),
            ]
        cls._buttons.update({
                'apply': {
                    'invisible': Eval('state') != 'open',
                    'depends': ['state'],
                    },
                'dismiss': {
                    'invisible': Eval('state') != 'open',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table_h = cls.__table_handler__(module)
        # The sidecar's INSERTs may not name it.
        table_h.db_default('state', 'open')

    @classmethod
    def default_state(cls):
        return 'open'

    @staticmethod
    def _load(value):
        "The version of a JSON column, as a dictionary"
        try:
            version = json.loads(value) if value else {}
        except ValueError:
            return None
        return version if isinstance(version, dict) else None

    def get_rec_name(self, name):
        record = getattr(self, self._record_field)
        if record:
            return record.rec_name
        for value in [self.lost, self.kept]:
            title = (self._load(value) or {}).get(self._version_name)
            if title and isinstance(title, str):
                return title
        return self._default_rec_name()

    def _default_rec_name(self):
        "The name of a conflict whose record is gone and versions unnamed"
        return str(self.id)

    @classmethod
    def _labels(cls):
        "The translated names of the fields of a version"
        raise NotImplementedError

    @classmethod
    def _format_context(cls):
        """The keyword arguments of _format_value besides the value, read
        once for all the conflicts shown"""
        return {}

    @classmethod
    def _format_value(cls, name, value, **context):
        "The value of the field name of a version, as a user reads it"
        raise NotImplementedError

    def get_field_labels(self, name):
        labels = self._labels()
        return ', '.join(
            labels.get(f.strip(), f.strip())
            for f in (self.fields or '').split(',') if f.strip())

    @classmethod
    def get_versions(cls, conflicts, names):
        labels = cls._labels()
        context = cls._format_context()
        result = {n: {} for n in names}
        for conflict in conflicts:
            for name in names:
                value = conflict.kept if name == 'kept_version' else (
                    conflict.lost)
                result[name][conflict.id] = conflict._describe(
                    value, labels, context)
        return result

    def _describe(self, value, labels, context):
        "One line per field of a version, as a user reads it"
        version = self._load(value)
        if version is None:
            return value
        if not version:
            if self.kind == 'delete':
                return gettext('google_integration.msg_conflict_deleted')
            return ''
        names = self._version_fields + sorted(
            version.keys() - set(self._version_fields))
        return '\n'.join(
            f'{labels.get(n, n)}: '
            f'{self._format_value(n, version[n], **context)}'
            for n in names if n in version)

    @classmethod
    @ModelView.button
    def apply(cls, conflicts):
        """Write the losing version onto the record through the ORM, which
        pushes it to Google like any edit"""
        for conflict in conflicts:
            values = {'state': 'applied'}
            record = conflict._apply()
            if record:
                values[cls._record_field] = record.id
            cls.write([conflict], values)

    def _apply(self):
        """Write the lost version onto the record, or bring it back for a
        deletion; return the record"""
        raise NotImplementedError

    @classmethod
    @ModelView.button
    def dismiss(cls, conflicts):
        "Keep the winning version"
        cls.write(conflicts, {'state': 'dismissed'})
