# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The SQL function the sidecar calls when an authorization ends

google_integration_notify(credential_id): tell the Tryton user who last
clicked Authorize or Re-authorize on the credentials how the authorization
ended (authorized, or not and why), as Tryton's res.notification does: a
notification of the user (the notification menu of the client, opening the
credentials) and its bus message on channel "notification:<user id>".

The sidecar calls it right after the statement that ends an authorization
(Google's callback) has committed, when the function exists; a failure is
only logged, the authorization stands. It lives in Tryton so that the
sidecar needs no knowledge of Tryton's tables, messages or bus format.
Returns the user notified, or NULL (no interactive request, unknown id).

The module (re)creates it on each activation and update (PostgreSQL only);
it is Python so that the test caches keyed by the module's sources see it.
"""

FUNCTION = r"""
CREATE OR REPLACE FUNCTION google_integration_notify(credential_id integer)
RETURNS integer
LANGUAGE plpgsql
AS $function$
DECLARE
    credential record;
    requester integer;
    requester_language varchar;
    message varchar;
    label varchar;
    description varchar;
    unread bigint;
BEGIN
    SELECT c.id, c.name, c.state, c.account_email, c.last_error
        INTO credential
        FROM google_integration_google_credentials AS c
        WHERE c.id = credential_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    -- trytond logs each button a user clicks (ir.model.log).
    SELECT l."user", lang.code
        INTO requester, requester_language
        FROM ir_model_log AS l
        JOIN res_user AS u ON u.id = l."user"
        LEFT JOIN ir_lang AS lang ON lang.id = u.language
        WHERE l.resource = 'google_integration.google_credentials,'
                || credential_id
            AND l.event = 'button'
            AND l.target IN ('request_authorization', 'reauthorize')
            AND u.active
        ORDER BY l.id DESC
        LIMIT 1;
    IF requester IS NULL THEN
        RETURN NULL;
    END IF;

    IF credential.state = 'authorized' THEN
        message := 'msg_authorization_granted';
        description := COALESCE(credential.last_error, credential.account_email);
    ELSE
        message := 'msg_authorization_not_granted';
        description := credential.last_error;
    END IF;
    SELECT COALESCE(NULLIF(t.value, ''), m.text)
        INTO label
        FROM ir_model_data AS d
        JOIN ir_message AS m ON m.id = d.db_id
        LEFT JOIN ir_translation AS t
            ON t.name = 'ir.message,text' AND t.type = 'model'
            AND t.res_id = m.id AND t.lang = requester_language
        WHERE d.module = 'google_integration' AND d.fs_id = message;
    label := replace(label, '%(credentials)s', credential.name);

    INSERT INTO res_notification (
            "user", label, description, unread, model, records,
            create_uid, create_date)
        VALUES (
            requester, label, description, true,
            'google_integration.google_credentials',
            '[' || credential_id || ']',
            0, timezone('UTC', now()));

    SELECT count(*) INTO unread
        FROM res_notification AS n
        WHERE n."user" = requester AND n.unread;
    -- The payload of trytond.bus.LongPollingBus.publish and the message of
    -- res.notification.on_modification.
    PERFORM pg_notify('bus', json_build_object(
            'channel', 'notification:' || requester,
            'message', json_build_object(
                'type', 'user-notification',
                'count', unread,
                'content', json_build_array(
                    concat_ws(E'\n', left(label, 100), left(description, 100))),
                'message_id', gen_random_uuid()::text))::text);
    RETURN requester;
END;
$function$;
"""


def create(cursor):
    cursor.execute(FUNCTION)
