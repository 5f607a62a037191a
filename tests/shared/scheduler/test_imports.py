"""Item 16 of issue 13: the scheduler imports its steps plainly. A module that fails to import
must stop the scheduler loudly instead of silently removing its step from every sweep."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.mark.parametrize("module", ["kopilka.notifications.reminders", "kopilka.recurring.service"])
def test_a_broken_step_module_fails_the_scheduler_loudly(monkeypatch, module):
    import kopilka.scheduler as scheduler

    try:
        with monkeypatch.context() as m:
            m.setitem(sys.modules, module, None)  # importing it now raises ImportError
            with pytest.raises(ImportError):
                reloaded = importlib.reload(scheduler)
                # the old scheduler imported its steps lazily and dropped a failing one
                steps = [name for name, _ in reloaded._extra_steps()]
                assert steps == ["debt_reminders", "recurring_charges"], steps
    finally:
        importlib.reload(scheduler)
