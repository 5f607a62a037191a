"""Telling the treasurer how their job ended (SPEC §8, issue 16): when a close, a carry-forward or
a bank import that an admin started from the Mini App ends or fails, that admin gets a message
with the result or the reason.

The message is a notification row like every other, written in the transaction that records the
job's end (so it is sent once that commits, and never for a rolled-back end). The outbox
addresses owners' chats: the admin is told in the chat of their owner row in the community (a
treasurer who owns no property there is not messaged; the Mini App shows the job's end anyway).
Jobs started with an API key or by the scheduler have no chat to tell.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.models import Job, Owner, Period
from kopilka.notifications.service import enqueue

JOB_FINISHED = "job_finished"
# the job kinds whose end is told; the bank import's kind joins when it lands
TOLD = frozenset({"close_period", "carry_forward", "bank_import"})
IMPORT_COUNTS = ("import_id", "lines", "new", "duplicates", "booked", "unmatched", "waiting")


def _period_name(session: Session, value: Any) -> str | None:
    if value is None:
        return None
    period = session.get(Period, int(value))
    return period.name if period else None


def job_finished(session: Session, job: Job) -> bool:
    """Queue the message for the admin who started ``job`` (just SUCCEEDED or FAILED)."""
    if job.kind not in TOLD or job.community_id is None:
        return False
    who, _, tg = (job.actor or "").partition(":")
    if who != "telegram" or not tg.isdigit():
        return False
    owner = session.scalar(
        select(Owner).where(
            Owner.community_id == job.community_id,
            Owner.telegram_id == int(tg),
            Owner.is_active.is_(True),
        )
    )
    if owner is None:
        return False
    p, result = job.payload or {}, job.result or {}
    payload: dict[str, Any] = {
        "job_id": job.id,
        "job_kind": job.kind,
        "status": job.status,
        "error": job.error,
        "period_name": _period_name(session, p.get("period_id") or p.get("from_period_id")),
        "to_period_name": _period_name(session, p.get("to_period_id")),
        "owners": len(result.get("carried_forward_owners") or {}) or result.get("owners"),
    }
    if job.kind == "bank_import":  # its counts (SPEC §4b)
        payload["counts"] = {k: result.get(k) for k in IMPORT_COUNTS if k in result}
    return enqueue(session, owner, JOB_FINISHED, f"job-finished:{job.id}", payload)
