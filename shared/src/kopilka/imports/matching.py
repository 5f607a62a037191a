"""Who paid: matching a statement line to an owner (SPEC §4b). Pure: the community's rules,
plots, owners' names and invoices come in as a ``Directory``; no I/O.

Order: a remembered rule (the payer's account or tax id); the invoice number of our own payment
QR ("счёт 58"); a plot number in the purpose text ("уч. 17", "участок № 17", "plot 17", "№17")
whose plots have exactly one owner between them; the payer's name equal to exactly one owner's
name (case-insensitive, ё = е). Anything else is UNMATCHED, with the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kopilka.imports.parsers.common import CREDIT, StatementLine

RULE, INVOICE, PLOT, NAME, ASSIGNED = "RULE", "INVOICE", "PLOT", "NAME", "ASSIGNED"


def name_key(name: str | None) -> str:
    """A person's name for comparison: case-folded, ё = е, quotes and punctuation dropped,
    whitespace collapsed."""
    if not name:
        return ""
    text = name.casefold().replace("ё", "е")
    text = re.sub(r"[\"'«»“”„.,]", " ", text)
    return " ".join(text.split())


_LATIN_LOOKALIKES = str.maketrans({"a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е"})


def plot_key(number: str) -> str:
    """A plot number for comparison: "17А", "17 а" and "17a" are the same plot."""
    return re.sub(r"[\s\-]", "", number.casefold()).translate(_LATIN_LOOKALIKES)


_NUM = r"\d{1,5}[а-яёa-z]?(?![\dа-яёa-z])"
_PLOTS = re.compile(
    r"(?:\bуч(?:асток|астка|астке|астку|-к|-ка)?\.?|\bplots?|\bучастки|№)\s*"
    r"(?:№|no\.?|#)?\s*"
    rf"({_NUM}(?:\s*(?:,|и|and|&|/)\s*{_NUM})*)",
    re.IGNORECASE,
)
_INVOICE = re.compile(
    r"(?:\bсч[её]т[ауе]?|\binvoice)\s*(?:№|no\.?|#)?\s*(\d{1,9})(?!\d)", re.IGNORECASE
)


def invoice_numbers(purpose: str | None) -> list[int]:
    return [int(m.group(1)) for m in _INVOICE.finditer(purpose or "")]


def plot_numbers(purpose: str | None) -> list[str]:
    """The plot numbers a purpose text names (invoice numbers are not plots)."""
    text = _INVOICE.sub(" ", purpose or "")
    out: list[str] = []
    for m in _PLOTS.finditer(text):
        for part in re.split(r"\s*(?:,|\bи\b|\band\b|&|/)\s*", m.group(1), flags=re.IGNORECASE):
            key = plot_key(part)
            if key and key not in out:
                out.append(key)
    return out


@dataclass
class Directory:
    """What the community knows, for matching."""

    owner_by_account: dict[str, int] = field(default_factory=dict)
    owner_by_inn: dict[str, int] = field(default_factory=dict)
    type_by_account: dict[str, str] = field(default_factory=dict)
    type_by_inn: dict[str, str] = field(default_factory=dict)
    plot_owners: dict[str, frozenset[int]] = field(default_factory=dict)
    owners_by_name: dict[str, set[int]] = field(default_factory=dict)
    invoice_owner: dict[int, int] = field(default_factory=dict)

    def add_owner_name(self, owner_pk: int, name: str | None) -> None:
        key = name_key(name)
        if key:
            self.owners_by_name.setdefault(key, set()).add(owner_pk)


@dataclass(frozen=True)
class Match:
    owner_pk: int | None
    by: str | None
    note: str | None = None


def match_credit(line: StatementLine, d: Directory) -> Match:
    account, inn = line.counterparty_account, line.counterparty_inn
    if account and account in d.owner_by_account:
        return Match(d.owner_by_account[account], RULE)
    if inn and inn in d.owner_by_inn:
        return Match(d.owner_by_inn[inn], RULE)
    invoiced = {d.invoice_owner[n] for n in invoice_numbers(line.purpose) if n in d.invoice_owner}
    if len(invoiced) == 1:
        return Match(next(iter(invoiced)), INVOICE)
    notes = []
    plots = [p for p in plot_numbers(line.purpose) if p in d.plot_owners]
    if plots:
        owners = frozenset().union(*(d.plot_owners[p] for p in plots))
        if len(owners) == 1:
            return Match(next(iter(owners)), PLOT)
        notes.append(
            f"plot {', '.join(plots)} has {len(owners)} owners"
            if owners
            else f"plot {', '.join(plots)} has no owner"
        )
    named = d.owners_by_name.get(name_key(line.counterparty_name), set())
    if len(named) == 1:
        return Match(next(iter(named)), NAME)
    if len(named) > 1:
        notes.append(f"{len(named)} owners are named {line.counterparty_name}")
    return Match(None, None, "; ".join(notes) or "no rule, plot or owner's name matches")


def match_debit(line: StatementLine, d: Directory) -> str | None:
    """The payment_type a rule names for the recipient of the fund's payment, else None."""
    account, inn = line.counterparty_account, line.counterparty_inn
    if account and account in d.type_by_account:
        return d.type_by_account[account]
    if inn and inn in d.type_by_inn:
        return d.type_by_inn[inn]
    return None


def match(line: StatementLine, d: Directory) -> Match:
    if line.direction == CREDIT:
        return match_credit(line, d)
    payment_type = match_debit(line, d)
    return Match(None, RULE if payment_type else None, payment_type)
