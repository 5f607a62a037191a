"""The words of the outbox, shared by everyone who writes or reads a notification row."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where a notification row stands. PENDING rows are due at ``next_attempt_at``; a claimed
    row stays PENDING under a lease until its outcome is recorded."""

    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"  # Telegram refused it, or transient failures exhausted the attempts
    SKIPPED = "SKIPPED"  # the owner is unreachable (no chat, blocked the bot), or outcome unknown


class Kind(StrEnum):
    """What a message says; the bot has a text for each."""

    RECEIPT = "contribution_receipt"
    PERIOD_CLOSED = "period_closed"
    OPENING_BALANCE = "opening_balance"
    DEBT_REMINDER = "debt_reminder"
    LINKED = "linked"
    READING_REMINDER = "reading_reminder"  # kopilka.plots.reminders
