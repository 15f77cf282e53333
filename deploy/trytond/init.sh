#!/bin/sh
# tryton-google-init: creates the Tryton database TRYTON_DATABASE on the PostgreSQL server of
# TRYTOND_DATABASE__URI when it is missing, then activates google_integration in it (or updates it,
# with its dependencies) with trytond-admin. Safe to run at every start: the one-shot service
# `tryton-init` of docker-compose.yml runs it before trytond and the sidecar start.
#   TRYTON_ADMIN_PASSWORD  the "admin" user's password, used only when the database is initialised
#   TRYTON_ADMIN_EMAIL     the "admin" user's email (default admin@example.com), idem
#   PYTHON, TRYTOND_ADMIN  the interpreter with psycopg and the trytond-admin to use (defaults: the PATH's)
set -eu
: "${TRYTON_DATABASE:?set TRYTON_DATABASE}"
: "${TRYTOND_DATABASE__URI:?set TRYTOND_DATABASE__URI}"
: "${TRYTON_ADMIN_PASSWORD:?set TRYTON_ADMIN_PASSWORD}"

# Prints "new" when the database has no Tryton in it yet (just created, or created empty elsewhere).
state="$("${PYTHON:-python3}" - <<'PY'
import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

name = os.environ['TRYTON_DATABASE']
uri = urlsplit(os.environ['TRYTOND_DATABASE__URI'])
with psycopg.connect(urlunsplit(uri._replace(path='/postgres')), autocommit=True) as connection:
    found = connection.execute(
        'SELECT 1 FROM pg_database WHERE datname = %s', (name,)).fetchone()
    if found is None:
        connection.execute(
            sql.SQL('CREATE DATABASE {}').format(sql.Identifier(name)))
        print(f'tryton-google-init: created the database {name}', file=sys.stderr)
with psycopg.connect(urlunsplit(uri._replace(path='/' + name))) as connection:
    initialised = connection.execute(
        "SELECT to_regclass('public.ir_module')").fetchone()[0]
print('existing' if initialised else 'new')
PY
)"

passfile="$(mktemp)"
trap 'rm -f "$passfile"' EXIT
printf '%s\n' "$TRYTON_ADMIN_PASSWORD" > "$passfile"
# party too: the contacts sync keeps parties and Google Contacts in step.
set -- -d "$TRYTON_DATABASE" -u google_integration party --activate-dependencies
# The admin's email and password are Tryton's to keep once set: given only to a new database.
[ "$state" = existing ] || set -- "$@" --email "${TRYTON_ADMIN_EMAIL:-admin@example.com}"
TRYTONPASSFILE="$passfile" "${TRYTOND_ADMIN:-trytond-admin}" "$@"
echo "tryton-google-init: google_integration and party are activated in $TRYTON_DATABASE"
