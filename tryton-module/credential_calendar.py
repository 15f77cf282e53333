# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""What the calendar synchronization adds to Google credentials"""
import datetime as dt

from trytond.bus import notify
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval

from .calendar_ import (
    CHANNEL_STATUSES, _count, notify_synchronized, sum_last_sync)

# How long before the credentials' last synchronization the rounds of its
# calendars may have ended to belong to it. The sidecar writes each
# calendar's last_sync and counts at the end of its round, then the
# credentials' last_sync once the run is over (docs/contracts.md, "Calendar
# synchronization"): the rounds of one run end within moments of each other,
# those of the previous passes minutes before (SIDECAR_SYNC_INTERVAL).
LAST_RUN_SPAN = dt.timedelta(minutes=1)
_LAST_RUN_HELP = (
    " in the last synchronization (the calendars whose synchronization "
    "ended in the minute up to it).")


class GoogleCredentials(metaclass=PoolMeta):
    __name__ = 'google_integration.google_credentials'

    calendars = fields.One2Many(
        'google_integration.calendar', 'credential', "Calendars",
        help="The calendars synchronized through the Google account; "
        "click \"Fetch Calendars\" to list them.")
    last_sync_created = fields.Function(
        fields.Integer(
            "Created",
            help="The events created in Tryton" + _LAST_RUN_HELP),
        'get_last_sync_counts')
    last_sync_updated = fields.Function(
        fields.Integer(
            "Updated",
            help="The events updated in Tryton" + _LAST_RUN_HELP),
        'get_last_sync_counts')
    last_sync_deleted = fields.Function(
        fields.Integer(
            "Deleted",
            help="The events deleted in Tryton" + _LAST_RUN_HELP),
        'get_last_sync_counts')
    last_sync_pushed = fields.Function(
        fields.Integer(
            "Pushed",
            help="The events created, changed or deleted in Google"
            + _LAST_RUN_HELP),
        'get_last_sync_counts')
    last_sync_conflicts = fields.Function(
        fields.Integer(
            "Conflicts",
            help="The events found changed on both sides" + _LAST_RUN_HELP),
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

    @property
    def last_run_calendars(self):
        """The calendars whose last round belongs to the credentials' last
        synchronization

        A calendar keeps the counts of its last round that changed
        something (an idle round writes nothing): a quiet calendar's are
        older, and are not what the last synchronization did.
        """
        end = self.last_sync
        if not end:
            return []
        start = end - LAST_RUN_SPAN
        return [
            c for c in self.calendars
            if c.last_sync and start <= c.last_sync <= end]

    @classmethod
    def get_last_sync_counts(cls, records, names):
        "What the last synchronization did: None before the first one"
        result = {n: {} for n in names}
        for record in records:
            totals = sum_last_sync(record.last_run_calendars)
            for name in names:
                result[name][record.id] = (
                    totals[name[len('last_sync_'):]]
                    if record.last_sync else None)
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
