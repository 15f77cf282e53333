# This file is part of the google_integration module for Tryton.
# The COPYRIGHT file at the top level of this repository contains the full
# copyright notices and license terms.
import doctest
import functools
import unittest

from trytond.tests.test_tryton import load_doc_tests

from . import sidecar_process


def _stop_processes_first(teardown, test):
    # The sidecar holds connections to the scenario's database: it must be
    # stopped before the usual tearDown drops that database, even when the
    # scenario failed before its own last step.
    try:
        sidecar_process.stop_all()
    finally:
        teardown(test)


def _doctests(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _doctests(test)
        elif isinstance(test, doctest.DocTestCase):
            yield test


def load_tests(loader, tests, pattern):
    tests = load_doc_tests(__name__, __file__, loader, tests, pattern)
    for test in _doctests(tests):
        test._dt_tearDown = functools.partial(
            _stop_processes_first, test._dt_tearDown)
    return tests
