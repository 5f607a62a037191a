"""The community's reading window: the days of the month on which owners send readings."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from kopilka.errors import ValidationFailed
from kopilka.plots.schemas import ReadingWindow

EXAMPLE = '{"from_day": 20, "to_day": 25}'


def check_window(raw: dict[str, Any] | None) -> dict[str, int] | None:
    """The reading window as stored, validated (400); None: owners may send readings any day."""
    if raw is None:
        return None
    try:
        w = ReadingWindow.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise ValidationFailed(
            f"reading_window: {where}: {first['msg']}; expected {EXAMPLE} (days 1-31)"
        ) from None
    return {"from_day": w.from_day, "to_day": w.to_day}


def in_window(window: dict[str, Any] | None, day: date) -> bool:
    """Whether ``day`` lies in the window (inclusive). A window whose from_day is after its
    to_day runs over the month's end (28 to 3); a to_day past the month's last day means the
    last day."""
    if not window:
        return True
    lo, hi = int(window["from_day"]), int(window["to_day"])
    d = day.day
    return lo <= d <= hi if lo <= hi else (d >= lo or d <= hi)
