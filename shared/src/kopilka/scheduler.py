"""The sweeper the beat ticks: everything that is due is read from PostgreSQL, so two beats, or
a double tick, do no harm."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kopilka.db import transaction
from kopilka.logging import get_logger

log = get_logger("kopilka.scheduler")


def sweep(now: datetime | None = None) -> dict[str, Any]:
    from kopilka.periods import rollover

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
    steps: list[tuple[str, Any]] = []
    try:
        from kopilka.notifications.reminders import queue_debt_reminders

        def reminders(session: Any, now: datetime | None) -> int:
            # None: each community's own local date
            return int(queue_debt_reminders(session, now.date() if now else None))

        steps.append(("debt_reminders", reminders))
    except ImportError:
        pass
    try:
        from kopilka.recurring.service import generate_due_charges

        steps.append(("recurring_charges", lambda s, now: generate_due_charges(s, now)))
    except ImportError:
        pass
    try:
        from kopilka.recurring.expenses import generate_due_expenses

        steps.append(("recurring_expenses", lambda s, now: generate_due_expenses(s, now)))
    except ImportError:
        pass
    return steps
