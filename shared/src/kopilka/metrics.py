"""Prometheus metrics of the shared package (the worker's and the scheduler's); the API's own
request metrics live in its middleware."""

from __future__ import annotations

from prometheus_client import Counter

SCHEDULED_STEP_FAILURES = Counter(
    "kopilka_scheduled_step_failures_total",
    "Scheduled steps (per community: recurring charges and expenses, rollover, debt reminders) "
    "that failed; each failure is also a FAILED job of its community",
    ["step"],
)

TOTALS_DRIFTS = Counter(
    "kopilka_totals_drift_total",
    "Differences found between the maintained totals (owner_period_totals, "
    "period_expense_totals) and the rows they sum; each is an alarm, never repaired",
    ["table"],
)
