"""The server's translations: statements (PDF, XLSX, CSV) and the bot's admin messages, in
Russian and English (the Mini App has its own catalogues in ``services/api/miniapp/src/i18n``).

Catalogues are ``catalogues/<lang>.json``, keyed gettext-style by the English text (so the code
reads as English and a missing translation falls back to it). ``tests/shared/test_i18n.py`` fails
when a language lacks a key, a placeholder differs, or code asks for a text that is not in the
catalogues.

The language of a person: their Telegram ``language_code`` when we speak it, else the owner's
``language``, else the community's ``language`` (SPEC §8). Amounts, dates and plurals are
formatted by Babel for the language.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date

from kopilka.money import human

LANGUAGES = ("ru", "en")
DEFAULT = "en"
_CATALOGUES = Path(__file__).resolve().parent / "catalogues"
_current: ContextVar[str] = ContextVar("kopilka_language", default=DEFAULT)


def supported(code: str | None) -> str | None:
    """Our language for a Telegram ``language_code`` or a stored one ("ru-RU" -> "ru"), or None."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in LANGUAGES else None


def resolve(
    telegram_code: str | None = None,
    owner_language: str | None = None,
    community_language: str | None = None,
) -> str:
    """The language to speak to someone (SPEC §8)."""
    return (
        supported(telegram_code)
        or supported(owner_language)
        or supported(community_language)
        or DEFAULT
    )


@cache
def catalogue(lang: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_CATALOGUES / f"{lang}.json").read_text(encoding="utf-8"))
    return data


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Speak ``lang`` (anything we do not speak: English) inside the block."""
    chosen = supported(lang) or DEFAULT
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


def _(text: str, **params: Any) -> str:
    """``text`` (the English message id) in the current language, with ``{params}`` filled in."""
    value = catalogue(current()).get(text, text)
    if not isinstance(value, str):
        raise TypeError(f"{text!r} is a plural: use plural()")
    return value.format(**params) if params else value


def t(lang: str | None, text: str, **params: Any) -> str:
    """``text`` in ``lang``."""
    with language(lang):
        return _(text, **params)


def plural(lang: str | None, text: str, n: int, **params: Any) -> str:
    """A counted phrase: plural("ru", "{n} debtors", 3) -> "3 должника"."""
    chosen = supported(lang) or DEFAULT
    forms = catalogue(chosen)[text]
    category = Locale.parse(chosen).plural_form(n)
    template = forms.get(category) or forms["other"]
    return str(template).format(n=n, **params)


def money(minor: int, currency: str, lang: str | None = None) -> str:
    """ "1 000,00 ₽" (ru), "1,000.00 RUB" (en)."""
    return human(minor, currency, supported(lang) or current())


def day(value: date, lang: str | None = None) -> str:
    """ "5 ноября 2025 г." / "5 November 2025"."""
    return str(format_date(value, "long", locale=supported(lang) or current()))
