"""The sweeper the beat ticks: everything that is due is read from PostgreSQL, so two beats, or
a double tick, do no harm.

Its modules are imported plainly: a module that fails to import must stop the sweeper loudly,
not silently remove a step (debt reminders, reading reminders, recurring charges) from every run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.db import transaction
from kopilka.logging import get_logger
from kopilka.notifications.reminders import queue_debt_reminders
from kopilka.periods import rollover
from kopilka.plots.reminders import queue_reading_reminders
from kopilka.recurring.expenses import generate_due_expenses
from kopilka.recurring.service import generate_due_charges

log = get_logger("kopilka.scheduler")


def sweep(now: datetime | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with transaction() as session:
        out.update(rollover.sweep(session, now))
    for name, step in _extra_steps():
        try:
            with transaction() as session:
                out[name] = step(session, now)
        except Exception:
            log.exception("sweep_step_failed", step=name)
    return out


def _extra_steps() -> list[tuple[str, Any]]:
    def reminders(session: Any, now: datetime | None) -> int:
        # None: each community's own local date
        return int(queue_debt_reminders(session, now.date() if now else None))

    def reading_reminders(session: Any, now: datetime | None) -> int:
        return int(queue_reading_reminders(session, now.date() if now else None))

    return [
        ("debt_reminders", reminders),
        ("reading_reminders", reading_reminders),
        ("recurring_charges", lambda s, now: generate_due_charges(s, now)),
        ("recurring_expenses", lambda s, now: generate_due_expenses(s, now)),
    ]
