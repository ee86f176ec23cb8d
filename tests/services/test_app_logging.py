"""The Chalice app does not reconfigure the Powertools logger it shares a name with."""
from __future__ import annotations

import io
import logging
import sys


def test_creating_the_app_leaves_the_powertools_logger_alone(monkeypatch) -> None:
    import app as app_module
    from chalice import Chalice

    from chalicelib.observability import logger

    shared = logging.getLogger(app_module.app.app_name)
    assert shared is logger._logger
    before = (shared.propagate, shared.level, list(shared.handlers))
    # stdout replaced (as under output capture): a Chalice that configures logs would not recognise
    # Powertools' handler and would set propagate=False and ERROR on the shared logger
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    Chalice(app_name=app_module.app.app_name, configure_logs=app_module.app.configure_logs)
    assert (shared.propagate, shared.level, list(shared.handlers)) == before
    assert shared.isEnabledFor(logging.INFO)
