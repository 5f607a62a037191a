"""Every sentence the server raises to a person is said in Russian (issue 16).

Walks the code of ``shared/src/kopilka`` and ``services/api/src/kopilka_api`` with ``ast`` and
collects the messages given to the error classes whose text reaches the API's ``detail`` (and a
failed job's reason): f-strings become templates, each ``{expression}`` a ``{name}`` placeholder,
the shape ``i18n.translate`` recognises. Each must come out of ``translate(..., "ru")`` changed;
the ones it leaves in English are listed. Pure: no database."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from kopilka import errors, i18n
from kopilka.imports.parsers.common import StatementError

SRC = Path(i18n.__file__).resolve().parents[1]
ROOTS = (SRC, SRC.parents[2] / "services" / "api" / "src" / "kopilka_api")

# the classes whose message a person reads (the API's problem ``detail``, a job's failure)
ERROR_CLASSES = {
    cls.__name__
    for cls in (errors.KopilkaError, *errors.KopilkaError.__subclasses__(), StatementError)
}
# StatementError(line, message): the message is the second argument, said "line {line}: ..."
MESSAGE_ARG = {"StatementError": 1}

# What no person reads, so it stays English. Kept short, each with its reason:
NOT_SEEN = {
    # the operator's API key and a client's own headers: only an API-key client (a script) sees
    "The X-API-Key is unknown or revoked",
    "Only the operator manages communities",
    "This action belongs to a community; the operator key has none",
    "X-Community-Id must be a community id (an integer)",
    "If-Match: {value} is not a version we issued",
    # a broken Telegram initData: sent by Telegram's client, not typed by a person; the Mini App
    # shows its own "open the app from Telegram" screen on 401
    "malformed initData",
}
NOT_SEEN_PREFIXES = ("malformed initData: ",)


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call | ast.Subscript):
        return _name(node.func if isinstance(node, ast.Call) else node.value)
    return "value"


def _templates(node: ast.expr | None) -> list[str] | None:
    """The texts a message expression can be, as templates; None when it is not a text."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and not isinstance(node.value, str):
        return None
    texts = []
    for parts in _alternatives(node):
        text, names = "", dict[str, str]()
        for part in parts:
            if isinstance(part, str):
                text += part
                continue
            source = ast.unparse(part)
            if source not in names:  # another expression with the same name: another placeholder
                base, n = _name(part), 2
                name = base
                while name in names.values():
                    name, n = f"{base}_{n}", n + 1
                names[source] = name
            text += "{" + names[source] + "}"
        texts.append(text)
    return texts


def _alternatives(node: ast.expr) -> list[list[str | ast.expr]]:
    """The shapes of a text expression: literal parts and the expressions between them (a
    conditional between two texts gives both shapes)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [[node.value]]
    if isinstance(node, ast.IfExp):
        body, orelse = _alternatives(node.body), _alternatives(node.orelse)
        if all(len(a) == 1 and isinstance(a[0], str) for a in body + orelse) or (
            isinstance(node.body, ast.Constant | ast.JoinedStr)
            and isinstance(node.orelse, ast.Constant | ast.JoinedStr)
        ):
            return body + orelse
        return [[node]]
    if isinstance(node, ast.JoinedStr):
        shapes: list[list[str | ast.expr]] = [[]]
        for v in node.values:
            alts = (
                [[str(v.value)]]
                if isinstance(v, ast.Constant)
                else _alternatives(v.value)
                if isinstance(v, ast.FormattedValue)
                else [[]]
            )
            shapes = [s + a for s in shapes for a in alts]
        return shapes
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _alternatives(node.left) for b in _alternatives(node.right)]
    return [[node]]  # a value: a placeholder


def _raised() -> dict[str, str]:
    """Every template given to an error class -> where (the first place it is raised)."""
    found: dict[str, str] = {}
    for root in ROOTS:
        for path in sorted(root.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                cls = _name(node.func)
                if cls not in ERROR_CLASSES:
                    continue
                at = MESSAGE_ARG.get(cls, 0)
                arg = node.args[at] if len(node.args) > at else None
                prefix = ""
                if cls == "StatementError" and not (
                    isinstance(node.args[0], ast.Constant) and node.args[0].value is None
                ):
                    prefix = "line {line}: "
                for text in _templates(arg) or []:
                    text = prefix + text
                    found.setdefault(text, f"{path.relative_to(root.parent)}:{node.lineno}")
    for text in errors.CONFLICT_CONSTRAINTS.values():
        found.setdefault(text, "kopilka/errors.py CONFLICT_CONSTRAINTS")
    return found


def _said(text: str) -> bool:
    """``translate`` says it in Russian; or, for a template whose placeholder stands for a word
    the code fills in ("{label} '{name}' ..." with label "Period", "Source period"), the
    catalogue has the sentences it becomes ("Period '{name}' ...")."""
    if i18n.translate(text, "ru") != text:
        return True
    if not i18n._PLACEHOLDER.search(text):
        return False
    shape = re.compile(
        "".join(
            ".+?" if i % 2 else re.escape(part)
            for i, part in enumerate(i18n._PLACEHOLDER.split(text))
        )
        + r"\Z",
        re.S,
    )
    return any(shape.match(key) for key in i18n.catalogue("ru") if key != text)


def _seen(text: str) -> bool:
    return text not in NOT_SEEN and not text.startswith(NOT_SEEN_PREFIXES)


def test_every_raised_sentence_is_said_in_russian() -> None:
    raised = _raised()
    assert len(raised) > 200  # the walk finds the messages (it did not silently stop)
    english = sorted(
        f"{where}: {text}" for text, where in raised.items() if _seen(text) and not _said(text)
    )
    assert english == [], f"{len(english)} sentences have no Russian:\n" + "\n".join(english)


def test_the_allow_list_names_raised_sentences() -> None:
    raised = _raised()
    assert sorted(NOT_SEEN - set(raised)) == []
