"""The Mini App's translation catalogues (services/api/miniapp/src/i18n/<lang>/*.json): every
language has every key, with the same placeholders and the plural forms its language needs; every
key the code uses exists; and no user-visible text is written into the screens themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

MINIAPP = Path(__file__).resolve().parents[3] / "services" / "api" / "miniapp" / "src"
I18N = MINIAPP / "i18n"
LANGUAGES = ("en", "ru")
PLURALS = {"en": {"one", "other"}, "ru": {"one", "few", "many", "other"}}


def catalogue(lang: str) -> dict[str, object]:
    merged: dict[str, object] = {}
    for f in sorted((I18N / lang).glob("*.json")):
        for key, value in json.loads(f.read_text(encoding="utf-8")).items():
            assert key not in merged, f"{lang}/{f.name}: {key} defined twice"
            merged[key] = value
    return merged


def placeholders(value: object) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {m for t in texts for m in re.findall(r"\{(\w+)\}", str(t))}


def sources() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in MINIAPP.rglob("*.ts*"))


def test_every_language_has_the_same_files_and_keys() -> None:
    files = {lang: sorted(p.name for p in (I18N / lang).glob("*.json")) for lang in LANGUAGES}
    assert files["en"] == files["ru"], files
    cats = {lang: catalogue(lang) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            missing = sorted(set(cats[other]) - set(cats[lang]))
            assert not missing, f"{lang} lacks {missing}"
    for key, en in cats["en"].items():
        ru = cats["ru"][key]
        assert placeholders(en) == placeholders(ru), key
        assert isinstance(en, dict) == isinstance(ru, dict), f"{key}: plural in one language only"
        for lang, value in (("en", en), ("ru", ru)):
            if isinstance(value, dict):
                assert set(value) == PLURALS[lang], f"{lang} {key}: forms {sorted(value)}"
            else:
                assert isinstance(value, str) and value.strip(), f"{lang} {key} is empty"


def test_every_key_the_code_uses_exists() -> None:
    keys = set(catalogue("en"))
    code = sources()
    used = set(re.findall(r"""\b(?:t|plural)\(\s*"([a-z0-9_.]+)"\s*[,)]""", code))
    # keys chosen in a ternary: t(cond ? "a.b" : "c.d")
    for expr in re.findall(r"\bt\(([^()]*\?[^()]*)\)", code):
        used |= set(re.findall(r'"([a-z0-9_]+\.[a-z0-9_.]+)"', expr))
    missing = sorted(k for k in used if k not in keys and not k.endswith("."))
    assert not missing, f"used but not in the catalogues: {missing}"
    # keys built from a prefix: t("period.status." + p.status) needs some "period.status.*"
    for prefix in set(re.findall(r"""\bt\(\s*"([a-z0-9_.]+\.)"\s*\+""", code)):
        assert any(k.startswith(prefix) for k in keys), prefix
    assert len(used) > 100


def test_no_user_visible_text_outside_the_catalogues() -> None:
    """Text between JSX tags, and aria-label/placeholder/title/alt literals, must come from t()."""
    offenders = []
    for path in MINIAPP.rglob("*.tsx"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r">([^<>{}]*[A-Za-zА-Яа-яЁё][^<>{}]*)<", text):
            fragment = m.group(1).strip()
            # code, not text: generics (Promise<T>), comparisons (a > 0 ? ...), member access
            if fragment and not re.search(r"""[=;()&|?".]|^Promise$""", fragment):
                offenders.append(f"{path.name}: {fragment!r}")
        for m in re.finditer(
            r'\b(aria-label|placeholder|title|alt)="([^"]*[A-Za-zА-Яа-я][^"]*)"', text
        ):
            offenders.append(f"{path.name}: {m.group(0)}")
    assert offenders == []


def test_the_catalogue_check_fails_on_a_missing_key(tmp_path: Path, monkeypatch) -> None:
    """The check itself can fail: drop one Russian key and it says which."""
    import shutil

    copy = tmp_path / "i18n"
    shutil.copytree(I18N, copy)
    ru = copy / "ru" / "common.json"
    data = json.loads(ru.read_text(encoding="utf-8"))
    data.pop("action.save")
    ru.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    import sys

    monkeypatch.setattr(sys.modules[__name__], "I18N", copy)
    try:
        test_every_language_has_the_same_files_and_keys()
    except AssertionError as e:
        assert "action.save" in str(e)
    else:
        raise AssertionError("a missing key went unnoticed")
