# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""Google calendars: one per Google calendar, whichever accounts see it

The sidecar writes both tables with SQL (docs/contracts.md, "Calendar
synchronization" and "Team calendars"): column names and types are a
contract. Tryton users only switch the synchronization of a calendar and its
invitation e-mails on or off.
"""
import datetime as dt
import re
from collections import defaultdict

from sql import Literal
from sql.operators import Exists
from sql.aggregate import BoolOr, Min

from trytond import backend
from trytond.bus import notify
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import CalendarNotWritableError, CopyError
from .model import SidecarMixin, Timestamp, rec_name_domain

ACCESS_ROLES = [
    (None, ''),
    ('owner', "Owner"),
    ('writer', "Writer"),
    ('reader', "Reader"),
    ('freeBusyReader', "Free/Busy Reader"),
    ]
# The roles under which Google accepts changes to the events: Tryton accepts
# them under the same roles only.
WRITABLE_ROLES = ['owner', 'writer']
CALENDAR_SYNC_STATUSES = [
    (None, ''),
    ('never', "Never Synchronized"),
    ('ok', "Synchronized"),
    ('failing', "Failing"),
    ('stalled', "Stalled"),
    ]
# The health of a push channel (docs/contracts.md, "Push notifications").
CHANNEL_STATUSES = [
    (None, ''),
    ('none', "None"),
    ('waiting', "Waiting"),
    ('active', "Active"),
    ('failing', "Failing"),
    ]
COLOR = re.compile(r'^#[0-9a-fA-F]{6}$')
# What a calendar.sync answers, and what a calendar keeps of its last run.
SYNC_COUNTS = ['created', 'updated', 'deleted', 'pushed', 'conflicts']


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


def notify_counts(message, name, result, counted, notes):
    """Tell the user (through the bus) what a synchronization did and return
    its counts

    message: the title, given the credentials' name and the counts counted;
    notes: [(count, message)], the body's sentences of the counts not zero,
    each given its count.
    """
    result = result or {}
    counts = {
        k: _count(result.get(k)) for k in [*counted, *(k for k, _ in notes)]}
    body = ' '.join(
        gettext(note, **{k: counts[k]}) for k, note in notes if counts[k])
    # Without a client in the context (scripts, cron) nobody is told.
    notify(gettext(
            message, credentials=name, **{k: counts[k] for k in counted}),
        body=body or None)
    return counts


def notify_synchronized(name, result):
    "Tell the user (through the bus) what a calendar.sync did"
    return notify_counts(
        'google_integration.msg_calendar_synchronized', name, result,
        ['created', 'updated', 'deleted', 'pushed'], [
            ('conflicts', 'google_integration.msg_calendar_sync_conflicts'),
            ('skipped', 'google_integration.msg_calendar_sync_skipped'),
            ])


def sum_last_sync(calendars):
    "The counts of the last synchronization of the calendars, summed"
    totals = defaultdict(int)
    for calendar in calendars:
        for name in SYNC_COUNTS:
            totals[name] += getattr(calendar, f'last_sync_{name}') or 0
    return totals


class Calendar(SidecarMixin, DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'google_integration.calendar'
    __string__ = "Google Calendar"

    credential = fields.Many2One(
        'google_integration.google_credentials', "Credentials",
        required=True, readonly=True, ondelete='CASCADE',
        help="The Google account the calendar is synchronized through.")
    google_id = fields.Char("Google ID", required=True, readonly=True)
    name = fields.Char("Name", readonly=True)
    time_zone = fields.Char("Time Zone", readonly=True)
    access_role = fields.Selection(
        ACCESS_ROLES, "Access Role", readonly=True, sort=False,
        help="What the Google account may do in the calendar.")
    access_role_string = access_role.translated('access_role')
    color = fields.Char("Colour", readonly=True)
    is_primary = fields.Boolean(
        "Primary", readonly=True,
        help="The primary calendar of the Google account.")
    sync_enabled = fields.Boolean(
        "Synchronize",
        help="Check to keep the events of the calendar in step between "
        "Google and Tryton.")
    notify_attendees = fields.Boolean(
        "Notify Attendees",
        help="Check to have Google send its invitation e-mails to the "
        "attendees when an event is created, changed or deleted in Tryton.")
    sync_status = fields.Selection(
        CALENDAR_SYNC_STATUSES, "Synchronization Status", readonly=True,
        sort=False)
    last_sync = Timestamp(
        "Last Synchronization", readonly=True,
        help="When the last successful synchronization ended.")
    last_sync_created = fields.Integer("Created", readonly=True)
    last_sync_updated = fields.Integer("Updated", readonly=True)
    last_sync_deleted = fields.Integer("Deleted", readonly=True)
    last_sync_pushed = fields.Integer(
        "Pushed", readonly=True,
        help="The events created, changed or deleted in Google.")
    last_sync_conflicts = fields.Integer(
        "Conflicts", readonly=True,
        help="The events changed on both sides.")
    last_error = fields.Text("Last Error", readonly=True)
    sync_notice = fields.Text(
        "Skipped Events", readonly=True,
        help="The events Google sent that could not be synchronized, and why.")
    channel_status = fields.Selection(
        CHANNEL_STATUSES, "Push Notifications", readonly=True, sort=False,
        help="Whether Google tells Tryton about the calendar's changes at "
        "once (Active); otherwise the calendar is polled.")
    channel_expires = Timestamp(
        "Push Notifications Until", readonly=True,
        help="When the channel ends; the sidecar renews it a day before.")
    members = fields.One2Many(
        'google_integration.calendar.member', 'calendar', "Members",
        readonly=True,
        help="The Google accounts that see the calendar.")
    events = fields.One2Many(
        'google_integration.event', 'calendar', "Events", readonly=True)
    conflicts = fields.One2Many(
        'google_integration.event.conflict', 'calendar', "Conflicts",
        readonly=True, filter=[
            ('state', '=', 'open'),
            ],
        help="The events changed on both sides, waiting for a decision.")

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
            ('google_id_unique', Unique(t, t.google_id),
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
        pool = Pool()
        Member = pool.get('google_integration.calendar.member')
        TableHandler = backend.TableHandler

        # Migration from one row per account and calendar (before 8.0.0's
        # two-way release): the member rows are made from the rows the merge
        # deletes, so their table must exist before this one changes.
        if (TableHandler.table_exist(cls._table)
                and not TableHandler.table_exist(Member._table)):
            Member.__register__(module)
            cls._merge_team_calendars()
            table_h = cls.__table_handler__(module)
            table_h.drop_constraint('credential_google_id_unique')

        super().__register__(module)
        table_h = cls.__table_handler__(module)
        # The contract's default, for the sidecar's INSERTs (Tryton makes
        # every Boolean column default to false).
        table_h.db_default('active', True)

    @classmethod
    def _merge_team_calendars(cls):
        """Make one calendar of the rows of each Google calendar

        Each row becomes a member row of the lowest row of its Google id,
        which stays; the others are deleted with their events (copies pulled
        from Google, which the next pull brings again). The one that stays
        is synchronized and active when any of them was.
        """
        pool = Pool()
        Member = pool.get('google_integration.calendar.member')
        cursor = Transaction().connection.cursor()
        calendar = cls.__table__()
        group = cls.__table__()
        member = Member.__table__()
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

        kept = group.select(
            group.google_id,
            Min(group.id).as_('id'),
            BoolOr(group.sync_enabled).as_('sync_enabled'),
            BoolOr(group.active).as_('active'),
            group_by=[group.google_id])
        cursor.execute(*member.insert(
                [member.calendar, member.credential, member.access_role,
                    member.name, member.color, member.is_primary,
                    member.create_uid, member.create_date],
                calendar.join(kept,
                    condition=kept.google_id == calendar.google_id).select(
                    kept.id, calendar.credential, calendar.access_role,
                    calendar.name, calendar.color, calendar.is_primary,
                    Literal(0), Literal(now),
                    where=~Exists(member.select(
                            Literal(1),
                            where=(member.calendar == kept.id)
                            & (member.credential == calendar.credential))))))
        cursor.execute(*calendar.update(
                [calendar.sync_enabled, calendar.active],
                [kept.sync_enabled, kept.active],
                from_=[kept],
                where=(calendar.id == kept.id)
                & ((calendar.sync_enabled != kept.sync_enabled)
                    | (calendar.active != kept.active))))
        cursor.execute(*calendar.delete(
                where=~calendar.id.in_(group.select(
                        Min(group.id), group_by=[group.google_id]))))

    @classmethod
    def default_sync_enabled(cls):
        return False

    @classmethod
    def default_notify_attendees(cls):
        return False

    @classmethod
    def default_sync_status(cls):
        return 'never'

    def get_rec_name(self, name):
        return self.name or self.google_id

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(clause, ['name', 'google_id'])

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
    def writable_domain(cls):
        "The domain of the calendars whose events Tryton may change"
        return [
            ('active', '=', True),
            ('sync_enabled', '=', True),
            ('access_role', 'in', WRITABLE_ROLES),
            ]

    @property
    def events_writable(self):
        "Whether Tryton may create, change and delete the events"
        return bool(
            self.active and self.sync_enabled
            and self.access_role in WRITABLE_ROLES)

    def check_events_writable(self):
        "Raise why Tryton may not change the events, if it may not"
        if not self.active:
            message = 'msg_calendar_inactive'
        elif not self.sync_enabled:
            message = 'msg_calendar_not_synchronized'
        elif self.access_role not in WRITABLE_ROLES:
            message = 'msg_calendar_read_only'
        else:
            return
        raise CalendarNotWritableError(gettext(
                f'google_integration.{message}',
                calendar=self.rec_name,
                role=self.access_role_string or self.access_role or ''))

    @classmethod
    def copy(cls, records, default=None):
        # A calendar is Google's: the sidecar creates them from Google's
        # calendar lists.
        if records:
            raise CopyError(gettext('google_integration.msg_calendar_copy'))
        return super().copy(records, default=default)

    def _sidecar_credential(self):
        return self.credential

    @classmethod
    @ModelView.button
    def sync_now(cls, calendars):
        "Synchronize the events of the calendars with Google now"
        for calendar in calendars:
            result = calendar._sidecar(
                'calendar.sync', calendar_id=calendar.id)
            notify_synchronized(calendar.rec_name, result)
        return 'reload'


class CalendarMember(ModelSQL, ModelView):
    "One Google account that sees a calendar (an entry of its calendarList)"
    __name__ = 'google_integration.calendar.member'
    __string__ = "Google Calendar Member"

    calendar = fields.Many2One(
        'google_integration.calendar', "Calendar",
        required=True, readonly=True, ondelete='CASCADE')
    credential = fields.Many2One(
        'google_integration.google_credentials', "Credentials",
        required=True, readonly=True, ondelete='CASCADE')
    access_role = fields.Selection(
        ACCESS_ROLES, "Access Role", readonly=True, sort=False,
        help="What the Google account may do in the calendar.")
    name = fields.Char(
        "Name", readonly=True,
        help="The name the Google account gives to the calendar.")
    color = fields.Char("Colour", readonly=True)
    is_primary = fields.Boolean(
        "Primary", readonly=True,
        help="The primary calendar of the Google account.")
    owner = fields.Function(fields.Many2One(
            'res.user', "Owner",
            help="The Tryton user whose Google account it is."),
        'get_owner', searcher='search_owner')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('calendar_credential_unique',
                Unique(t, t.calendar, t.credential),
                'google_integration.msg_calendar_member_unique'),
            ]
        cls._order = [
            ('calendar', 'ASC'),
            ('credential', 'ASC'),
            ('id', 'ASC'),
            ]

    def get_rec_name(self, name):
        return self.credential.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('credential.rec_name', *clause[1:])]

    def get_owner(self, name):
        owner = self.credential.owner
        return owner.id if owner else None

    @classmethod
    def search_owner(cls, name, clause):
        return [(f'credential.owner{clause[0][len(name):]}', *clause[1:])]
