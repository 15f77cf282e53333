# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""JSON-RPC 2.0 client of the Google integration sidecar.

Standard library only. The API key and the tokens never go into a log line,
an exception message or a repr: only the sidecar URL and the sidecar's own
error messages do.
"""
import http.client
import itertools
import json
import logging
import socket
import urllib.error
import urllib.request

from trytond import config
from trytond.i18n import gettext

from . import exceptions

logger = logging.getLogger(__name__)

SECTION = 'google_integration'
DEFAULT_TIMEOUT = 30
# Answers larger than this are not a JSON-RPC answer of the sidecar.
MAX_ANSWER = 16 * 1024 * 1024

# data.type of a JSON-RPC error -> (exception, message id, show detail)
ERRORS = {
    'database_not_served': (
        exceptions.DatabaseNotServedError,
        'msg_sidecar_database_not_served', False),
    'credential_not_found': (
        exceptions.CredentialNotFoundError,
        'msg_credential_not_found', False),
    'not_authorized': (
        exceptions.NotAuthorizedError, 'msg_not_authorized', False),
    'authorization_expired': (
        exceptions.AuthorizationExpiredError,
        'msg_authorization_expired', True),
    'google_unavailable': (
        exceptions.GoogleUnavailableError, 'msg_google_unavailable', True),
    'database_unavailable': (
        exceptions.DatabaseUnavailableError,
        'msg_sidecar_database_unavailable', True),
    'credential_incomplete': (
        exceptions.CredentialIncompleteError,
        'msg_credential_incomplete', True),
    'scope_not_granted': (
        exceptions.ScopeNotGrantedError, 'msg_scope_not_granted', True),
    'google_rejected': (
        exceptions.GoogleRejectedError, 'msg_google_rejected', True),
    'tokens_unreadable': (
        exceptions.TokensUnreadableError, 'msg_tokens_unreadable', True),
    'service_not_enabled': (
        exceptions.ServiceNotEnabledError, 'msg_service_not_enabled', True),
    'tryton_unreachable': (
        exceptions.TrytonUnreachableError, 'msg_tryton_unreachable', True),
    'module_not_ready': (
        exceptions.ModuleNotReadyError, 'msg_module_not_ready', True),
    'unauthenticated': (
        exceptions.SidecarUnauthenticatedError,
        'msg_sidecar_unauthenticated', False),
    }
INVALID_PARAMS = -32602

_ids = itertools.count(1)


def _msg(name, **variables):
    return gettext(f'google_integration.{name}', **variables)


def _option(option, env):
    value = config.get(SECTION, option) or ''
    value = value.strip()
    if not value:
        raise exceptions.SidecarConfigurationError(
            _msg('msg_sidecar_not_configured', option=option, env=env))
    return value


def sidecar_url():
    "The base URL at which trytond reaches the sidecar, without a final /"
    return _option(
        'sidecar_url', 'TRYTOND_GOOGLE_INTEGRATION__SIDECAR_URL').rstrip('/')


def sidecar_timeout():
    "Seconds to wait for the sidecar's answer"
    value = config.get(SECTION, 'sidecar_timeout')
    if value is None or not str(value).strip():
        return DEFAULT_TIMEOUT
    try:
        timeout = float(value)
    except ValueError:
        timeout = 0
    if not timeout > 0:
        raise exceptions.SidecarConfigurationError(
            _msg('msg_sidecar_timeout_invalid', timeout=value))
    return timeout


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    "Never follow a redirect: it would carry the API key to another URL"

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _unreachable(url, detail):
    logger.warning("sidecar %s unreachable: %s", url, detail)
    return exceptions.SidecarUnreachableError(
        _msg('msg_sidecar_unreachable', url=url), detail)


def _decode(body):
    try:
        answer = json.loads(body.decode('utf-8'))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(answer, dict) and ('result' in answer or 'error' in answer):
        return answer


def _error(url, error, database, credentials):
    "The UserError for a JSON-RPC error object"
    if not isinstance(error, dict):
        error = {}
    message = error.get('message')
    message = str(message) if message is not None else ''
    data = error.get('data')
    type_ = data.get('type') if isinstance(data, dict) else None
    code = error.get('code')
    variables = {
        'url': url,
        'database': database or '',
        'credentials': credentials or '',
        }
    if type_ in ERRORS:
        Exception_, msg_id, detail = ERRORS[type_]
        return Exception_(
            _msg(msg_id, **variables), message if detail else '')
    if code == INVALID_PARAMS:
        return exceptions.SidecarError(
            _msg('msg_sidecar_invalid_params', **variables), message)
    detail = message
    if type_ or code is not None:
        detail = f"{message} ({type_ or code})" if message else str(
            type_ or code)
    return exceptions.SidecarError(
        _msg('msg_sidecar_error', **variables), detail)


def call(method, params=None, credentials=None):
    """Call method with named params on the sidecar and return its result.

    credentials is the name used in error messages for the record at stake.
    Raises a SidecarError (a UserError) with a translated message.
    """
    url = sidecar_url()
    api_key = _option(
        'sidecar_api_key', 'TRYTOND_GOOGLE_INTEGRATION__SIDECAR_API_KEY')
    timeout = sidecar_timeout()
    params = dict(params or {})
    database = params.get('database')
    id_ = next(_ids)
    body = json.dumps({
            'jsonrpc': '2.0',
            'id': id_,
            'method': method,
            'params': params,
            }).encode('utf-8')
    request = urllib.request.Request(
        f'{url}/rpc', data=body, method='POST', headers={
            'Content-Type': 'application/json',
            'Accept': 'application/json',
            'Authorization': f'Bearer {api_key}',
            })
    logger.debug("sidecar %s call %s #%s", url, method, id_)
    status = None
    try:
        try:
            with _opener.open(request, timeout=timeout) as response:
                status = response.status
                content = response.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as http_error:
            status = http_error.code
            try:
                content = http_error.read(MAX_ANSWER + 1)
            finally:
                http_error.close()
    except (TimeoutError, socket.timeout):
        raise _unreachable(
            url, f"no answer within {timeout:g} seconds") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise _unreachable(
                url, f"no answer within {timeout:g} seconds") from None
        raise _unreachable(url, str(reason)) from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise _unreachable(
            url, str(error) or error.__class__.__name__) from None

    answer = _decode(content) if len(content) <= MAX_ANSWER else None
    if status == 401:
        logger.warning("sidecar %s refused the API key", url)
        raise exceptions.SidecarUnauthenticatedError(
            _msg('msg_sidecar_unauthenticated', url=url))
    if answer is None:
        raise _unreachable(
            url, f"HTTP {status}: the answer is not JSON-RPC")
    if answer.get('error') is not None:
        error = _error(url, answer['error'], database, credentials)
        logger.info(
            "sidecar %s call %s #%s failed: %s", url, method, id_,
            error.__class__.__name__)
        raise error
    if answer.get('id') != id_:
        raise _unreachable(
            url, f"HTTP {status}: the answer is for another request")
    return answer.get('result')
