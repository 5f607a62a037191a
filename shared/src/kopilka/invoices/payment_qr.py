"""The payment QR code on an invoice: GOST R 56042-2014 ("ST00012|Name=…|PersonalAcc=…"), the
format every Russian bank's app reads when an owner scans it (SPEC §4b).

The purpose names the invoice ("счёт 58") and the owner's plots ("уч. 17, 18"), so the payment
that comes back in the bank's statement matches itself (``kopilka.imports.matching``: the invoice
number, then the plot). Drawn by segno (a maintained pure-Python QR library: no PIL)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from kopilka.models import Plot, PlotOwner

HEADER = "ST00012"  # format ST, version 0001, encoding 2 = UTF-8
PURPOSE_MAX = 210  # GOST R 56042-2014: Purpose is at most 210 characters
REQUIRED = ("recipient", "account", "bank_name", "bic", "corr_account")


def _field(value: str) -> str:
    """A value may not hold the separator; line breaks become spaces."""
    return " ".join(str(value).replace("|", "/").split())


def purpose_text(invoice_id: int, plots: Iterable[str], owner_name: str | None = None) -> str:
    """ "Взносы по счёту 58, уч. 17, 18": what the matcher recognises on the way back."""
    numbers = sorted(set(plots), key=lambda n: (len(n), n))
    text = f"Взносы по счёту {invoice_id}"
    if numbers:
        text += f", уч. {', '.join(numbers)}"
    elif owner_name:
        text += f", {owner_name}"
    return _field(text)[:PURPOSE_MAX]


def gost_text(bank: dict[str, Any], *, sum_minor: int | None, purpose: str | None) -> str:
    """The QR's text. ``bank`` is the community's details (recipient, account, bank_name, bic,
    corr_account, inn); ``sum_minor`` is in kopecks."""
    missing = [k for k in REQUIRED if not bank.get(k)]
    if missing:
        raise ValueError(f"bank details lack {', '.join(missing)}")
    parts = [
        HEADER,
        f"Name={_field(bank['recipient'])}",
        f"PersonalAcc={bank['account']}",
        f"BankName={_field(bank['bank_name'])}",
        f"BIC={bank['bic']}",
        f"CorrespAcc={bank['corr_account']}",
    ]
    if sum_minor:
        parts.append(f"Sum={int(sum_minor)}")
    if purpose:
        parts.append(f"Purpose={_field(purpose)[:PURPOSE_MAX]}")
    if bank.get("inn"):
        parts.append(f"PayeeINN={bank['inn']}")
    return "|".join(parts)


def parse_gost(text: str) -> dict[str, str]:
    """The fields of a GOST text (for tests and for reading a scanned code)."""
    head, *fields = text.split("|")
    if head != HEADER:
        raise ValueError(f"not a GOST R 56042 payment code ({head!r})")
    return dict(f.split("=", 1) for f in fields)


def _qr(text: str) -> Any:
    return segno.make(text, encoding="utf-8", error="m", micro=False)


def png(text: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    _qr(text).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def svg(text: str, scale: int = 4) -> str:
    out = io.BytesIO()
    _qr(text).save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def owner_plots(session: Session, owner_pks: Iterable[int]) -> dict[int, list[str]]:
    """Each owner's active plot numbers."""
    out: dict[int, list[str]] = {}
    pks = list(set(owner_pks))
    if not pks:
        return out
    rows = session.execute(
        select(PlotOwner.owner_pk, Plot.number)
        .join(Plot, Plot.id == PlotOwner.plot_id)
        .where(PlotOwner.owner_pk.in_(pks), Plot.is_active.is_(True))
        .order_by(Plot.number)
    )
    for pk, number in rows:
        out.setdefault(pk, []).append(number)
    return out


def invoice_qr_text(
    bank: dict[str, Any] | None,
    *,
    invoice_id: int,
    pending_minor: int,
    plots: Iterable[str],
    owner_name: str | None,
) -> str | None:
    """The QR text of an invoice with something to pay, when the community keeps bank
    details; else None."""
    if not bank or pending_minor <= 0:
        return None
    return gost_text(
        bank, sum_minor=pending_minor, purpose=purpose_text(invoice_id, plots, owner_name)
    )
