# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""The real sidecar and the offline Google emulator for scenarios

Both run as child processes of the test (``node bin/tryton-google.js serve``
and ``... emulator``), the way they run for users. A reader thread per
process keeps draining its output (stdout and stderr) into a buffer, so a
chatty process never blocks on a full pipe and its log is at hand when
something fails. Every process started here is stopped with SIGTERM by
``Stack.stop()``, by ``stop_all()`` (the scenarios' doctest tearDown) or at
the latest when the interpreter exits (atexit).
"""
import atexit
import base64
import getpass
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from html import unescape
from pathlib import Path

from trytond import config

TIMEOUT = 20
ROOT = Path(os.environ.get(
        'GOOGLE_INTEGRATION_ROOT', Path(__file__).resolve().parents[2]))
BIN = ROOT / 'bin' / 'tryton-google.js'
CALENDAR_SCOPE = 'https://www.googleapis.com/auth/calendar'
SECTION = 'google_integration'

_running = set()
_running_lock = threading.Lock()


class ProcessError(RuntimeError):
    pass


class Process:
    "A tryton-google command that prints a JSON 'listening' line on start"

    def __init__(self, name, args, env, listening):
        self.name = name
        self.args = list(args)
        self.env = env
        self.listening = listening
        self.url = None
        self._lines = []
        self._started = threading.Event()
        self._popen = None
        self._reader = None

    def output(self):
        return ''.join(self._lines)

    def start(self, timeout=TIMEOUT):
        node = os.environ.get('NODE') or shutil.which('node')
        if not node:
            raise ProcessError("node is not on the PATH")
        if not (ROOT / 'dist' / 'src' / 'cli.js').exists():
            raise ProcessError(
                f"the sidecar is not built: run 'npm run build' in {ROOT}")
        self._popen = subprocess.Popen(
            [node, str(BIN), *self.args],
            cwd=str(ROOT), env=self.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, encoding='utf-8',
            errors='replace')
        with _running_lock:
            _running.add(self)
        self._reader = threading.Thread(
            target=self._read, name=f'{self.name} output', daemon=True)
        self._reader.start()
        if not self._started.wait(timeout) or self.url is None:
            self.stop()
            raise ProcessError(
                f"{self.name} did not start within {timeout} s "
                f"(exit code {self._popen.returncode}):\n{self.output()}")
        return self.url

    def _read(self):
        for line in self._popen.stdout:
            self._lines.append(line)
            if self.url is None and self.listening in line:
                try:
                    self.url = json.loads(line)['url'].rstrip('/')
                except (ValueError, KeyError, TypeError):
                    pass
                else:
                    self._started.set()
        # The process ended (or closed its output): stop waiting for it.
        self._started.set()

    def stop(self, timeout=TIMEOUT):
        "Stop with SIGTERM (SIGKILL after timeout) and return the exit code"
        popen = self._popen
        if popen is None:
            return None
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout)
        if self._reader is not None:
            self._reader.join(timeout)
        popen.stdout.close()
        with _running_lock:
            _running.discard(self)
        if os.environ.get('GOOGLE_INTEGRATION_TEST_LOGS'):
            sys.stderr.write(f"--- {self.name} output\n{self.output()}")
        return popen.returncode


def stop_all():
    "Stop every process still running"
    with _running_lock:
        processes = list(_running)
    for process in processes:
        process.stop()
    for stack in list(_stacks):
        stack.restore_config()


atexit.register(stop_all)


def database_server_uri():
    "trytond's [database] uri without a database name, for the sidecar"
    uri = os.environ.get('GOOGLE_INTEGRATION_TEST_DATABASE_URI')
    if not uri:
        parts = urllib.parse.urlsplit(config.get('database', 'uri'))
        if not parts.scheme.startswith('postgresql'):
            raise ProcessError(
                "the sidecar needs PostgreSQL, not " + parts.scheme)
        uri = urllib.parse.urlunsplit(
            ('postgresql', parts.netloc, '/', '', ''))
    return uri


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    "Answers redirects as they are, as a browser's network tab shows them"

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def location(self):
        return self.headers.get('Location')


def request(url, data=None, headers=None, method=None, timeout=TIMEOUT):
    "One HTTP request, redirects not followed"
    if isinstance(data, dict):
        data = json.dumps(data).encode('utf-8')
        headers = {'Content-Type': 'application/json', **(headers or {})}
    elif isinstance(data, list):
        data = urllib.parse.urlencode(data).encode('utf-8')
        headers = {
            'Content-Type': 'application/x-www-form-urlencoded',
            **(headers or {})}
    req = urllib.request.Request(
        url, data=data, headers=headers or {}, method=method)
    try:
        with _opener.open(req, timeout=timeout) as response:
            return Response(
                response.status, response.headers,
                response.read().decode('utf-8', 'replace'))
    except urllib.error.HTTPError as error:
        try:
            return Response(
                error.code, error.headers,
                error.read().decode('utf-8', 'replace'))
        finally:
            error.close()


_stacks = set()


class Stack:
    """The emulator and a sidecar serving database, trytond configured

    trytond reads its [google_integration] options from trytond.config, the
    very module proteus' in-process trytond uses: start() sets them there
    and stop() puts back what was there before.
    """

    def __init__(self, database, env=None):
        self.database = database
        self.extra_env = dict(env or {})
        self.api_key = secrets.token_urlsafe(32)
        self.client_id = (
            f'{secrets.token_hex(6)}.apps.googleusercontent.com')
        self.client_secret = f'test-secret-{secrets.token_urlsafe(18)}'
        self.emulator = None
        self.sidecar = None
        self._sidecar_env = None
        self._saved_config = None

    @property
    def redirect_uri(self):
        return f'{self.sidecar.url}/{self.database}/google/callback'

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        env = {
            k: v for k, v in os.environ.items()
            if not k.startswith(('SIDECAR_', 'GOOGLE_', 'TRYTOND_'))}
        env['LOG_LEVEL'] = 'info'
        self.emulator = Process(
            'emulator', ['emulator', '--port', '0'], env,
            '"emulator listening"')
        emulator = self.emulator.start()

        port = free_port()
        env.update({
                'DATABASE_URI': database_server_uri(),
                'SIDECAR_API_KEY': self.api_key,
                'SIDECAR_PUBLIC_URL': f'http://127.0.0.1:{port}',
                'SIDECAR_HOST': '127.0.0.1',
                'SIDECAR_PORT': str(port),
                'SIDECAR_ENCRYPTION_KEYS': base64.b64encode(
                    secrets.token_bytes(32)).decode('ascii'),
                'SIDECAR_DATABASES': self.database,
                'GOOGLE_AUTH_URL': f'{emulator}/o/oauth2/v2/auth',
                'GOOGLE_TOKEN_URL': f'{emulator}/token',
                'GOOGLE_REVOKE_URL': f'{emulator}/revoke',
                'GOOGLE_USERINFO_URL': f'{emulator}/v1/userinfo',
                'GOOGLE_API_ROOT_URL': f'{emulator}/',
                })
        if (not urllib.parse.urlsplit(env['DATABASE_URI']).username
                and not env.get('PGUSER')):
            # libpq (trytond) defaults to the OS user, node-postgres to
            # $USER only, which a CI container may not set.
            env['PGUSER'] = getpass.getuser()
        env.update(self.extra_env)
        self._sidecar_env = env
        self.start_sidecar()

        self.control('/clients', {
                'client_id': self.client_id,
                'client_secret': self.client_secret,
                'redirect_uris': [self.redirect_uri],
                })
        self.configure_trytond()

    def configure_trytond(self):
        if self._saved_config is None:
            self._saved_config = {
                option: config.get(SECTION, option)
                for option in config.options(SECTION)
                } if config.has_section(SECTION) else {}
            _stacks.add(self)
        if not config.has_section(SECTION):
            config.add_section(SECTION)
        config.set(SECTION, 'sidecar_url', self.sidecar.url)
        config.set(SECTION, 'sidecar_api_key', self.api_key)

    def restore_config(self):
        "Put back trytond's [google_integration] options as they were"
        if self not in _stacks:
            return
        _stacks.discard(self)
        if config.has_section(SECTION):
            config.remove_section(SECTION)
        if self._saved_config:
            config.add_section(SECTION)
            for option, value in self._saved_config.items():
                config.set(SECTION, option, value)
        for get in [
                config.get, config.getint, config.getfloat,
                config.getboolean]:
            get.cache_clear()
        self._saved_config = None

    def start_sidecar(self):
        """Start the sidecar (again, after stop_sidecar): same port, keys and
        databases, so it finds what the stopped one left"""
        self.sidecar = Process(
            'sidecar', ['serve'], self._sidecar_env, '"sidecar listening"')
        self.sidecar.start()

    def stop_sidecar(self):
        """Stop the sidecar only, as an operator does: the emulator (Google)
        keeps its state; return the exit code"""
        return self.sidecar.stop()

    def stop(self):
        "Stop the sidecar, then the emulator, and restore trytond's config"
        codes = {}
        for name in ['sidecar', 'emulator']:
            process = getattr(self, name)
            if process is not None:
                codes[name] = process.stop()
        self.restore_config()
        return codes

    def control(self, path, body=None, method=None):
        "Call the emulator's control API (GET, or POST with a body)"
        method = method or ('GET' if body is None else 'POST')
        response = request(
            f'{self.emulator.url}/__emulator{path}', data=body,
            method=method)
        if not 200 <= response.status < 300:
            raise ProcessError(
                f"emulator control {method} {path}: {response.status} "
                f"{response.body[:300]}")
        return json.loads(response.body) if response.body else None

    def calendar(self, path, body=None, method=None):
        """Act as a person using Google Calendar (the emulator's
        ``/__emulator/calendar`` control API, see
        src/emulator/calendar/control.ts)"""
        return self.control(f'/calendar{path}', body, method)

    def stats(self):
        return self.control('/stats')

    def consent(self, authorization_url, email, decision='allow'):
        """Approve (or deny) Google's consent page as a browser would

        Returns Google's redirect: the sidecar callback URL.
        """
        page = request(authorization_url)
        if page.status != 200:
            raise ProcessError(
                f"consent page answered {page.status}: {page.body[:300]}")
        action = re.search(
            r'<form id="consent" method="post" action="([^"]+)"', page.body)
        request_id = re.search(
            r'name="request" value="([^"]+)"', page.body)
        if not action or not request_id:
            raise ProcessError("consent form not found")
        form = [
            ('request', unescape(request_id.group(1))),
            ('email', email),
            ('decision', decision),
            ]
        for match in re.finditer(
                r'<input type="checkbox" id="[^"]+" name="scope" '
                r'value="([^"]+)" checked( disabled)?>', page.body):
            if not match.group(2):
                form.append(('scope', unescape(match.group(1))))
        answer = request(
            urllib.parse.urljoin(authorization_url, unescape(action.group(1))),
            data=form)
        if answer.status != 302 or not answer.location:
            raise ProcessError(
                f"consent answered {answer.status}: {answer.body[:300]}")
        return answer.location
