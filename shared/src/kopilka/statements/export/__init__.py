"""Statement exports (SPEC §4a ``?format=csv|xlsx|pdf``): pure renderers from schema to bytes.

- CSV: UTF-8 with a BOM (so Excel opens Cyrillic right), plain decimal strings ("500.00") as the
  API gives them, text cells guarded against spreadsheet formula injection.
- XLSX: amounts are numeric cells holding the exact Decimal, formatted with the currency's
  decimals ("#,##0.00" for RUB, "#,##0" for JPY); dates are date cells; times are UTC.
- PDF: A4, a TrueType font with Cyrillic (DejaVu Sans, Debian package ``fonts-dejavu-core``);
  without it, a core font and transliterated text, so the export degrades but never fails.

One module per format (``csv``, ``xlsx``, ``pdf``) on ``common``; this package picks the
renderer of a format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kopilka.errors import ValidationFailed
from kopilka.i18n import language
from kopilka.statements.export.common import (
    FORMATS,
    MEDIA_TYPES,
    export_filename,
    transliterate,
)
from kopilka.statements.export.csv import owner_statement_csv, period_statement_csv
from kopilka.statements.export.pdf import (
    owner_statement_pdf,
    period_statement_pdf,
    unicode_font_files,
)
from kopilka.statements.export.xlsx import owner_statement_xlsx, period_statement_xlsx
from kopilka.statements.schemas import OwnerStatementOut, PeriodStatementOut

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "export_filename",
    "owner_statement_csv",
    "owner_statement_pdf",
    "owner_statement_xlsx",
    "period_statement_csv",
    "period_statement_pdf",
    "period_statement_xlsx",
    "render_owner_statement",
    "render_period_statement",
    "transliterate",
    "unicode_font_files",
]

_OWNER_RENDERERS: dict[str, Callable[[OwnerStatementOut], bytes]] = {
    "csv": owner_statement_csv,
    "xlsx": owner_statement_xlsx,
    "pdf": owner_statement_pdf,
}
_PERIOD_RENDERERS: dict[str, Callable[[PeriodStatementOut], bytes]] = {
    "csv": period_statement_csv,
    "xlsx": period_statement_xlsx,
    "pdf": period_statement_pdf,
}


def _renderer(table: dict[str, Any], fmt: str) -> Any:
    try:
        return table[fmt]
    except KeyError:
        raise ValidationFailed(
            f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}"
        ) from None


def render_owner_statement(s: OwnerStatementOut, fmt: str, lang: str | None = None) -> bytes:
    """The owner's statement in ``fmt`` ("csv", "xlsx" or "pdf"), its words in ``lang`` (the
    owner's language, else the community's; English when None)."""
    renderer: Callable[[OwnerStatementOut], bytes] = _renderer(_OWNER_RENDERERS, fmt)
    with language(lang):
        return renderer(s)


def render_period_statement(s: PeriodStatementOut, fmt: str, lang: str | None = None) -> bytes:
    """The period's statement in ``fmt`` ("csv", "xlsx" or "pdf"), in ``lang`` (the community's)."""
    renderer: Callable[[PeriodStatementOut], bytes] = _renderer(_PERIOD_RENDERERS, fmt)
    with language(lang):
        return renderer(s)
