"""The outbox's lifecycle: how a notification row travels from PENDING to SENT, FAILED or SKIPPED.

1. **Claim** (one short transaction): rows whose owner is no longer reachable (no chat, or the
   owner blocked the bot) become SKIPPED; then up to ``limit`` due PENDING rows are locked
   ``FOR UPDATE SKIP LOCKED`` and *leased*: ``next_attempt_at`` moves ``lease_seconds`` into the
   future, ``attempts`` goes up by one (the attempt number is the lease's fencing token) and
   ``chat_id`` is fixed. The transaction commits at once: no lock is held while sending. Only the
   oldest PENDING row of each chat is a candidate, so a chat's messages go out in order, one at a
   time, across any number of senders (a leased or backing-off row holds back its chat's later
   rows).
2. **In flight** (fenced on the attempt number): ``error`` says that a send is starting and the
   lease is renewed. A row whose lease was taken over by another claimer is dropped here, before
   anything is sent; a row still "in flight" when claimed again had an unknown outcome.
3. **Sent**: SENT with ``sent_at``, ``chat_id`` and the Telegram message id. Not fenced: whoever
   sent the message records it, which also stops a later claimer at its step 2.
4. Or: **release** (back to PENDING after a delay, the attempt not counted: nothing of it reached
   Telegram), **retry** (a transient failure: backoff, FAILED after ``max_attempts``), **fail**,
   **skip**, **blocked** (the user blocked the bot: every owner with that chat becomes unreachable,
   audited through ``kopilka.audit``, and their PENDING rows are skipped).

Every step is one transaction of its own, through the engine the outbox was made with. The bot
(``kopilka_bot.sender``) drives it: Telegram I/O and pacing are the bot's, the rows are ours."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kopilka.audit.service import record
from kopilka.context import Actor, Ctx
from kopilka.db import session_factory
from kopilka.notifications import queries as q

IN_FLIGHT = "in flight: sendMessage started"
ERROR_MAX = 500


def _err(error: str) -> str:
    return error[:ERROR_MAX]


@dataclass
class Claimed:
    """A leased notification row, with what rendering and sending it needs."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int  # attempts after this claim: the lease's fencing token
    chat_id: int
    language: str | None  # the owner's, else the community's (SPEC §8)
    community: str
    previous_error: str | None = None
    owner_pk: int | None = None  # whose message it is (the close message's payment QR)

    @property
    def outcome_unknown(self) -> bool:
        """An earlier attempt started sending and never recorded how it ended."""
        return bool(self.previous_error and self.previous_error.startswith(IN_FLIGHT))


@dataclass(frozen=True)
class Waiting:
    """A PENDING row as the dry run shows it."""

    id: int
    kind: str
    payload: dict[str, Any]
    chat_id: int | None
    language: str | None
    community: str


class Outbox:
    """The lifecycle of notification rows, for one sender.

    ``communities`` restricts it to some communities (tests, sharding); None is all."""

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        lease_seconds: float = 120.0,
        max_attempts: int = 12,
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        communities: Sequence[int] | None = None,
    ) -> None:
        self._sessions: sessionmaker[Session] = session_factory(engine)
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.communities = list(communities) if communities is not None else None

    def _execute(self, statement: Any, params: dict[str, Any]) -> int:
        with self._sessions() as session, session.begin():
            result: Any = session.execute(statement, params)
            return int(result.rowcount or 0)

    def _scope(self) -> dict[str, Any]:
        return {} if self.communities is None else {"communities": self.communities}

    def backoff(self, attempt: int) -> float:
        """Seconds before a row that failed transiently is tried again (with jitter)."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempt - 1))
        return float(delay * random.uniform(0.8, 1.2))

    # ------------------------------------------------------------ steps

    def claim(self, limit: int) -> list[Claimed]:
        scoped, params = self.communities is not None, self._scope()
        with self._sessions() as session, session.begin():
            session.execute(q.skip_unreachable(scoped), params)
            result = session.execute(
                q.claim(scoped), {**params, "limit": limit, "lease": self.lease_seconds}
            )
            rows = [
                Claimed(
                    id=r[0],
                    kind=r[1],
                    payload=dict(r[2] or {}),
                    attempt=r[3],
                    chat_id=r[4],
                    language=r[5],
                    community=r[6],
                    previous_error=r[7],
                    owner_pk=r[8],
                )
                for r in result
            ]
        rows.sort(key=lambda r: r.id)
        return rows

    def due_count(self, horizon: float = 0.0) -> int:
        """PENDING rows due within ``horizon`` seconds."""
        with self._sessions() as session:
            found = session.execute(
                q.due_count(self.communities is not None), {**self._scope(), "horizon": horizon}
            ).scalar_one()
        return int(found)

    def mark_in_flight(self, row: Claimed) -> bool:
        """False: the lease was lost (another claimer has the row); do not send."""
        marker = f"{IN_FLIGHT} at {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}"
        params = {"row_id": row.id, "attempt": row.attempt, "marker": marker}
        return bool(self._execute(q.MARK_IN_FLIGHT, {**params, "lease": self.lease_seconds}))

    def sent(self, row: Claimed, message_id: int) -> bool:
        """False: the row was already SENT (by another sender)."""
        params = {"row_id": row.id, "chat": row.chat_id, "mid": message_id}
        return bool(self._execute(q.SENT, params))

    def release(self, row: Claimed, delay: float, error: str | None) -> None:
        """Back to PENDING, due after ``delay``, the attempt not counted (it never failed),
        ``error`` replacing the "in flight" mark (nothing of this attempt reached Telegram)."""
        params = {"row_id": row.id, "attempt": row.attempt, "delay": delay}
        self._execute(q.RELEASE, {**params, "reason": None if error is None else _err(error)})

    def retry(self, row: Claimed, error: str) -> bool:
        """A transient failure: try again after a backoff, or give up (FAILED) after
        ``max_attempts``. True when it gave up."""
        final = row.attempt >= self.max_attempts
        params = {"row_id": row.id, "attempt": row.attempt, "final": final, "reason": _err(error)}
        self._execute(q.RETRY, {**params, "delay": self.backoff(row.attempt)})
        return final

    def fail(self, row: Claimed, error: str) -> None:
        self._execute(q.FAIL, {"row_id": row.id, "attempt": row.attempt, "reason": _err(error)})

    def skip(self, row: Claimed, error: str) -> None:
        self._execute(q.SKIP, {"row_id": row.id, "attempt": row.attempt, "reason": _err(error)})

    def blocked(self, row: Claimed, error: str) -> None:
        """The user blocked the bot: every owner with this chat becomes unreachable (audited),
        and their pending messages are skipped."""
        error = _err(error)
        with self._sessions() as session, session.begin():
            owners = session.execute(q.BLOCK_OWNERS, {"chat": row.chat_id}).all()
            for community_id, owner_id, blocked_at in owners:
                record(
                    Ctx(session, Actor.system("bot", community_id)),
                    "owner.telegram_blocked",
                    "owner",
                    owner_id,
                    after={"telegram_blocked_at": blocked_at.isoformat(), "reason": error},
                )
            session.execute(q.SKIP_CHAT, {"chat": row.chat_id, "reason": error})
            session.execute(q.SKIP_ROW, {"row_id": row.id, "reason": error})

    def waiting(self, after: int, limit: int = 500) -> list[Waiting]:
        """PENDING rows after id ``after``, oldest first (the dry run; changes nothing)."""
        with self._sessions() as session:
            result = session.execute(q.WAITING, {"after": after, "limit": limit})
            return [Waiting(r[0], r[1], dict(r[2] or {}), r[3], r[4], r[5]) for r in result]
