# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class RedirectURIError(ValidationError):
    pass


class SidecarError(UserError):
    "The sidecar could not be reached or answered with an error"


class SidecarConfigurationError(SidecarError):
    "[google_integration] sidecar_url or sidecar_api_key is missing"


class CredentialNotFoundError(SidecarError):
    pass


class NotAuthorizedError(SidecarError):
    pass


class AuthorizationExpiredError(SidecarError):
    pass


class GoogleUnavailableError(SidecarError):
    pass
