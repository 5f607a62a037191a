"""Import boundaries: the services never import each other; kopilka imports none of them."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "kopilka": ROOT / "shared/src/kopilka",
    "kopilka_api": ROOT / "services/api/src/kopilka_api",
    "kopilka_worker": ROOT / "services/worker/src/kopilka_worker",
    "kopilka_bot": ROOT / "services/bot/src/kopilka_bot",
}
SERVICES = {"kopilka_api", "kopilka_worker", "kopilka_bot"}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def violations() -> list[str]:
    bad = []
    for pkg, folder in PACKAGES.items():
        forbidden = SERVICES - {pkg}
        for file in folder.rglob("*.py"):
            for name in imported(file) & forbidden:
                bad.append(f"{file.relative_to(ROOT)} imports {name}")
    return bad


if __name__ == "__main__":
    found = violations()
    for line in found:
        print("boundary violation:", line, file=sys.stderr)
    if found:
        sys.exit(1)
    print("import boundaries ok: services never import each other")
