"""The server's translations: statements (PDF, XLSX, CSV) and the bot's admin messages, in
Russian and English (the Mini App has its own catalogues in ``services/api/miniapp/src/i18n``).

Catalogues are ``catalogues/<lang>.json``, keyed gettext-style by the English text (so the code
reads as English and a missing translation falls back to it).
``tests/shared/i18n/test_catalogues.py`` fails when a language lacks a key, a placeholder
differs, or code asks for a text that is not in the catalogues.

The language of a person: their Telegram ``language_code`` when we speak it, else the owner's
``language``, else the community's ``language`` (SPEC §8). Amounts, dates and plurals are
formatted by Babel for the language.
"""

from __future__ import annotations

import json
import re
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


def day(value: date, lang: str | None = None, fmt: str = "long") -> str:
    """ "5 ноября 2025 г." / "5 November 2025" (``fmt``: a Babel date format)."""
    return str(format_date(value, fmt, locale=supported(lang) or current()))


# ---------------------------------------------------------------- the server's sentences

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
PARTS = "; "  # several reasons in one sentence: each is translated on its own
# the placeholders whose values are sentences too ("... is CLOSED: {rule}"); every other value is
# a name, a number or a date, and stays as it is (a period named "Open" stays "Open")
SENTENCE_PARAMS = frozenset({"rule", "reason", "note", "meters"})


@cache
def _templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The catalogue's keys with placeholders, as patterns that recognise a filled-in text
    (the longest first: the most specific wins)."""
    found = []
    for key, value in catalogue(DEFAULT).items():
        if not isinstance(value, str) or not _PLACEHOLDER.search(key):
            continue
        pattern, at, seen = "", 0, set[str]()
        for m in _PLACEHOLDER.finditer(key):
            name = m.group(1)
            value = ".+?" if name in SENTENCE_PARAMS else "(?:(?!; ).)+?"  # a name: one part
            group = f"(?P={name})" if name in seen else f"(?P<{name}>{value})"
            pattern += re.escape(key[at : m.start()]) + group
            at, seen = m.end(), seen | {name}
        found.append((re.compile(pattern + re.escape(key[at:]) + r"\Z", re.S), key))
    found.sort(key=lambda item: -len(item[1]))
    return tuple(found)


def _sentence(text: str, words: dict[str, Any]) -> str | None:
    if isinstance(words.get(text), str):
        return str(words[text])
    for pattern, key in _templates():
        m = pattern.match(text)
        if m is not None:
            params = {
                k: _translated(v, words) if k in SENTENCE_PARAMS else v
                for k, v in m.groupdict().items()
            }
            return str(words.get(key, key)).format(**params)
    return None


def _translated(text: str, words: dict[str, Any]) -> str:
    whole = _sentence(text, words)
    if whole is not None:
        return whole
    if PARTS not in text:
        return text
    return PARTS.join(_sentence(part, words) or part for part in text.split(PARTS))


def translate(text: str, lang: str | None = None) -> str:
    """A sentence the server wrote in English (an error's detail, a job's failure, a bank line's
    reason, an expense's unallocated reason), said in ``lang`` (default: the current language).

    Server sentences are catalogue keys, filled in when they have placeholders ("Period 7 is
    closed" is "Period {id} is closed"): the stored or raised text stays English (logs, API-key
    clients) and is translated where a person reads it, by the request's or the chat's language.
    A text the catalogues do not know is returned as it is."""
    chosen = supported(lang) or current()
    if chosen == DEFAULT or not text:
        return text
    return _translated(text, catalogue(chosen))
