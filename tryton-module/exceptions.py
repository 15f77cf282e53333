# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
from trytond.exceptions import UserError, UserWarning
from trytond.model.exceptions import ValidationError


class RedirectURIError(ValidationError):
    pass


class AuthorizeError(UserError):
    "The credentials can not be sent to Google's consent page"


class SidecarError(UserError):
    "The sidecar could not be reached or answered with an error"


class SidecarConfigurationError(SidecarError):
    "An option of the [google_integration] section is missing or invalid"


class SidecarUnreachableError(SidecarError):
    "No JSON-RPC answer: refused, timed out, or not JSON"


class SidecarUnauthenticatedError(SidecarError):
    "The sidecar refused sidecar_api_key"


class DatabaseNotServedError(SidecarError):
    pass


class DatabaseUnavailableError(SidecarError):
    pass


class CredentialNotFoundError(SidecarError):
    pass


class CredentialIncompleteError(SidecarError):
    pass


class NotAuthorizedError(SidecarError):
    pass


class AuthorizationExpiredError(SidecarError):
    pass


class GoogleUnavailableError(SidecarError):
    pass


class ScopeNotGrantedError(SidecarError):
    pass


class GoogleRejectedError(SidecarError):
    pass


class TokensUnreadableError(SidecarError):
    "The sidecar can not decrypt the stored tokens (encryption key missing)"


class ServiceNotEnabledError(SidecarError):
    "The credentials do not list the Google service the method needs"


class TrytonUnreachableError(SidecarError):
    "The sidecar could not reach the module's route (TRYTOND_URL, key)"


class ModuleNotReadyError(SidecarError):
    "The database lacks tables of the module (activated or updated since)"


class ClientChangeWarning(UserWarning):
    "The OAuth client of credentials Google authorized is being changed"


class CopyError(UserError):
    "Google's calendars can not be duplicated"


class CalendarNotWritableError(UserError):
    "Tryton may not change the events of the calendar"


class EventError(UserError):
    "The change of the event can not be synchronized"


class EventDetailError(EventError):
    "The user may not read what the event says, nor change it"


class EventValidationError(ValidationError):
    pass


class ConflictError(UserError):
    "The losing version of a conflict can not be applied"


class ServicesError(ValidationError):
    "The services of credentials can not be served"


class ContactConflictError(UserError):
    "The losing version of a contact conflict can not be applied"
