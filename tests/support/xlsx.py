"""Reading an exported XLSX back: its rows, and amounts as exact decimals."""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook


def sheet_rows(content: bytes, sheet: str) -> list[list[Any]]:
    """The values of every row of one sheet of the workbook."""
    return [
        list(row) for row in load_workbook(io.BytesIO(content))[sheet].iter_rows(values_only=True)
    ]


def money(value: object) -> Decimal:
    """A cell's amount to the cent: the cell is a number, never text."""
    assert isinstance(value, int | float | Decimal), value
    return Decimal(str(value)).quantize(Decimal("0.01"))


def amounts(values: Iterable[object]) -> list[Decimal]:
    return [money(v) for v in values]


def decimals(*texts: str) -> list[Decimal]:
    return [Decimal(t) for t in texts]
