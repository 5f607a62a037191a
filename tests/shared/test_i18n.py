"""The server's catalogues (kopilka/i18n/catalogues): both languages have every key with the same
placeholders, every text the code asks for exists, and the language rule of SPEC §8."""

from __future__ import annotations

import re
from pathlib import Path

from kopilka import i18n

SRC = Path(i18n.__file__).resolve().parents[1]
SERVICES = SRC.parents[2] / "services"


def _placeholders(value: object) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {m for t in texts for m in re.findall(r"\{(\w+)\}", str(t))}


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    en, ru = i18n.catalogue("en"), i18n.catalogue("ru")
    assert sorted(set(en) ^ set(ru)) == []
    for key in en:
        assert _placeholders(en[key]) == _placeholders(ru[key]) == _placeholders(key), key
        if isinstance(ru[key], dict):
            assert set(ru[key]) == {"one", "few", "many", "other"}, key
            assert set(en[key]) == {"one", "other"}, key


def test_every_text_the_code_asks_for_is_in_the_catalogues() -> None:
    keys = set(i18n.catalogue("en"))
    code = "\n".join(
        p.read_text(encoding="utf-8") for root in (SRC, SERVICES) for p in root.rglob("*.py")
    )
    asked = set(re.findall(r'\b_\(\s*"((?:[^"\\]|\\.)*)"\s*[,)]', code))
    asked |= set(re.findall(r'\b(?:t|plural)\(\s*\w+,\s*"((?:[^"\\]|\\.)*)"', code))
    assert len(asked) > 40
    assert sorted(asked - keys) == []


def test_the_language_rule() -> None:
    assert i18n.resolve("ru-RU", "en", "en") == "ru"
    assert i18n.resolve("de", "en", "ru") == "en"
    assert i18n.resolve(None, None, "ru") == "ru"
    assert i18n.resolve(None, None, None) == "en"
    assert i18n.t("ru", "Owner {id}", id=7) == "Собственник 7"
    assert i18n.t("xx", "Owner {id}", id=7) == "Owner 7"
    assert i18n.money(100000, "RUB", "ru") == "1\u00a0000,00\u00a0₽"
