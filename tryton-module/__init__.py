# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.

# The route of the contacts synchronization (app.route registers it).
from . import routes  # noqa: F401
