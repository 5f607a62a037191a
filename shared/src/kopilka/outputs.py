"""Answers built from rows: an answer model's fields read from a row's attributes of the same
names (pydantic validates them as it would keyword arguments)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

Out = TypeVar("Out", bound=BaseModel)


def from_row(model: type[Out], row: Any, **fields: Any) -> Out:
    """``model`` with each field read from ``row``'s attribute of the same name, except the
    ``fields`` given (renamed or computed ones)."""
    named = {name: getattr(row, name) for name in model.model_fields if name not in fields}
    return model(**named, **fields)
