# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""A fake sidecar for the module's test cases: a real HTTP server on
127.0.0.1 that answers the JSON-RPC calls as queued by the test, and the
[google_integration] configuration that points trytond at it"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

from trytond import config

API_KEY = 'k3y-that-must-not-leak'


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


def closed_port_url():
    "The URL of a local port nobody listens on"
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return f'http://127.0.0.1:{port}'


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

    def assertNoSecret(self, error):
        "The user error does not show the sidecar's API key"
        for text in [error.message, error.description, str(error)]:
            self.assertNotIn(API_KEY, str(text))
