"""The sweeper the beat ticks: everything that is due is read from PostgreSQL, so two beats, or
a double tick, do no harm.

Every scheduled step runs per community in its own transaction (SPEC §4): one community's
failure never stops another's. A failed step is recorded as a FAILED job of that community
(``kind`` = ``scheduled:<step>``, the reason in ``error``; at most one a day per step and
community), which its admins read in ``GET /api/jobs?status=FAILED``, and counted in the
``kopilka_scheduled_step_failures_total`` metric. Per community the recurring charges and
expenses are generated before rollover closes a period, and rollover waits while they fail
(a period is never closed without its charges).

Its modules are imported plainly: a module that fails to import must stop the sweeper loudly,
not silently remove a step (debt reminders, reading reminders, recurring charges) from every run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.db import transaction
from kopilka.jobs import queries as jobs_q
from kopilka.logging import get_logger
from kopilka.metrics import SCHEDULED_STEP_FAILURES
from kopilka.models import Community
from kopilka.notifications.reminders import queue_debt_reminders
from kopilka.periods import rollover
from kopilka.plots.reminders import queue_for as queue_reading_reminders_of
from kopilka.recurring.expenses import generate_due_expenses
from kopilka.recurring.service import generate_due_charges

log = get_logger("kopilka.scheduler")


Step = Callable[[Session, datetime | None, int], Any]


def _reminders(session: Session, now: datetime | None, community_id: int) -> int:
    # None: the community's own local date
    return int(queue_debt_reminders(session, now.date() if now else None, community_id))


def _reading_reminders(session: Session, now: datetime | None, community_id: int) -> int:
    community = session.get(Community, community_id)
    if community is None or community.reading_window is None:
        return 0
    day = now.date() if now else datetime.now(ZoneInfo(community.timezone)).date()
    queued = int(queue_reading_reminders_of(session, community, day))
    session.flush()
    return queued


def _rollover(session: Session, now: datetime | None, community_id: int) -> list[int]:
    return list(rollover.sweep(session, now, community_id)["rollover_jobs"])


# In this order per community: generation before rollover (SPEC §4).
GENERATE: list[tuple[str, Step]] = [
    ("recurring_charges", lambda s, now, c: generate_due_charges(s, now, c)),
    ("recurring_expenses", lambda s, now, c: generate_due_expenses(s, now, c)),
]
ROLLOVER: tuple[str, Step] = ("rollover", _rollover)
REMINDERS: list[tuple[str, Step]] = [
    ("debt_reminders", _reminders),
    ("reading_reminders", _reading_reminders),
]


_COMMUNITIES = select(Community.id).order_by(Community.id)


def _communities(session: Session) -> list[int]:
    return [int(c) for c in session.scalars(_COMMUNITIES)]


def sweep(now: datetime | None = None) -> dict[str, Any]:
    """One tick: every step for every community, each in its own transaction. Returns what
    each step did (counts, the rollover jobs) and the failures."""
    with transaction() as session:
        communities = _communities(session)
    out: dict[str, Any] = {
        "recurring_charges": 0,
        "recurring_expenses": 0,
        "debt_reminders": 0,
        "reading_reminders": 0,
        "rollover_jobs": [],
        "failed": [],
    }
    for community_id in communities:
        generated = [run_step(name, step, community_id, now, out) for name, step in GENERATE]
        if all(generated):
            run_step(*ROLLOVER, community_id, now, out)
        for name, step in REMINDERS:
            run_step(name, step, community_id, now, out)
    return out


def run_step(
    name: str, step: Step, community_id: int, now: datetime | None, out: dict[str, Any]
) -> bool:
    """Run one step for one community in its own transaction; on failure record it (FAILED job
    row, metric, log) and answer False."""
    try:
        with transaction() as session:
            result = step(session, now, community_id)
    except Exception as exc:
        SCHEDULED_STEP_FAILURES.labels(name).inc()
        lines = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {lines[0][:500] if lines else ''}"
        log.exception("sweep_step_failed", step=name, community_id=community_id)
        out["failed"].append({"step": name, "community_id": community_id, "error": reason})
        try:
            with transaction() as session:
                record_failure(session, name, community_id, reason, now)
        except Exception:
            log.exception("sweep_step_failure_not_recorded", step=name, community_id=community_id)
        return False
    if name == "rollover":
        out["rollover_jobs"].extend(result)
    else:
        out[name] += int(result or 0)
    return True


def record_failure(
    session: Session, step: str, community_id: int, reason: str, now: datetime | None = None
) -> None:
    """A FAILED job of the community naming the step and the reason (one a day per step)."""
    day = (now or datetime.now(UTC)).date().isoformat()
    kind = f"scheduled:{step}"
    seen = session.execute(
        jobs_q.FAILED_STEP_SEEN, {"c": community_id, "k": kind, "d": day}
    ).first()
    if seen is not None:
        return
    session.execute(
        jobs_q.FAILED_STEP,
        {
            "c": community_id,
            "k": kind,
            "payload": {"step": step, "community_id": community_id, "day": day},
            "error": f"The scheduled step {step} failed for this community: {reason}",
        },
    )
