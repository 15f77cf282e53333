# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
from trytond.pool import PoolMeta


class UserApplication(metaclass=PoolMeta):
    __name__ = 'res.user.application'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # The key of the module's route, with which the sidecar brings
        # Google's contacts into Tryton (routes.py).
        application = ('google_integration', "Google Integration")
        if application not in cls.application.selection:
            cls.application.selection.append(application)
