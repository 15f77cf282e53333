# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""What the calendar synchronization adds to Google credentials"""
from trytond.bus import notify
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .calendar_ import (
    CHANNEL_STATUSES, _count, notify_synchronized, sum_last_sync)


class GoogleCredentials(metaclass=PoolMeta):
    __name__ = 'google_integration.google_credentials'

    calendars = fields.One2Many(
        'google_integration.calendar', 'credential', "Calendars",
        help="The calendars synchronized through the Google account; "
        "click \"Fetch Calendars\" to list them.")
    last_sync_created = fields.Function(
        fields.Integer("Created"), 'get_last_sync_counts')
    last_sync_updated = fields.Function(
        fields.Integer("Updated"), 'get_last_sync_counts')
    last_sync_deleted = fields.Function(
        fields.Integer("Deleted"), 'get_last_sync_counts')
    last_sync_pushed = fields.Function(
        fields.Integer(
            "Pushed",
            help="The events created, changed or deleted in Google."),
        'get_last_sync_counts')
    last_sync_conflicts = fields.Function(
        fields.Integer(
            "Conflicts", help="The events changed on both sides."),
        'get_last_sync_counts')
    last_sync_error = fields.Function(
        fields.Text("Last Synchronization Error"), 'get_last_sync_error')
    calendar_list_channel = fields.Selection(
        CHANNEL_STATUSES, "Calendar List Notifications", readonly=True,
        sort=False,
        help="Whether Google tells Tryton at once about calendars added to "
        "or removed from the account.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'fetch_calendars': {
                    'invisible': Eval('state') != 'authorized',
                    'depends': ['state'],
                    },
                'sync_now': {
                    'invisible': Eval('state') != 'authorized',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def copy(cls, records, default=None):
        default = default.copy() if default is not None else {}
        # The calendars and the channel are the original account's, written
        # by the sidecar.
        default.setdefault('calendars', None)
        default.setdefault('calendar_list_channel', None)
        return super().copy(records, default=default)

    @classmethod
    def get_last_sync_counts(cls, records, names):
        result = {n: {} for n in names}
        for record in records:
            totals = sum_last_sync(
                c for c in record.calendars if c.sync_enabled)
            for name in names:
                result[name][record.id] = totals[name[len('last_sync_'):]]
        return result

    def get_last_sync_error(self, name):
        errors = [
            f'{c.rec_name}: {c.last_error}' for c in self.calendars
            if c.sync_enabled and c.last_error]
        return '\n'.join(errors) or None

    @classmethod
    @ModelView.button
    def fetch_calendars(cls, records):
        "Bring the Google account's calendar list into the calendars"
        for record in records:
            result = record._sidecar('calendar.list_calendars') or {}
            notify(gettext(
                    'google_integration.msg_calendars_fetched',
                    credentials=record.rec_name,
                    count=_count(result.get('calendars'))))
        return 'reload'

    @classmethod
    @ModelView.button
    def sync_now(cls, records):
        "Synchronize the enabled calendars with Google now"
        for record in records:
            result = record._sidecar('calendar.sync')
            notify_synchronized(record.rec_name, result)
        return 'reload'
