# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The events of Google calendars, synchronized both ways

The sidecar writes the tables below with SQL (docs/contracts.md, "Calendar
synchronization"): column names and types are a contract. It never writes
through Tryton's ORM, so what the methods below do on create, write and
delete (a Google id, pending_push, local_version, tombstones) happens for
the changes of Tryton's users and modules only, never for the sidecar's.
"""
import base64
import datetime as dt
import functools
import json
import re
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sql import Cast, Literal, Null
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.model.fields.field import SQL_OPERATORS
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import (
    Transaction, check_access, without_check_access)

from . import sync_trigger
from .calendar_ import COLOR, WRITABLE_ROLES, text_color
from .conflict import ConflictMixin
from .credentials import parse_utc
from .exceptions import (
    ConflictError, EventDetailError, EventError, EventValidationError)
from .model import Timestamp, rec_name_domain

VISIBILITIES = [
    (None, ''),
    ('default', "Default"),
    ('public', "Public"),
    ('private', "Private"),
    ('confidential', "Confidential"),
    ]
# Events of these visibilities show only as busy to users who may not change
# the calendar in Google (the record rule of the event detail).
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
    ]
REPEAT_FREQUENCIES = [
    (None, ''),
    ('daily', "Daily"),
    ('weekly', "Weekly"),
    ('monthly', "Monthly"),
    ]
DETAIL_FIELDS = ['summary', 'description', 'location', 'attendees']
REPEAT_FIELDS = ['repeat_frequency', 'repeat_count', 'repeat_until']
TIME_FIELDS = [
    'all_day', 'start_date', 'end_date', 'starts_at', 'ends_at', 'time_zone']
# The contract's synchronized fields: a change of one of them is pushed.
SYNC_FIELDS = {
    *DETAIL_FIELDS, 'visibility', 'status', *TIME_FIELDS, *REPEAT_FIELDS}
# What Google gave an event, which a copy (a new appointment) has not.
GOOGLE_FIELDS = [
    'google_id', 'ical_uid', 'recurring_event_id', 'original_start',
    'html_link', 'google_updated', 'local_write']
# The order in which a conflict shows the fields of a version.
VERSION_FIELDS = [
    'summary', 'when', 'location', 'description', 'attendees', 'visibility',
    'status', 'repeat']
# The fields of a version whose values a conflict shows translated.
CONFLICT_SELECTIONS = ['visibility', 'status', 'repeat_frequency']
ATTENDEE_SEPARATORS = re.compile(r'[\s,;]+')
EMAIL = re.compile(r'^[^@\s]+@[^@\s]+$')
# Civil time runs from UTC-12 to UTC+14: whatever the client's zone, a day
# starts no earlier than 14 hours before its UTC midnight and ends before
# 14 hours after the next one. Searching all-day events with these margins
# finds every event the client may show in the period it asks for.
DAY_MARGIN = dt.timedelta(hours=14)
ONE_DAY = dt.timedelta(days=1)
ONE_HOUR = dt.timedelta(hours=1)
# When an all-day event becomes timed, it starts at this local time.
DEFAULT_START_TIME = dt.time(9)


class DayOrDateTime(fields.DateTime):
    """A DateTime field whose value may also be a date

    The web client shows a record of its calendar view as an all-day event
    when the values of dtstart and dtend are dates, and at its time in the
    client's zone when they are datetimes (naive UTC, as Tryton sends them).
    """
    _py_type = dt.date  # datetime is a date too
    # Clients see a DateTime (definition below); trytond's own checks of
    # DateTime values (their time format) do not apply to a date.
    _type = 'day_or_datetime'

    def definition(self, model, language):
        definition = super().definition(model, language)
        definition['type'] = 'datetime'
        return definition


def utcnow():
    "Now, as Tryton stores datetimes (naive UTC)"
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def new_google_id():
    """A new event id chosen by Tryton, which Google accepts as the id of
    the event it creates: 26 characters of base32hex (0-9, a-v) from 128
    random bits, so that a retried creation finds its own event"""
    random = base64.b32hexencode(secrets.token_bytes(16)).decode('ascii')
    return random.rstrip('=').lower()


def get_zone(name):
    "The zone of an IANA name, or UTC"
    try:
        return ZoneInfo(name) if name else dt.timezone.utc
    except (ValueError, ZoneInfoNotFoundError):
        return dt.timezone.utc


def normalize_attendees(value):
    "One e-mail a line, whatever separated them, without repeats"
    attendees, seen = [], set()
    for attendee in ATTENDEE_SEPARATORS.split(value or ''):
        if attendee and attendee.lower() not in seen:
            seen.add(attendee.lower())
            attendees.append(attendee)
    return '\n'.join(attendees) or None


def _chunks(ids):
    for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
        yield list(sub_ids)


def _clear_cache(Model, records=()):
    "Forget what this transaction read of the records before an SQL write"
    for cache in Transaction().cache.values():
        cache.pop(Model.__name__, None)
    for record in records:
        record._local_cache.pop(record.id, None)


class Event(ModelSQL, ModelView):
    __name__ = 'google_integration.event'
    __string__ = "Google Calendar Event"

    _readonly = ~Eval('can_edit', True)

    calendar = fields.Many2One(
        'google_integration.calendar', "Calendar",
        required=True, ondelete='CASCADE',
        domain=[If(Eval('id', -1) < 0,
                [('active', '=', True),
                    ('sync_enabled', '=', True),
                    ('access_role', 'in', WRITABLE_ROLES),
                    ],
                [])],
        states={
            'readonly': Eval('id', -1) >= 0,
            },
        help="The calendars whose events Tryton may change are those "
        "synchronized, in which the Google account is owner or writer.")
    google_id = fields.Char("Google ID", required=True, readonly=True)
    ical_uid = fields.Char("iCalendar UID", readonly=True)
    recurring_event_id = fields.Char(
        "Recurring Event ID", readonly=True,
        help="The Google ID of the series the event is an occurrence of.")
    original_start = fields.Char(
        "Original Start", readonly=True,
        help="The start of the occurrence in its series, as Google gives it.")
    all_day = fields.Boolean(
        "All Day",
        states={
            'readonly': _readonly,
            })
    start_date = fields.Date(
        "Start Date",
        states={
            'invisible': ~Eval('all_day'),
            'required': Eval('all_day', False),
            'readonly': _readonly,
            })
    end_date = fields.Date(
        "End Date",
        states={
            'invisible': ~Eval('all_day'),
            'required': Eval('all_day', False),
            'readonly': _readonly,
            },
        help="The last day of the event.")
    starts_at = fields.Timestamp(
        "Starts at",
        states={
            'invisible': Eval('all_day', False),
            'required': ~Eval('all_day', False),
            'readonly': _readonly,
            })
    ends_at = fields.Timestamp(
        "Ends at",
        states={
            'invisible': Eval('all_day', False),
            'required': ~Eval('all_day', False),
            'readonly': _readonly,
            })
    time_zone = fields.Char(
        "Time Zone",
        states={
            'readonly': _readonly,
            },
        help="The IANA time zone of the event, such as Europe/Paris.")
    visibility = fields.Selection(
        VISIBILITIES, "Visibility", sort=False,
        states={
            'readonly': _readonly,
            },
        help="Private and confidential events show only as busy to the "
        "users who may not change the calendar in Google.")
    status = fields.Selection(
        STATUSES, "Status", sort=False,
        states={
            'readonly': _readonly,
            })
    html_link = fields.Char("Google Calendar Link", readonly=True)
    google_updated = fields.Timestamp("Updated in Google", readonly=True)
    sync_status = fields.Selection(
        EVENT_SYNC_STATUSES, "Synchronization Status", readonly=True,
        sort=False)
    local_version = fields.Integer(
        "Local Version", required=True, readonly=True,
        help="How many times the event was changed in Tryton.")
    local_write = fields.Timestamp(
        "Changed in Tryton", readonly=True,
        help="When the event was last changed in Tryton.")
    repeat_frequency = fields.Selection(
        REPEAT_FREQUENCIES, "Repeat", sort=False,
        states={
            'readonly': (
                _readonly | Bool(Eval('recurring_event_id'))
                | ((Eval('id', -1) >= 0) & ~Eval('repeat_frequency'))),
            },
        help="Make a new event a series that Google repeats; "
        "its occurrences come back as events of their own.")
    repeat_count = fields.Integer(
        "Occurrences",
        domain=['OR',
            ('repeat_count', '=', None),
            ('repeat_count', '>', 0),
            ],
        states={
            'invisible': ~Eval('repeat_frequency'),
            'readonly': _readonly | Bool(Eval('repeat_until')),
            },
        help="The series ends after this number of occurrences.")
    repeat_until = fields.Date(
        "Until",
        states={
            'invisible': ~Eval('repeat_frequency'),
            'readonly': _readonly | Bool(Eval('repeat_count')),
            },
        help="The series ends on this day.")
    origin = fields.Reference(
        "Origin", selection='get_origin',
        help="The Tryton record the appointment belongs to.")

    # What the event says, from its detail as the user may read it; the
    # setters write the detail.
    summary = fields.Function(
        fields.Char(
            "Summary",
            states={
                'readonly': _readonly,
                }),
        'get_detail', setter='set_detail', searcher='search_detail')
    description = fields.Function(
        fields.Text(
            "Description",
            states={
                'readonly': _readonly,
                }),
        'get_detail', setter='set_detail', searcher='search_detail')
    location = fields.Function(
        fields.Char(
            "Location",
            states={
                'readonly': _readonly,
                }),
        'get_detail', setter='set_detail', searcher='search_detail')
    attendees = fields.Function(
        fields.Text(
            "Attendees",
            states={
                'readonly': _readonly,
                },
            help="The e-mails of the attendees, one per line."),
        'get_detail', setter='set_detail', searcher='search_detail')
    busy = fields.Function(
        fields.Boolean(
            "Busy",
            help="The details of the event are private to the users who may "
            "change the calendar in Google."),
        'get_detail')
    can_edit = fields.Function(
        fields.Boolean(
            "Can Edit",
            help="Tryton may change the event: its calendar is synchronized "
            "and its Google account may change it."),
        'on_change_with_can_edit')

    # For the calendar view: a DateTime for timed events, a Date for all-day
    # events (the client shows those on their days, whatever its zone).
    # All-day events are moved in the form only: the web client sends a
    # dragged date as a datetime it does not tag (see doc/design.rst).
    calendar_start = fields.Function(
        DayOrDateTime(
            "Start",
            states={
                'readonly': _readonly | Eval('all_day', False),
                }),
        'get_calendar_bounds', setter='set_calendar_bounds')
    calendar_end = fields.Function(
        DayOrDateTime(
            "End",
            states={
                'readonly': _readonly | Eval('all_day', False),
                }),
        'get_calendar_bounds', setter='set_calendar_bounds')
    color = fields.Function(fields.Char("Colour"), 'get_colors')
    text_color = fields.Function(fields.Char("Text Colour"), 'get_colors')
    owner = fields.Function(
        fields.Many2One('res.user', "Owner"),
        'get_owner', searcher='search_owner')
    members = fields.Function(
        fields.Many2Many(
            'res.user', None, None, "Members",
            help="The Tryton users whose Google accounts see the calendar."),
        'get_members', searcher='search_members')

    del _readonly

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

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table_h = cls.__table_handler__(module)
        # The sidecar's INSERTs do not name these columns.
        table_h.db_default('local_version', 0)
        table_h.db_default('sync_status', 'synced')
        if backend.name == 'postgresql':
            sync_trigger.create(
                Transaction().connection.cursor(), cls._table)

    @classmethod
    def default_calendar(cls):
        """The first writable calendar of the user's Google account, else
        one of an account the user is a member through, else any"""
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        user = Transaction().user
        domain = Calendar.writable_domain()
        for mine in [
                [('owner', '=', user)],
                [('members', 'where', [
                            ('owner', '=', user),
                            ('access_role', 'in', WRITABLE_ROLES),
                            ])],
                []]:
            calendars = Calendar.search(
                domain + mine, limit=1,
                order=[('is_primary', 'DESC'), ('id', 'ASC')])
            if calendars:
                calendar, = calendars
                return calendar.id

    @classmethod
    def default_time_zone(cls):
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        calendar = cls.default_calendar()
        if calendar is not None:
            return Calendar(calendar).time_zone

    @classmethod
    def default_all_day(cls):
        return False

    @classmethod
    def default_visibility(cls):
        return 'default'

    @classmethod
    def default_status(cls):
        return 'confirmed'

    @classmethod
    def default_sync_status(cls):
        return 'pending_push'

    @classmethod
    def default_local_version(cls):
        return 0

    @classmethod
    def default_can_edit(cls):
        return True

    @classmethod
    def _get_origin(cls):
        "Return the models of the records an appointment may belong to"
        return []

    @classmethod
    def get_origin(cls):
        pool = Pool()
        IrModel = pool.get('ir.model')
        get_name = IrModel.get_name
        models = cls._get_origin()
        return [(None, '')] + [(m, get_name(m)) for m in models]

    @fields.depends('calendar', 'time_zone')
    def on_change_calendar(self):
        if self.calendar and self.calendar.time_zone:
            self.time_zone = self.calendar.time_zone

    @fields.depends('calendar', 'busy')
    def on_change_with_can_edit(self, name=None):
        return bool(
            self.calendar and self.calendar.events_writable and not self.busy)

    def _local(self, value):
        "The local date and time of a naive UTC instant in the event's zone"
        return value.replace(tzinfo=dt.timezone.utc).astimezone(
            get_zone(self.time_zone)).replace(tzinfo=None)

    def _utc(self, value):
        "The naive UTC instant of a local date and time in the event's zone"
        return value.replace(tzinfo=get_zone(self.time_zone)).astimezone(
            dt.timezone.utc).replace(tzinfo=None)

    @fields.depends(
        'all_day', 'start_date', 'end_date', 'starts_at', 'ends_at',
        'time_zone')
    def on_change_all_day(self):
        if self.all_day:
            if self.starts_at and not self.start_date:
                self.start_date = self._local(self.starts_at).date()
            if self.ends_at and not self.end_date:
                # An end at midnight ends the day before.
                self.end_date = self._local(
                    self.ends_at - dt.timedelta(microseconds=1)).date()
            if self.start_date and (
                    not self.end_date or self.end_date < self.start_date):
                self.end_date = self.start_date
        elif self.start_date and not self.starts_at:
            self.starts_at = self._utc(dt.datetime.combine(
                    self.start_date, DEFAULT_START_TIME))
            self.ends_at = self.starts_at + ONE_HOUR

    @fields.depends(
        'calendar_start', 'calendar_end', 'all_day', 'start_date', 'end_date',
        'starts_at', 'ends_at')
    def on_change_calendar_start(self):
        # The calendar view sets the start of a new event (a click on a day)
        # and of a moved one; the end follows only where it would come first.
        start = self.calendar_start
        if isinstance(start, dt.datetime):
            self.all_day = False
            self.starts_at = start
            if not self.ends_at or self.ends_at <= start:
                self.ends_at = start + ONE_HOUR
            self.calendar_end = self.ends_at
        elif isinstance(start, dt.date):
            self.all_day = True
            self.start_date = start
            if not self.end_date or self.end_date < start:
                self.end_date = start
            self.calendar_end = self.end_date

    @fields.depends('calendar_end', 'all_day', 'end_date', 'ends_at')
    def on_change_calendar_end(self):
        end = self.calendar_end
        if isinstance(end, dt.datetime):
            if not self.all_day:
                self.ends_at = end
        elif isinstance(end, dt.date):
            if self.all_day:
                self.end_date = end

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
    def _stored_details(cls, events):
        "The details of the events, whoever may read them"
        pool = Pool()
        Detail = pool.get('google_integration.event.detail')
        details = {}
        with without_check_access():
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
    def set_detail(cls, events, name, value):
        pool = Pool()
        Detail = pool.get('google_integration.event.detail')
        if name == 'attendees':
            value = normalize_attendees(value)
        stored = cls._stored_details(events)
        readable = cls._readable_details(events)
        for event in events:
            # Changing what a user may not read would overwrite it blindly.
            if event.id in stored and event.id not in readable:
                raise EventDetailError(gettext(
                        'google_integration.msg_event_detail_hidden',
                        event=event.rec_name))
            if name == 'attendees':
                for attendee in (value or '').splitlines():
                    if not EMAIL.match(attendee):
                        raise EventValidationError(gettext(
                                'google_integration'
                                '.msg_event_attendee_invalid',
                                event=event.rec_name, attendee=attendee))
        # The detail is read-only to users: they change it through the event.
        with without_check_access():
            if stored:
                Detail.write(list(stored.values()), {name: value})
            missing = [e for e in events if e.id not in stored]
            if missing:
                Detail.create([{'event': e.id, name: value} for e in missing])

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
    def set_calendar_bounds(cls, events, name, value):
        "Write a bound moved in the calendar view onto the days or instants"
        if value is None:
            return
        to_write = []
        for event in events:
            start = name == 'calendar_start'
            if event.all_day:
                field = 'start_date' if start else 'end_date'
                if isinstance(value, dt.datetime):
                    new = value.date()
                else:
                    new = value
            else:
                field = 'starts_at' if start else 'ends_at'
                if isinstance(value, dt.datetime):
                    new = value
                else:
                    new = dt.datetime.combine(value, dt.time())
            # The client usually sent the instants too (on_change): a second
            # write would count a second change.
            if getattr(event, field) != new:
                to_write.extend(([event], {field: new}))
        if to_write:
            cls.write(*to_write)

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
    def get_members(cls, events, name):
        "The owners of the credentials that see the calendar"
        result = {}
        for event in events:
            calendar = event.calendar
            # The calendar's own credential is one of its members too; it
            # counts even before the sidecar wrote the member rows.
            credentials = [calendar.credential] + [
                m.credential for m in calendar.members]
            result[event.id] = sorted({
                    c.owner.id for c in credentials if c.owner})
        return result

    @classmethod
    def search_members(cls, name, clause):
        _, operator, operand, *extra = clause
        nested = clause[0][len(name):]
        if not nested and operator in {'!=', 'not in'}:
            # Not a member: no member is, not "some member is not".
            positive = {'!=': '=', 'not in': 'in'}[operator]
            return [('id', 'not in', cls.search(
                        [(name, positive, operand)], order=[], query=True))]
        return ['OR',
            (f'calendar.members.credential.owner{nested}',
                operator, operand, *extra),
            (f'calendar.credential.owner{nested}', operator, operand, *extra),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            # A new appointment: Tryton chooses its Google id, and the push
            # creates it at Google under that id.
            if values.get('calendar') is not None:
                calendar = Calendar(values['calendar'])
                # Before the domain of the field says it less clearly.
                calendar.check_events_writable()
                if not values.get('time_zone'):
                    values['time_zone'] = calendar.time_zone
            if not values.get('google_id'):
                values['google_id'] = new_google_id()
            values.update({
                    'sync_status': 'pending_push',
                    'local_version': 1,
                    'local_write': utcnow(),
                    })
        # Google holds either days or instants.
        if values.get('all_day'):
            values.update({'starts_at': None, 'ends_at': None})
        elif 'all_day' in values:
            values.update({'start_date': None, 'end_date': None})
        return values

    @classmethod
    def check_modification(cls, mode, events, values=None, external=False):
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        super().check_modification(
            mode, events, values=values, external=external)
        if mode == 'delete':
            # Deleted with their calendar: nothing goes to Google.
            deleted = Transaction().delete_records.get(
                Calendar.__name__, set())
            events = [e for e in events if e.calendar.id not in deleted]
        for calendar in {e.calendar for e in events}:
            calendar.check_events_writable()
        if mode == 'write':
            if 'calendar' in values:
                for event in events:
                    if event.calendar.id != values['calendar']:
                        raise EventError(gettext(
                                'google_integration.msg_event_calendar_change',
                                event=event.rec_name))
            if values.keys() & set(REPEAT_FIELDS):
                for event in events:
                    event.check_repeat_change(values)

    def check_repeat_change(self, values):
        "Refuse to repeat an existing event, or to stop repeating a series"
        repeats = any(
            values.get(n, getattr(self, n)) for n in REPEAT_FIELDS)
        if self.recurring_event_id and repeats:
            message = 'msg_event_repeat_occurrence'
        elif not self.repeat_frequency and repeats:
            message = 'msg_event_repeat_new'
        elif (self.repeat_frequency
                and not values.get('repeat_frequency', True)):
            message = 'msg_event_repeat_stop'
        else:
            return
        raise EventError(gettext(
                f'google_integration.{message}', event=self.rec_name))

    @classmethod
    def validate_fields(cls, events, field_names):
        super().validate_fields(events, field_names)
        cls.check_dates(events, field_names)
        cls.check_time_zone(events, field_names)
        cls.check_repeat(events, field_names)

    @classmethod
    def check_dates(cls, events, field_names=None):
        if field_names and not (field_names & {
                    *TIME_FIELDS, 'calendar_start', 'calendar_end'}):
            return
        for event in events:
            if event.all_day:
                start, end = event.start_date, event.end_date
            else:
                start, end = event.starts_at, event.ends_at
            if start and end and end < start:
                raise EventValidationError(gettext(
                        'google_integration.msg_event_dates',
                        event=event.rec_name))

    @classmethod
    def check_time_zone(cls, events, field_names=None):
        if field_names and 'time_zone' not in field_names:
            return
        for event in events:
            if not event.time_zone:
                continue
            try:
                ZoneInfo(event.time_zone)
            except (ValueError, ZoneInfoNotFoundError):
                raise EventValidationError(gettext(
                        'google_integration.msg_event_time_zone',
                        event=event.rec_name, time_zone=event.time_zone))

    @classmethod
    def check_repeat(cls, events, field_names=None):
        if field_names and not (field_names & {
                    *REPEAT_FIELDS, *TIME_FIELDS, 'calendar_start'}):
            return
        for event in events:
            if not event.repeat_frequency:
                continue
            if event.repeat_count and event.repeat_until:
                raise EventValidationError(gettext(
                        'google_integration.msg_event_repeat_end',
                        event=event.rec_name))
            if event.repeat_until:
                if event.all_day:
                    first = event.start_date
                else:
                    first = event.starts_at and event._local(
                        event.starts_at).date()
                if first and event.repeat_until < first:
                    raise EventValidationError(gettext(
                            'google_integration.msg_event_repeat_until',
                            event=event.rec_name))

    @classmethod
    def on_write(cls, events, values):
        callbacks = super().on_write(events, values)
        names = SYNC_FIELDS & values.keys()
        changed = cls._sync_changed(events, names, values) if names else []
        if changed:
            callbacks.append(functools.partial(cls._mark_pending, changed))
        return callbacks

    @classmethod
    def _sync_changed(cls, events, names, values):
        "The events whose synchronized fields the values change"
        details = {}
        if names & set(DETAIL_FIELDS):
            details = cls._stored_details(events)

        def stored(event, name):
            if name in DETAIL_FIELDS:
                detail = details.get(event.id)
                return getattr(detail, name) if detail else None
            return getattr(event, name)
        return [
            e for e in events
            if any(stored(e, n) != values[n] for n in names)]

    @classmethod
    def _mark_pending(cls, events):
        """Have the sidecar push the events

        local_version is incremented in SQL, so that concurrent saves count
        both; the sidecar sets synced only where it is still the version it
        pushed. The update fires the module's trigger, which queues the
        calendar's round.
        """
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        now = utcnow()
        for sub_ids in _chunks([e.id for e in events]):
            cursor.execute(*table.update(
                    [table.sync_status, table.local_version,
                        table.local_write],
                    ['pending_push', table.local_version + 1, now],
                    where=table.id.in_(sub_ids)))
        _clear_cache(cls, events)

    @classmethod
    def delete(cls, events):
        pool = Pool()
        Tombstone = pool.get('google_integration.event.tombstone')
        events = cls._with_occurrences(events)
        tombstones = cls._tombstones(events)
        super().delete(events)
        if tombstones:
            with without_check_access():
                Tombstone.create(tombstones)

    @classmethod
    def _with_occurrences(cls, events):
        """The events and the occurrences of the series among them

        Google cancels the occurrences of a deleted series: Tryton deletes
        its copies at once instead of waiting for the pull.
        """
        series = [e for e in events if e.repeat_frequency]
        if not series:
            return list(events)
        occurrences = set()
        # Two parameters a series.
        size = backend.MAX_QUERY_PARAMS // 2
        for sub_series in grouped_slice(series, size):
            occurrences.update(cls.search(['OR', *(
                            [('calendar', '=', s.calendar.id),
                                ('recurring_event_id', '=', s.google_id)]
                            for s in sub_series)], order=[]))
        return list(events) + list(occurrences - set(events))

    @classmethod
    def _tombstones(cls, events):
        "The values of the tombstones of the events to delete"
        pool = Pool()
        Calendar = pool.get('google_integration.calendar')
        Tombstone = pool.get('google_integration.event.tombstone')
        # Deleted with their calendar, whose tombstones go with it.
        deleted = Transaction().delete_records.get(Calendar.__name__, set())
        series = {
            (e.calendar.id, e.google_id) for e in events if e.repeat_frequency}
        events = [
            e for e in events
            if e.calendar.id not in deleted
            and (e.calendar.id, e.recurring_event_id) not in series]
        if not events:
            return []
        keys = {(e.calendar.id, e.google_id): e for e in events}
        size = backend.MAX_QUERY_PARAMS // 2
        with without_check_access():
            for sub_keys in grouped_slice(list(keys), size):
                for tombstone in Tombstone.search(['OR', *(
                                [('calendar', '=', c), ('google_id', '=', g)]
                                for c, g in sub_keys)]):
                    # A deletion Google has not confirmed yet.
                    keys.pop(
                        (tombstone.calendar.id, tombstone.google_id), None)
        details = cls._stored_details(keys.values())
        return [{
                'calendar': calendar,
                'google_id': google_id,
                'summary': (
                    details[event.id].summary if event.id in details
                    else None),
                } for (calendar, google_id), event in keys.items()]

    @classmethod
    def copy(cls, events, default=None):
        "Make new appointments like the events"
        pool = Pool()
        Detail = pool.get('google_integration.event.detail')
        default = default.copy() if default is not None else {}
        for name in GOOGLE_FIELDS:
            default.setdefault(name, None)
        details = cls._readable_details(events)
        new_events = super().copy(events, default=default)
        to_create = []
        for event, new_event in zip(events, new_events):
            detail = details.get(event.id)
            if detail:
                to_create.append({
                        'event': new_event.id,
                        **{n: getattr(detail, n) for n in DETAIL_FIELDS},
                        })
        if to_create:
            with without_check_access():
                Detail.create(to_create)
        return new_events

    @classmethod
    def values_from_version(cls, version):
        """The values to write of a version of an event as a conflict keeps
        it (docs/contracts.md, the JSON of kept and lost)"""
        values = {n: version[n] for n in [
                'summary', 'description', 'location', 'visibility', 'status']
            if n in version}
        if 'attendees' in version:
            attendees = version['attendees'] or []
            if not isinstance(attendees, str):
                attendees = '\n'.join(attendees)
            values['attendees'] = attendees or None
        when = version.get('when')
        if isinstance(when, dict):
            values['all_day'] = bool(when.get('all_day'))
            if values['all_day']:
                values.update({
                        'start_date': _parse_date(when.get('start_date')),
                        'end_date': _parse_date(when.get('end_date')),
                        })
            else:
                values.update({
                        'starts_at': parse_utc(when.get('starts_at')),
                        'ends_at': parse_utc(when.get('ends_at')),
                        })
            values['time_zone'] = when.get('time_zone')
        if 'repeat' in version:
            repeat = version['repeat'] or {}
            values.update({
                    'repeat_frequency': repeat.get('frequency'),
                    'repeat_count': repeat.get('count'),
                    'repeat_until': _parse_date(repeat.get('until')),
                    })
        return values


def _parse_date(value):
    return dt.date.fromisoformat(value) if value else None


class EventDetail(ModelSQL):
    "What an event says, apart so that record rules may hide it"
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


class EventTombstone(ModelSQL):
    "An event deleted in Tryton, until Google confirmed its deletion"
    __name__ = 'google_integration.event.tombstone'
    __string__ = "Google Calendar Deleted Event"

    calendar = fields.Many2One(
        'google_integration.calendar', "Calendar",
        required=True, readonly=True, ondelete='CASCADE')
    google_id = fields.Char("Google ID", required=True, readonly=True)
    summary = fields.Char("Summary", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('calendar_google_id_unique',
                Unique(t, t.calendar, t.google_id),
                'google_integration.msg_event_tombstone_unique'),
            ]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        if backend.name == 'postgresql':
            sync_trigger.create(
                Transaction().connection.cursor(), cls._table)

    def get_rec_name(self, name):
        return self.summary or self.google_id


class EventConflict(ConflictMixin, ModelSQL, ModelView):
    "A field both sides changed, or an event one deleted and one changed"
    __name__ = 'google_integration.event.conflict'
    __string__ = "Google Calendar Conflict"
    _record_field = 'event'
    _version_fields = VERSION_FIELDS
    _version_name = 'summary'

    calendar = fields.Many2One(
        'google_integration.calendar', "Calendar",
        required=True, readonly=True, ondelete='CASCADE')
    event = fields.Many2One(
        'google_integration.event', "Event", readonly=True,
        ondelete='SET NULL')
    google_id = fields.Char("Google ID", required=True, readonly=True)
    lost_version = fields.Function(
        fields.Text(
            "Lost Version",
            help="What \"Apply\" writes onto the event."),
        'get_versions')

    def _default_rec_name(self):
        return self.google_id

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(clause, ['google_id', 'event.rec_name'])

    @classmethod
    def _labels(cls):
        pool = Pool()
        Event = pool.get('google_integration.event')
        labels = {
            n: d['string'] for n, d in Event.fields_get(
                DETAIL_FIELDS + CONFLICT_SELECTIONS).items()}
        labels['when'] = gettext('google_integration.msg_conflict_field_when')
        labels['repeat'] = gettext(
            'google_integration.msg_conflict_field_repeat')
        return labels

    @classmethod
    def _format_context(cls):
        "The user's language, and the translated values of the selections"
        pool = Pool()
        Event = pool.get('google_integration.event')
        Lang = pool.get('ir.lang')
        selections = {
            n: dict(d['selection']) for n, d in Event.fields_get(
                CONFLICT_SELECTIONS).items()}
        return {'lang': Lang.get(), 'selections': selections}

    @classmethod
    def _format_value(cls, name, value, lang, selections):
        if value is None:
            if name == 'repeat':
                return gettext('google_integration.msg_conflict_repeat_none')
            return ''
        if name in selections:
            return selections[name].get(value, value)
        if name == 'attendees' and isinstance(value, list):
            return ', '.join(str(v) for v in value)
        if name == 'when' and isinstance(value, dict):
            return cls._format_when(value, lang)
        if name == 'repeat' and isinstance(value, dict):
            return cls._format_repeat(value, lang, selections)
        if isinstance(value, str):
            return value
        return json.dumps(value)

    @classmethod
    def _format_when(cls, when, lang):
        zone = when.get('time_zone')
        try:
            if when.get('all_day'):
                start = _parse_date(when.get('start_date'))
                end = _parse_date(when.get('end_date'))
                return gettext(
                    'google_integration.msg_conflict_when_all_day',
                    start=lang.strftime(start) if start else '',
                    end=lang.strftime(end) if end else '')
            tz = get_zone(zone)

            def local(value):
                value = parse_utc(value)
                if not value:
                    return ''
                value = value.replace(tzinfo=dt.timezone.utc).astimezone(tz)
                return lang.strftime(
                    value.replace(tzinfo=None), lang.date + ' %H:%M')
            return gettext(
                'google_integration.msg_conflict_when_timed',
                start=local(when.get('starts_at')),
                end=local(when.get('ends_at')),
                time_zone=zone or 'UTC')
        except (TypeError, ValueError):
            return json.dumps(when)

    @classmethod
    def _format_repeat(cls, repeat, lang, selections):
        frequency = repeat.get('frequency')
        frequency = selections['repeat_frequency'].get(frequency, frequency)
        if repeat.get('count'):
            return gettext(
                'google_integration.msg_conflict_repeat_count',
                frequency=frequency, count=repeat['count'])
        if repeat.get('until'):
            try:
                until = lang.strftime(_parse_date(repeat['until']))
            except (TypeError, ValueError):
                until = repeat['until']
            return gettext(
                'google_integration.msg_conflict_repeat_until',
                frequency=frequency, until=until)
        return frequency or ''

    def _apply(self):
        """Write the lost version, or for a deletion create the event again
        from it (a new appointment); return the event"""
        pool = Pool()
        Event = pool.get('google_integration.event')
        version = self._load(self.lost) or {}
        values = Event.values_from_version(version)
        if self.kind == 'delete':
            event, = Event.create([{'calendar': self.calendar.id, **values}])
            return event
        if not self.event:
            raise ConflictError(gettext(
                    'google_integration.msg_conflict_event_gone',
                    conflict=self.rec_name))
        Event.write([self.event], values)
        return self.event
