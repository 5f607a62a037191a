"""The server's catalogues (kopilka/i18n/catalogues): both languages have every key with the same
placeholders, every text the code asks for exists, and the language rule of SPEC §8."""

from __future__ import annotations

import re
from datetime import date
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


def test_the_server_sentences_are_said_in_russian() -> None:
    """Issue 16: the server's English reasons (a bank line's, an unallocated expense's, a job's
    failure, an error's detail) are catalogue keys, filled in; a person reads them in their
    language (the bot through ``translate``, the Mini App through ``serverText`` with the same
    catalogue). Names and numbers inside stay as they are; a text it does not know stays too."""
    from kopilka.imports.matching import Directory, match_credit
    from kopilka.imports.parsers.common import StatementLine

    line = StatementLine(1, "CREDIT", 100, date(2025, 11, 3), purpose="взнос")
    note = match_credit(line, Directory()).note
    assert note == "no rule, plot or owner's name matches"
    assert i18n.translate(note, "ru") == "не подошли ни правило, ни участок, ни имя собственника"
    assert i18n.translate(note, "en") == note

    said = {
        "plot 12, 14 has 2 owners; 3 owners are named Open": (
            "у участка 12, 14 несколько собственников (2); "
            "Open: так зовут нескольких собственников (3)"
        ),
        "zero total consumption of WATER": "нулевой общий расход по счётчикам WATER",
        "Period 'Ноябрь' (id 5) is CLOSED: only an OPEN period accepts new or edited "
        "transactions": "Период «Ноябрь» (id 5) в статусе CLOSED: записи можно добавлять и "
        "менять только в открытом периоде",
        "Cannot close: water is billed by W meters and 2 of them lack a reading for 'Ноябрь': "
        "plot 1 (Анна), meter W-1; plot 2 (4), meter W-2. Record the readings, or an admin "
        'records an "estimated": true reading': "Нельзя закрыть период: «water» начисляется по "
        "счётчикам W, и у 2 из них нет показаний за «Ноябрь»: участок 1 (Анна), счётчик W-1; "
        'участок 2 (4), счётчик W-2. Внесите показания или запишите расчётные ("estimated": '
        "true)",
        "Something we never said; plot 3 has no owner": (
            "Something we never said; у участка 3 нет собственника"
        ),
    }
    for english, russian in said.items():
        assert i18n.translate(english, "ru") == russian
    with i18n.language("ru"):
        assert i18n.translate("Owner 7 not found") == "Собственник 7 не найден"
