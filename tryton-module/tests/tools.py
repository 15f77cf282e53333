# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""What the module's test cases share: a fake sidecar, the writes the
sidecar makes with SQL, graphile-worker's add_job, credentials and users"""
import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from trytond import config
from trytond.pool import Pool
from trytond.transaction import Transaction

API_KEY = 'k3y-that-must-not-leak'
# graphile-worker's add_job (its signature), recording its calls, or
# failing as a broken job queue does.
_ADD_JOB = (
    'google_integration_jobs.add_job('
    'identifier text, payload json DEFAULT NULL, '
    'queue_name text DEFAULT NULL, run_at timestamptz DEFAULT NULL, '
    'max_attempts integer DEFAULT NULL, job_key text DEFAULT NULL, '
    'priority integer DEFAULT NULL, flags text[] DEFAULT NULL, '
    "job_key_mode text DEFAULT 'replace') RETURNS void ")
ADD_JOB = (
    f'CREATE FUNCTION {_ADD_JOB}'
    'LANGUAGE sql AS $$ INSERT INTO google_integration_jobs.calls '
    'VALUES (identifier, payload, queue_name, run_at, max_attempts, '
    'job_key) $$')
BROKEN_ADD_JOB = (
    f'CREATE OR REPLACE FUNCTION {_ADD_JOB}'
    "LANGUAGE plpgsql AS $$ BEGIN RAISE 'queue is broken'; END $$")


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def clear_cache(*names):
    "Forget what the transaction read of the models, as after a write"
    for cache in Transaction().cache.values():
        for name in names:
            cache.pop(name, None)


def config_get(options):
    "A trytond config.get that answers the [google_integration] options given"
    get = config.get

    def _get(section, option, default=None):
        if section == 'google_integration':
            return options.get(option, default)
        return get(section, option, default)
    return patch.object(config, 'get', _get)


class FakeSidecar:
    """A real HTTP server on 127.0.0.1 answering like the sidecar would

    Each request pops the next queued answer: a function of the JSON-RPC
    request returning (status, content type, body, delay in seconds).
    """

    def __init__(self):
        self.answers = []
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                try:
                    request = json.loads(body)
                except ValueError:
                    request = None
                fake.requests.append({
                        'path': self.path,
                        'headers': dict(self.headers),
                        'json': request,
                        })
                if fake.answers:
                    answer = fake.answers.pop(0)
                else:
                    answer = FakeSidecar.text(500, "no answer queued")
                status, content_type, content, delay = answer(request)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header('Content-Type', content_type)
                    self.send_header('Content-Length', str(len(content)))
                    if 300 <= status < 400:
                        self.send_header(
                            'Location', fake.url + '/elsewhere')
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f'http://{host}:{port}'

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        self.answers.clear()
        self.requests.clear()

    @staticmethod
    def json(status, value, delay=0):
        def answer(request):
            content = value(request) if callable(value) else value
            return (
                status, 'application/json', json.dumps(content).encode(),
                delay)
        return answer

    @staticmethod
    def text(status, text, delay=0):
        return lambda request: (
            status, 'text/html', text.encode(), delay)

    def result(self, result, delay=0):
        self.answers.append(self.json(200, lambda request: {
                    'jsonrpc': '2.0', 'id': request['id'],
                    'result': result}, delay=delay))

    def error(self, code, message, type_=None, status=200):
        error = {'code': code, 'message': message}
        if type_:
            error['data'] = {'type': type_}
        self.answers.append(self.json(status, lambda request: {
                    'jsonrpc': '2.0', 'id': request['id'], 'error': error}))


class SidecarTestMixin:
    "A FakeSidecar for the test case, emptied before each test"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sidecar = FakeSidecar()
        cls.addClassCleanup(cls.sidecar.close)

    def setUp(self):
        super().setUp()
        self.sidecar.reset()

    def sidecar_config(self, **options):
        "The configuration of the fake sidecar, but for options (None: unset)"
        values = {
            'sidecar_url': self.sidecar.url + '/',
            'sidecar_api_key': API_KEY,
            'sidecar_timeout': '5',
            }
        values.update(options)
        return config_get({k: v for k, v in values.items() if v is not None})


class RecordsTestMixin:
    "Records as users make them, and rows as the sidecar writes them"

    def create_credentials(self, name="Main", **values):
        Credentials = Pool().get('google_integration.google_credentials')
        record, = Credentials.create([{
                    'name': name,
                    'client_id': 'id.apps.googleusercontent.com',
                    'client_secret': 'secret',
                    'redirect_uri': 'http://127.0.0.1:8200/db/google/callback',
                    **values}])
        return record

    def create_user(self, login, *groups):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user, = User.create([{
                    'name': login.title(), 'login': login,
                    'groups': [('add', [
                                ModelData.get_id('google_integration', g)
                                for g in groups])],
                    }])
        return user

    def insert(self, model, **values):
        "Insert a row as the sidecar does: SQL, root's stamps; return its id"
        Model = Pool().get(model)
        table = Model.__table__()
        cursor = Transaction().connection.cursor()
        now = utcnow()
        values = {
            'create_uid': 0, 'create_date': now,
            'write_uid': 0, 'write_date': now, **values}
        cursor.execute(*table.insert(
                [getattr(table, c) for c in values], [list(values.values())],
                returning=[table.id]))
        id_, = cursor.fetchone()
        clear_cache(Model.__name__)
        return id_

    def set_columns(self, record, **values):
        """Write columns of the record as the sidecar does: in SQL, behind
        Tryton's back; return the record read again"""
        Model = Pool().get(record.__name__)
        table = Model.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [getattr(table, c) for c in values], list(values.values()),
                where=table.id == record.id))
        clear_cache(Model.__name__)
        return Model(record.id)

    def add_job_schema(self):
        """Create graphile-worker's schema, whose add_job records its calls,
        as a sidecar that ran in the database does"""
        cursor = Transaction().connection.cursor()
        cursor.execute('DROP SCHEMA IF EXISTS google_integration_jobs CASCADE')
        cursor.execute('CREATE SCHEMA google_integration_jobs')
        cursor.execute(
            'CREATE TABLE google_integration_jobs.calls ('
            'identifier text, payload json, queue_name text, '
            'run_at timestamptz, max_attempts integer, job_key text)')
        cursor.execute(ADD_JOB)

    def job_calls(self):
        "The calls of add_job: (identifier, payload, queue, attempts, key)"
        cursor = Transaction().connection.cursor()
        cursor.execute(
            'SELECT identifier, payload::text, queue_name, max_attempts, '
            'job_key FROM google_integration_jobs.calls')
        return [(i, json.loads(p), q, m, k) for i, p, q, m, k in cursor]

    def reset_job_calls(self, setting, table):
        """Forget the calls of add_job, and the settings (setting || id, per
        row of table) that remember this transaction queued: a new
        transaction would queue again"""
        cursor = Transaction().connection.cursor()
        cursor.execute('DELETE FROM google_integration_jobs.calls')
        cursor.execute(
            f"SELECT set_config('{setting}' || id, '', true) FROM {table}")

    def break_add_job(self):
        "Make add_job fail"
        Transaction().connection.cursor().execute(BROKEN_ADD_JOB)
