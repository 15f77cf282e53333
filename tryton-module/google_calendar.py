# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""Google calendars and their events, pulled by the sidecar

The sidecar writes the three tables below with SQL (docs/contracts.md,
"Calendar synchronization"): column names and types are a contract.
Tryton users only switch the synchronization of a calendar on or off.
"""
import datetime as dt
import re
from collections import defaultdict

from sql import Cast, Literal, Null
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.bus import notify
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.model.fields.field import SQL_OPERATORS
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, check_access

from .exceptions import CopyError
from .model import SidecarMixin

ACCESS_ROLES = [
    (None, ''),
    ('owner', "Owner"),
    ('writer', "Writer"),
    ('reader', "Reader"),
    ('freeBusyReader', "Free/Busy Reader"),
    ]
CALENDAR_SYNC_STATUSES = [
    (None, ''),
    ('never', "Never Synchronized"),
    ('ok', "Synchronized"),
    ('failing', "Failing"),
    ('stalled', "Stalled"),
    ]
VISIBILITIES = [
    (None, ''),
    ('default', "Default"),
    ('public', "Public"),
    ('private', "Private"),
    ('confidential', "Confidential"),
    ]
# Events of these visibilities show only as busy to users other than the
# owner of the credentials (the record rule of the event detail).
PRIVATE_VISIBILITIES = ['private', 'confidential']
STATUSES = [
    (None, ''),
    ('confirmed', "Confirmed"),
    ('tentative', "Tentative"),
    ]
EVENT_SYNC_STATUSES = [
    (None, ''),
    ('synced', "Synchronized"),
    ('pending_push', "Pending Push"),
    ('conflict', "Conflict"),
    ]
DETAIL_FIELDS = ['summary', 'description', 'location', 'attendees']
COLOR = re.compile(r'^#[0-9a-fA-F]{6}$')
# Civil time runs from UTC-12 to UTC+14: whatever the client's zone, a day
# starts no earlier than 14 hours before its UTC midnight and ends before
# 14 hours after the next one. Searching all-day events with these margins
# finds every event the client may show in the period it asks for.
DAY_MARGIN = dt.timedelta(hours=14)
ONE_DAY = dt.timedelta(days=1)


class DayOrDateTime(fields.DateTime):
    """A DateTime field whose value may also be a date

    The web client shows a record of its calendar view as an all-day event
    when the values of dtstart and dtend are dates, and at its time in the
    client's zone when they are datetimes (naive UTC, as Tryton sends them).
    """
    _py_type = dt.date  # datetime is a date too


def _count(value):
    "A count of the sidecar's answer (a number, or a list of items)"
    if isinstance(value, (list, tuple)):
        return len(value)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def text_color(background):
    "Black or white, whichever reads better on the #rrggbb background"
    if not background or not COLOR.match(background):
        return None
    red, green, blue = (
        int(background[i:i + 2], 16) / 255 for i in range(1, 7, 2))
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return '#000000' if luminance > 0.6 else '#ffffff'


def notify_synchronized(name, result):
    "Tell the user (through the bus) what a calendar.sync did"
    result = result or {}
    counts = {
        k: _count(result.get(k))
        for k in [
            'created', 'updated', 'deleted', 'skipped', 'pushed', 'conflicts']}
    bodies = []
    if counts['conflicts']:
        bodies.append(gettext(
                'google_integration.msg_calendar_sync_conflicts',
                conflicts=counts['conflicts']))
    if counts['skipped']:
        bodies.append(gettext(
                'google_integration.msg_calendar_sync_skipped',
                skipped=counts['skipped']))
    body = ' '.join(bodies) or None
    # Without a client in the context (scripts, cron) nobody is told.
    notify(gettext(
            'google_integration.msg_calendar_synchronized',
            credentials=name, created=counts['created'],
            updated=counts['updated'], deleted=counts['deleted']),
        body=body)
    return counts


class Calendar(SidecarMixin, DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'google_integration.calendar'
    __string__ = "Google Calendar"

    credential = fields.Many2One(
        'google_integration.google_credentials', "Credentials",
        required=True, readonly=True, ondelete='CASCADE')
    google_id = fields.Char("Google ID", required=True, readonly=True)
    name = fields.Char("Name", readonly=True)
    time_zone = fields.Char("Time Zone", readonly=True)
    access_role = fields.Selection(
        ACCESS_ROLES, "Access Role", readonly=True, sort=False,
        help="What the Google account may do in the calendar.")
    color = fields.Char("Colour", readonly=True)
    is_primary = fields.Boolean(
        "Primary", readonly=True,
        help="The primary calendar of the Google account.")
    sync_enabled = fields.Boolean(
        "Synchronize",
        help="Check to copy the events of the calendar into Tryton.")
    sync_status = fields.Selection(
        CALENDAR_SYNC_STATUSES, "Synchronization Status", readonly=True,
        sort=False)
    last_sync = fields.Timestamp(
        "Last Synchronization", readonly=True,
        help="When the last successful synchronization ended.")
    last_sync_created = fields.Integer("Created", readonly=True)
    last_sync_updated = fields.Integer("Updated", readonly=True)
    last_sync_deleted = fields.Integer("Deleted", readonly=True)
    last_error = fields.Text("Last Error", readonly=True)
    sync_notice = fields.Text(
        "Skipped Events", readonly=True,
        help="The events Google sent that could not be synchronized, and why.")
    events = fields.One2Many(
        'google_integration.event', 'calendar', "Events", readonly=True)

    owner = fields.Function(fields.Many2One(
            'res.user', "Owner",
            help="The Tryton user whose Google account it is."),
        'get_credential_field', searcher='search_credential_field')
    account_email = fields.Function(
        fields.Char("Account Email"), 'get_credential_field')
    credential_state = fields.Function(fields.Selection(
            'get_credential_states', "Credentials State"),
        'get_credential_field')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Written by the sidecar: false once the calendar left Google's
        # calendar list.
        cls.active.readonly = True
        t = cls.__table__()
        cls._sql_constraints += [
            ('credential_google_id_unique',
                Unique(t, t.credential, t.google_id),
                'google_integration.msg_calendar_unique'),
            ]
        cls._order = [
            ('credential', 'ASC'),
            ('is_primary', 'DESC'),
            ('name', 'ASC'),
            ('id', 'ASC'),
            ]
        cls._buttons.update({
                'sync_now': {
                    'invisible': (
                        ~Eval('sync_enabled')
                        | (Eval('credential_state') != 'authorized')
                        | ~Eval('active')),
                    'depends': ['sync_enabled', 'credential_state', 'active'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table = cls.__table_handler__(module)
        # The contract's default, for the sidecar's INSERTs (Tryton makes
        # every Boolean column default to false).
        table.db_default('active', True)

    @classmethod
    def default_sync_enabled(cls):
        return False

    @classmethod
    def default_sync_status(cls):
        return 'never'

    def get_rec_name(self, name):
        return self.name or self.google_id

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, *_ = clause
        bool_op = 'AND' if operator.startswith('!') or operator.startswith(
            'not ') else 'OR'
        return [bool_op,
            ('name', *clause[1:]),
            ('google_id', *clause[1:]),
            ]

    @classmethod
    def get_credential_states(cls):
        pool = Pool()
        Credentials = pool.get('google_integration.google_credentials')
        return Credentials.fields_get(['state'])['state']['selection']

    def get_credential_field(self, name):
        credential = self.credential
        if name == 'credential_state':
            return credential.state
        value = getattr(credential, name)
        if isinstance(value, ModelSQL):
            return value.id
        return value

    @classmethod
    def search_credential_field(cls, name, clause):
        return [(f'credential.{clause[0]}', *clause[1:])]

    @classmethod
    def copy(cls, records, default=None):
        # A calendar is Google's, bound to its credentials: the sidecar
        # creates them from Google's calendar list.
        if records:
            raise CopyError(gettext('google_integration.msg_calendar_copy'))
        return super().copy(records, default=default)

    def _sidecar_credential(self):
        return self.credential

    @classmethod
    @ModelView.button
    def sync_now(cls, calendars):
        "Pull the events of the calendars from Google now"
        for calendar in calendars:
            result = calendar._sidecar(
                'calendar.sync', calendar_id=calendar.id)
            notify_synchronized(calendar.rec_name, result)
        return 'reload'


class Event(ModelSQL, ModelView):
    __name__ = 'google_integration.event'
    __string__ = "Google Calendar Event"

    calendar = fields.Many2One(
        'google_integration.calendar', "Calendar",
        required=True, readonly=True, ondelete='CASCADE')
    google_id = fields.Char("Google ID", required=True, readonly=True)
    ical_uid = fields.Char("iCalendar UID", readonly=True)
    recurring_event_id = fields.Char(
        "Recurring Event ID", readonly=True,
        help="The Google ID of the series the event is an occurrence of.")
    original_start = fields.Char(
        "Original Start", readonly=True,
        help="The start of the occurrence in its series, as Google gives it.")
    all_day = fields.Boolean("All Day", readonly=True)
    start_date = fields.Date(
        "Start Date", readonly=True,
        states={
            'invisible': ~Eval('all_day'),
            })
    end_date = fields.Date(
        "End Date", readonly=True,
        states={
            'invisible': ~Eval('all_day'),
            },
        help="The last day of the event.")
    starts_at = fields.Timestamp(
        "Starts at", readonly=True,
        states={
            'invisible': Eval('all_day', False),
            })
    ends_at = fields.Timestamp(
        "Ends at", readonly=True,
        states={
            'invisible': Eval('all_day', False),
            })
    time_zone = fields.Char("Time Zone", readonly=True)
    visibility = fields.Selection(
        VISIBILITIES, "Visibility", readonly=True, sort=False,
        help="Private and confidential events show only as busy to users "
        "other than the owner of the calendar's Google account.")
    status = fields.Selection(STATUSES, "Status", readonly=True, sort=False)
    html_link = fields.Char("Google Calendar Link", readonly=True)
    google_updated = fields.Timestamp("Updated in Google", readonly=True)
    sync_status = fields.Selection(
        EVENT_SYNC_STATUSES, "Synchronization Status", readonly=True,
        sort=False)

    # What the event says, from its detail as the user may read it.
    summary = fields.Function(
        fields.Char("Summary"), 'get_detail', searcher='search_detail')
    description = fields.Function(
        fields.Text("Description"), 'get_detail', searcher='search_detail')
    location = fields.Function(
        fields.Char("Location"), 'get_detail', searcher='search_detail')
    attendees = fields.Function(
        fields.Text("Attendees"), 'get_detail', searcher='search_detail')
    busy = fields.Function(
        fields.Boolean(
            "Busy",
            help="The details of the event are private to the owner of "
            "the calendar's Google account."),
        'get_detail')

    # For the calendar view: a DateTime for timed events, a Date for all-day
    # events (the client shows those on their days, whatever its zone).
    calendar_start = fields.Function(
        DayOrDateTime("Start"), 'get_calendar_bounds')
    calendar_end = fields.Function(
        DayOrDateTime("End"), 'get_calendar_bounds')
    color = fields.Function(fields.Char("Colour"), 'get_colors')
    text_color = fields.Function(fields.Char("Text Colour"), 'get_colors')
    owner = fields.Function(
        fields.Many2One('res.user', "Owner"),
        'get_owner', searcher='search_owner')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('calendar_google_id_unique',
                Unique(t, t.calendar, t.google_id),
                'google_integration.msg_event_unique'),
            ]
        cls._order = [
            ('calendar_start', 'ASC'),
            ('id', 'ASC'),
            ]
        for name in ['starts_at', 'ends_at']:
            getattr(cls, name).format = '%H:%M'

    def get_rec_name(self, name):
        return self.summary or gettext('google_integration.msg_event_busy')

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('summary', *clause[1:])]

    @classmethod
    def _readable_details(cls, events):
        """The details of events the current user may read

        The detail's record rules decide, as for a read by the user, even
        though Function fields are computed without access checks.
        """
        pool = Pool()
        Detail = pool.get('google_integration.event.detail')
        ModelAccess = pool.get('ir.model.access')
        details = {}
        with check_access():
            if not ModelAccess.check(Detail.__name__, raise_exception=False):
                return details
            for sub_ids in _chunks([e.id for e in events]):
                for detail in Detail.search([('event', 'in', sub_ids)]):
                    details[detail.event.id] = detail
        return details

    @classmethod
    def get_detail(cls, events, names):
        pool = Pool()
        Detail = pool.get('google_integration.event.detail')
        result = {n: {} for n in names}
        details = cls._readable_details(events)
        for event in events:
            detail = details.get(event.id)
            for name in names:
                if name == 'busy':
                    # Busy: a detail exists that the user may not read.
                    result[name][event.id] = detail is None
                else:
                    result[name][event.id] = (
                        getattr(detail, name) if detail else None)
        if 'busy' in names:
            # Events without any detail row are not private, only empty.
            hidden = [e.id for e in events if e.id not in details]
            if hidden:
                detail = Detail.__table__()
                cursor = Transaction().connection.cursor()
                with_detail = set()
                for sub_ids in _chunks(hidden):
                    cursor.execute(*detail.select(
                            detail.event,
                            where=detail.event.in_(sub_ids)))
                    with_detail.update(e for e, in cursor)
                for id_ in hidden:
                    result['busy'][id_] = id_ in with_detail
        return result

    @classmethod
    def search_detail(cls, name, clause):
        pool = Pool()
        Detail = pool.get('google_integration.event.detail')
        ModelAccess = pool.get('ir.model.access')
        with check_access():
            if not ModelAccess.check(Detail.__name__, raise_exception=False):
                return [('id', '=', -1)]
            query = Detail.search([(name, *clause[1:])], query=True)
        detail = Detail.__table__()
        return [('id', 'in', detail.select(
                    detail.event, where=detail.id.in_(query)))]

    @classmethod
    def get_calendar_bounds(cls, events, names):
        result = {n: {} for n in names}
        for event in events:
            if event.all_day:
                start = event.start_date
                end = event.end_date or start
            else:
                start = event.starts_at
                end = event.ends_at or start
            if 'calendar_start' in result:
                result['calendar_start'][event.id] = start
            if 'calendar_end' in result:
                result['calendar_end'][event.id] = end
        return result

    @classmethod
    def _calendar_bound_column(cls, table, name):
        """The SQL instant of calendar_start or calendar_end

        All-day events count from 14 hours before their first day's UTC
        midnight to 14 hours after the end of their last day, so that the
        period a client in any zone asks for finds them.
        """
        if name == 'calendar_start':
            day = Cast(table.start_date, 'TIMESTAMP') - DAY_MARGIN
            timed = table.starts_at
        else:
            day = (Cast(
                    Coalesce(table.end_date, table.start_date), 'TIMESTAMP')
                + (ONE_DAY + DAY_MARGIN))
            timed = Coalesce(table.ends_at, table.starts_at)
        return Case((table.all_day == Literal(True), day), else_=timed)

    @classmethod
    def _domain_calendar_bound(cls, domain, tables):
        table, _ = tables[None]
        name, operator, value = domain
        column = cls._calendar_bound_column(table, name)
        Operator = SQL_OPERATORS[operator]
        if operator in {'in', 'not in'}:
            values = [v for v in value if v is not None]
            expression = Operator(column, values) if values else Literal(
                operator == 'not in')
            if None in value:
                if operator == 'in':
                    expression |= (column == Null)
                else:
                    expression &= (column != Null)
            return expression
        return Operator(column, Null if value is None else value)

    @classmethod
    def domain_calendar_start(cls, domain, tables):
        return cls._domain_calendar_bound(domain, tables)

    @classmethod
    def domain_calendar_end(cls, domain, tables):
        return cls._domain_calendar_bound(domain, tables)

    @classmethod
    def order_calendar_start(cls, tables):
        table, _ = tables[None]
        return [cls._calendar_bound_column(table, 'calendar_start')]

    @classmethod
    def order_calendar_end(cls, tables):
        table, _ = tables[None]
        return [cls._calendar_bound_column(table, 'calendar_end')]

    @classmethod
    def get_colors(cls, events, names):
        result = {n: {} for n in names}
        for event in events:
            color = event.calendar.color
            if not color or not COLOR.match(color):
                color = None
            if 'color' in result:
                result['color'][event.id] = color
            if 'text_color' in result:
                result['text_color'][event.id] = text_color(color)
        return result

    def get_owner(self, name):
        owner = self.calendar.credential.owner
        return owner.id if owner else None

    @classmethod
    def search_owner(cls, name, clause):
        return [(f'calendar.credential.owner{clause[0][len(name):]}',
                *clause[1:])]

    @classmethod
    def copy(cls, records, default=None):
        # An event is Google's: a copy would have no Google event.
        if records:
            raise CopyError(gettext('google_integration.msg_event_copy'))
        return super().copy(records, default=default)


class EventDetail(ModelSQL):
    __name__ = 'google_integration.event.detail'
    __string__ = "Google Calendar Event Detail"

    event = fields.Many2One(
        'google_integration.event', "Event",
        required=True, readonly=True, ondelete='CASCADE')
    summary = fields.Char("Summary", readonly=True)
    description = fields.Text("Description", readonly=True)
    location = fields.Char("Location", readonly=True)
    attendees = fields.Text(
        "Attendees", readonly=True,
        help="The e-mails of the attendees, one per line.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('event_unique', Unique(t, t.event),
                'google_integration.msg_event_detail_unique'),
            ]

    def get_rec_name(self, name):
        return self.summary or ''

    @classmethod
    def copy(cls, records, default=None):
        if records:
            raise CopyError(gettext('google_integration.msg_event_copy'))
        return super().copy(records, default=default)


def _chunks(ids):
    for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
        yield list(sub_ids)


def sum_last_sync(calendars):
    "The counts of the last synchronization of the calendars, summed"
    totals = defaultdict(int)
    for calendar in calendars:
        for name in ['created', 'updated', 'deleted']:
            totals[name] += getattr(calendar, f'last_sync_{name}') or 0
    return totals
