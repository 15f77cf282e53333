# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
"""trytond's standard checks of the module (its views against the RNG, its
fields, access, buttons, actions...); the tests of each subject are in the
other test_*.py files, which load_tests brings along"""
import importlib
import pkgutil

from trytond.tests.test_tryton import ModuleTestCase


class GoogleIntegrationTestCase(ModuleTestCase):
    "Test Google Integration module"
    module = 'google_integration'
    # The optional dependency (extras_depend), as Tryton's modules test
    # theirs: the standard checks then cover its views too.
    extras = ['party']


# Loaded by name, not discovered: the scenarios' doctests.
NOT_SUBJECTS = {__name__.rpartition('.')[2], 'test_scenario'}


def subject_modules():
    "The modules of the subjects' tests: the other test_*.py files"
    package = __name__.rpartition('.')[0]
    path = importlib.import_module(package).__path__
    return [
        importlib.import_module(f'{package}.{info.name}')
        for info in sorted(pkgutil.iter_modules(path), key=lambda i: i.name)
        if info.name.startswith('test_') and info.name not in NOT_SUBJECTS]


def load_tests(loader, tests, pattern):
    # scripts/test-tryton.sh loads this module by name (pattern is None):
    # bring the tests of the subjects along. Discovery (a pattern) finds
    # their files itself.
    if pattern is None:
        for module in subject_modules():
            tests.addTests(loader.loadTestsFromModule(module))
    return tests


del ModuleTestCase
