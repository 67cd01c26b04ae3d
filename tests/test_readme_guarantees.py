"""The README's Guarantees table names the tests that prove each promise: every file and test it
names exists (a test renamed or removed would leave a promise proved by nothing)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tests() -> dict[str, set[str]]:
    """test file (by its path from the root and by its name) -> the names of its functions."""
    out: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        out[path.relative_to(ROOT).as_posix()] = names
        out.setdefault(path.name, set()).update(names)
    return out


def test_every_test_the_guarantees_name_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Guarantees\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| promise")]
    assert len(rows) > 50
    tests = _tests()
    missing = []
    for row in rows:
        proof = row.rstrip(" |").rsplit(" | ", 1)[1]
        current: str | None = None
        for word in re.findall(r"`([^`]+)`", proof) + re.findall(r"(?<![`\w/])(tests/[\w/]+\.py)", proof):
            named = re.fullmatch(r"((?:tests/)?[\w/]+\.py)(?:::(\w+))?", word)
            if named:
                current = named[1] if named[1] in tests else None
                if current is None:
                    missing.append(named[1])
                elif named[2] and not any(n.startswith(named[2]) for n in tests[current]):
                    missing.append(word)
            elif (
                re.fullmatch(r"test_\w+", word)
                and current is not None
                and not any(n.startswith(word) for n in tests[current])  # a parametrised name's start
            ):
                missing.append(f"{current}::{word}")
    assert not missing, missing
