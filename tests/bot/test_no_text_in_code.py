"""The bot says nothing that is not in the server's catalogues (issue 16: "no hard-coded
user-visible strings outside the translation catalogues"): every string literal in the bot's
code that reads like words, or holds a Russian letter, is a catalogue key (the argument of
``t()``/``plural()``), a docstring, a log event, or one of the few operator texts listed here."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import kopilka_bot
from kopilka import i18n
from kopilka_bot import texts

BOT = Path(kopilka_bot.__file__).resolve().parent
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
WORDS = re.compile(r"[A-Za-z]{2,}[ ,;:.!?]+[a-z]{2,}[ ,;:.!?]+[a-z]{2,}")
KEYED = {"t", "_", "plural"}
NOT_FOR_USERS = {"info", "warning", "exception", "error", "debug", "get_logger"}
# operator texts: the dry run's log line, the outbox's own error column, exceptions
OPERATOR = (
    "TELEGRAM_BOT_TOKEN is not set",
    "sender not idle after ",
    "outcome unknown: an earlier send may have arrived",
    "no text for notification kind ",
)


def _words_in_code(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            allowed.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name in KEYED:
                allowed.update(id(a) for a in node.args[:2])
            elif name in NOT_FOR_USERS or name.endswith(("Error", "Kind")):
                allowed.update(id(a) for a in node.args)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in allowed
        ):
            value = node.value
            if (CYRILLIC.search(value) or WORDS.search(value)) and not value.startswith(OPERATOR):
                found.append(f"{path.name}:{node.lineno}: {value[:60]!r}")
    return found


def test_the_bot_has_no_words_outside_the_catalogues() -> None:
    found = [w for p in sorted(BOT.rglob("*.py")) for w in _words_in_code(p)]
    assert found == []


def test_the_bot_words_come_from_the_catalogues() -> None:
    """Every reply is the catalogue's, in both languages (a key missing in Russian would fall
    back to English: the Russian texts would then equal the English ones)."""
    en, ru = i18n.catalogue("en"), i18n.catalogue("ru")
    for lang in ("en", "ru"):
        for out in (
            texts.help_text(lang),
            texts.not_linked_text(lang),
            texts.link_failed_text(lang),
            texts.sorry_text(lang),
            texts.app_button_label(lang),
        ):
            assert out
    assert texts.help_text("ru") != texts.help_text("en")
    assert (
        texts.sorry_text("ru")
        == ru["Something went wrong on our side; please try again in a minute."]
    )
    assert texts.app_button_label("en") == en["Open Kopilka"] == "Open Kopilka"
    assert dict(texts.commands("ru"))["balance"] == "Ваш баланс в текущем периоде"
    assert texts.meter_type_name("WATER", "ru") == "вода"
    assert texts.meter_type_name("STEAM", "ru") == "steam"
