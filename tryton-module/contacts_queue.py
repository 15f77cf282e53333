# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The SQL function that queues a credential's contacts round

google_integration_queue_contacts(credential) queues the sidecar's job
sync_contacts of the credential (docs/contracts.md, "Queueing from Tryton")
with graphile-worker's add_job, in the transaction that marks its parties
pending: the round starts within seconds on whichever sidecar replica runs
the credential's queue, and not at all when the save rolls back. It runs 2
seconds after the transaction began, and a transaction queues a credential
once, so that one save of many parties makes one round.

Like the calendar's trigger function (sync_trigger.py), it does nothing
where the job queue's schema does not exist (no sidecar ever ran in this
database) and swallows any error of add_job: a Tryton save never fails for
it. The module calls it from Python (contact.py) where it marks parties,
since what marks them is a change of several models, not of one table.

The module (re)creates it on each activation and update (PostgreSQL only);
it is Python so that the test caches keyed by the module's sources see it.
"""

FUNCTION = r"""
CREATE OR REPLACE FUNCTION google_integration_queue_contacts(
    credential integer)
RETURNS void
LANGUAGE plpgsql
AS $function$
DECLARE
    -- set_config(..., true) lasts until the transaction ends.
    queued_setting text := 'google_integration.contacts_queued_'
        || coalesce(credential, 0);
BEGIN
    IF credential IS NULL
            OR to_regnamespace('google_integration_jobs') IS NULL
            OR current_setting(queued_setting, true) = 'queued' THEN
        RETURN;
    END IF;
    BEGIN
        PERFORM google_integration_jobs.add_job(
            'sync_contacts',
            json_build_object('credential_id', credential),
            queue_name => 'contacts:' || credential,
            run_at => now() + interval '2 seconds',
            max_attempts => 5,
            job_key => 'sync_contacts:' || credential);
        PERFORM set_config(queued_setting, 'queued', true);
    EXCEPTION WHEN OTHERS THEN
        -- Repeatable read (Tryton's transactions) refuses add_job's upsert
        -- of the keyed job or of the queue's row when a worker took,
        -- finished or released them after this transaction began (a
        -- serialization failure): a round of the account ending during
        -- the save. A job without key and without queue touches neither;
        -- the sidecar's round waits for the account's lease. Any other
        -- failure: the save stands; the sidecar's periodic pass finds the
        -- pending rows.
        BEGIN
            PERFORM google_integration_jobs.add_job(
                'sync_contacts',
                json_build_object('credential_id', credential),
                run_at => now() + interval '2 seconds',
                max_attempts => 5);
            PERFORM set_config(queued_setting, 'queued', true);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
    END;
END;
$function$;
"""


def create(cursor):
    "Create (or replace) the function"
    cursor.execute(FUNCTION)


def queue(cursor, credential_ids):
    "Queue the contacts round of each credential, in this transaction"
    for credential_id in sorted(set(credential_ids)):
        cursor.execute(
            'SELECT google_integration_queue_contacts(%s)', (credential_id,))
