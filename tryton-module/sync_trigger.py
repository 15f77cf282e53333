# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The SQL trigger that queues a calendar's round when Tryton changes it

google_integration_queue_sync() queues the sidecar's job sync_calendar of
the calendar of the row (docs/contracts.md, "The module's trigger"), with
graphile-worker's add_job, in the transaction that saves the event or its
tombstone: the round starts within seconds on whichever sidecar replica
runs the calendar's queue, and not at all when the save rolls back.

It lives in Tryton, not in the sidecar, because it must run in Tryton's
transaction whatever writes the row (a user, a module, a script), and the
sidecar never sees a change before its commit. It does nothing where the
job queue's schema does not exist (no sidecar ever ran in this database) and
swallows any error of add_job: a Tryton save never fails for it, and the
sidecar queues a round at start for every calendar with pending changes.

The module (re)creates the function on each activation and update and the
triggers where they are missing (PostgreSQL only); it is Python so that the
test caches keyed by the module's sources see it.
"""

FUNCTION = r"""
CREATE OR REPLACE FUNCTION google_integration_queue_sync()
RETURNS trigger
LANGUAGE plpgsql
AS $function$
DECLARE
    -- A transaction queues a calendar's round once, however many of its
    -- rows it saves: set_config(..., true) lasts until the transaction ends.
    queued_setting text := 'google_integration.queued_' || NEW.calendar;
    calendar_credential integer;
BEGIN
    IF to_regnamespace('google_integration_jobs') IS NULL
            OR current_setting(queued_setting, true) = 'queued' THEN
        RETURN NULL;
    END IF;
    BEGIN
        SELECT c.credential INTO calendar_credential
            FROM google_integration_calendar AS c
            WHERE c.id = NEW.calendar;
        PERFORM google_integration_jobs.add_job(
            'sync_calendar',
            json_build_object(
                'credential_id', calendar_credential,
                'calendar_id', NEW.calendar),
            queue_name => 'calendar:' || NEW.calendar,
            max_attempts => 5,
            job_key => 'sync_calendar:' || NEW.calendar);
        PERFORM set_config(queued_setting, 'queued', true);
    EXCEPTION WHEN OTHERS THEN
        -- Repeatable read (Tryton's transactions) refuses add_job's upsert
        -- of the keyed job or of the queue's row when a worker took,
        -- finished or released them after this transaction began (a
        -- serialization failure): a round of the calendar ending during
        -- the save. A job without key and without queue touches neither;
        -- the sidecar's round waits for the calendar's lease. Any other
        -- failure: the save stands; the sidecar finds pending changes at
        -- start and its periodic pass pulls every calendar.
        BEGIN
            PERFORM google_integration_jobs.add_job(
                'sync_calendar',
                json_build_object(
                    'credential_id', calendar_credential,
                    'calendar_id', NEW.calendar),
                max_attempts => 5);
            PERFORM set_config(queued_setting, 'queued', true);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END;
    RETURN NULL;
END;
$function$;
"""

# table: [(trigger, when it fires)]. On events, a user's change only: Tryton
# creates a row pending, or moves its local_version; the sidecar never writes
# local_version, so its own writes (a pull, a merge) queue nothing.
TRIGGERS = {
    'google_integration_event': [
        ('google_integration_event_queue_sync',
            "AFTER INSERT ON google_integration_event FOR EACH ROW "
            "WHEN (NEW.sync_status = 'pending_push')"),
        ('google_integration_event_queue_sync_update',
            "AFTER UPDATE OF local_version ON google_integration_event "
            "FOR EACH ROW "
            "WHEN (NEW.local_version IS DISTINCT FROM OLD.local_version)"),
        ],
    'google_integration_event_tombstone': [
        ('google_integration_event_tombstone_queue_sync',
            "AFTER INSERT ON google_integration_event_tombstone "
            "FOR EACH ROW"),
        ],
    }


def create(cursor, table):
    """Create the function and the triggers of table

    The triggers are created again on each update, so that an update also
    brings a changed condition.
    """
    cursor.execute(FUNCTION)
    for name, timing in TRIGGERS[table]:
        cursor.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}')
        cursor.execute(
            f'CREATE TRIGGER {name} {timing} '
            'EXECUTE FUNCTION google_integration_queue_sync()')
