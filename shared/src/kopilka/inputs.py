"""The base of every request body model: unknown fields refused, and no boolean where a number
or an id is expected (SPEC §2).

Pydantic's lax mode reads ``true`` as 1 for an ``int`` field, so ``{"owner_id": true}`` would
book a payment for owner 1. The check looks at each field's annotation: a ``true``/``false``
given to a field (or a list item of a field) whose type does not include ``bool`` is a 400."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


def _takes_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _takes_bool(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_takes_bool(a) for a in typing.get_args(annotation))
    # free-form objects (a split) check their own values
    return origin is dict


def _item_type(annotation: Any) -> Any:
    """``list[int] | None`` -> int; None when the field is not a list."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for a in typing.get_args(annotation):
            inner = _item_type(a)
            if inner is not None:
                return inner
        return None
    if origin in (list, tuple, set, frozenset):
        args = typing.get_args(annotation)
        return args[0] if args else Any
    return None


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, info in cls.model_fields.items():
            keys = [name]
            alias = info.validation_alias
            if alias is not None:
                choices = getattr(alias, "choices", None)
                keys = [str(c) for c in choices] if choices else [str(alias)]
            for key in keys:
                if key not in data:
                    continue
                value = data[key]
                if isinstance(value, bool) and not _takes_bool(info.annotation):
                    raise ValueError(f"{key}: {str(value).lower()} is not a number or an id")
                item = _item_type(info.annotation)
                if (
                    isinstance(value, list)
                    and item is not None
                    and not _takes_bool(item)
                    and any(isinstance(v, bool) for v in value)
                ):
                    raise ValueError(f"{key}: a list of numbers may not hold true or false")
        return data
