"""Telling the treasurer how their job ended (SPEC §8, issue 16): when a close, a carry-forward or
a bank import that an admin started from the Mini App ends or fails, that admin gets a message
with the result or the reason.

The message is a notification row like every other, written in the transaction that records the
job's end (so it is sent once that commits, and never for a rolled-back end). It addresses the
admin's private chat (chat id = their Telegram user id), whether or not they own property in the
community, in their language: the Telegram ``language_code`` they started the job with (kept in
the job's payload as ``language``), else the community's. Only a Telegram user still listed in
the community's ``admin_telegram_ids`` is told. Jobs started with an API key or by the scheduler
have no chat to tell.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kopilka.i18n import supported
from kopilka.models import Community, Job, Period
from kopilka.notifications.service import enqueue_chat

JOB_FINISHED = "job_finished"
TOLD = frozenset({"close_period", "carry_forward", "bank_import"})
IMPORT_COUNTS = ("import_id", "lines", "new", "duplicates", "booked", "unmatched", "waiting")
LANGUAGE = "language"  # the job payload's key: the Telegram language of the admin who started it


def _period_name(session: Session, value: Any) -> str | None:
    if value is None:
        return None
    period = session.get(Period, int(value))
    return period.name if period else None


def _admin(session: Session, job: Job) -> int | None:
    """The Telegram id of the admin who started ``job``, if they are still its community's."""
    who, _, tg = (job.actor or "").partition(":")
    if who != "telegram" or not tg.isdigit() or job.community_id is None:
        return None
    community = session.get(Community, job.community_id)
    admins = community.admin_telegram_ids if community is not None else None
    return int(tg) if admins and int(tg) in admins else None


def job_finished(session: Session, job: Job) -> bool:
    """Queue the message for the admin who started ``job`` (just SUCCEEDED or FAILED)."""
    if job.kind not in TOLD:
        return False
    chat = _admin(session, job)
    if chat is None:
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
    language = supported(p.get(LANGUAGE))
    assert job.community_id is not None
    return enqueue_chat(
        session, job.community_id, chat, language, JOB_FINISHED, f"job-finished:{job.id}", payload
    )
