"""The layout shows the pipe: every import of promoter's own modules points down the list below
(a module may use its own floor and the floors under it, never one above)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "promoter"
FLOORS = [
    # the ground: data, errors, URLs, text, HTTP, semantic versions
    {"errors", "records", "model", "durations", "urls", "text", "http", "semver"},
    {"locate"},
    {"upstream"},
    {"pipeline", "native"},  # native: the app-interface model, read from the files like the config
    {"insight"},  # read-only views of the repository (discover, lint, history): policy reads history
    {"policy"},
    {"ship"},
    {"render"},
    {"demo"},
    {"cli", "__main__", "commands"},  # the command line: one module per command
]


def floor(module: str) -> int:
    """The floor of `promoter.<part>...`; the package itself (`promoter`) is the ground."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else "errors"
    for i, names in enumerate(FLOORS):
        if head in names:
            return i
    raise AssertionError(f"{module}: on no floor; add it to FLOORS in {__file__} and to the README's layout")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of a promoter module in the file, also inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "promoter":
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "promoter"]
    return out


def test_every_module_is_on_a_floor_and_imports_point_down() -> None:
    wrong = []
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 30
    for path in modules:
        rel = path.relative_to(SRC.parent).with_suffix("")
        me = ".".join(p for p in rel.parts if p != "__init__")
        for line, module in imports(path):
            if floor(module) > floor(me):
                wrong.append(f"{path.relative_to(SRC.parent)}:{line}: {me} imports {module}, a floor above it")
    assert not wrong, "\n".join(wrong)


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from promoter.cli import main\n")
    assert imports(bad) == [(2, "promoter.cli")] and floor("promoter.cli") > floor("promoter.pipeline.core")
