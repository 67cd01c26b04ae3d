"""Hostile input: every case ends in a specific message (asserted whole) and no file changed.

Covered elsewhere, not repeated here:
- `file:`/`files:` leaving the repository (`../`, absolute, a symlink out): tests/test_errors.py::
  test_absolute_file_is_refused, test_file_escaping_with_dotdot_is_refused,
  test_files_glob_escaping_with_dotdot_is_refused, test_file_symlinked_outside_the_repository,
  test_directory_symlinked_outside_the_repository;
- a REV starting with `-` or holding shell or git revision syntax: tests/test_errors.py::
  test_unsafe_rev_is_refused_and_never_reaches_git, test_rev_starting_with_dash_without_double_dash_is_a_usage_error;
- component names: tests/test_errors.py and tests/test_config_errors.py (letters, digits, . _ -);
- `ext::`/`fd::` upstream URLs: tests/test_upstream_e2e.py::test_ext_transport_is_refused_and_never_run,
  test_ext_transport_as_repo_without_fetch_is_refused.
"""

from __future__ import annotations

import inspect
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from promoter.locate import classify, find
from promoter.locate.yamlnodes import MAX_DEPTH
from promoter.model import Component, KeyLocator, PathLocator, Target
from promoter.pipeline.apply import lock_holder
from promoter.pipeline.edit import change, edits_for
from promoter.pipeline.workspace import MAX_FILE_BYTES
from tests.conftest import make_repo, snapshot
from tests.reliability.helpers import NEW, OLD, PROMOTE

Run = Callable[..., tuple[int, str, str]]
CONFIG = """\
version: 1
components:
  c:
    repo: https://example.com/c
    targets:
      - {name: one, file: one.yaml, key: ref, format: sha}
"""


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
    resource.setrlimit(resource.RLIMIT_AS, (256 << 20, 256 << 20))


def limited(*argv: object) -> tuple[int, str, str]:
    """Like the `run` fixture, but in a child process allowed 20 s of CPU and 256 MB of address
    space (a promotion needs under 128 MB): a promoter that expanded an alias bomb, read a 400 MB
    file or backtracked without end is killed or runs out of memory, and the test fails on it."""
    proc = subprocess.run(
        [sys.executable, "-m", "promoter", *map(str, argv)],
        preexec_fn=_limits,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


def repo(tmp_path: Path, files: dict[str, str | bytes], config: str = CONFIG) -> Path:
    return make_repo(tmp_path / "r", {"promotion.yaml": config, **files})


def refused(run: Run, root: Path, code: int, message: str, argv: tuple[str, ...] = PROMOTE) -> None:
    """The command fails with `code`, its last line is exactly `message`, and no file changed."""
    before = snapshot(root)
    got, out, err = run("-C", root, *argv)
    assert got == code, (out, err)
    assert err.splitlines()[-1] == f"promoter: error: {message}", err
    assert snapshot(root) == before
    assert lock_holder(root / ".git") is None


def promoted(run: Run, root: Path, file: str, before: str) -> None:
    got, out, err = run("-C", root, *PROMOTE)
    assert got == 0, err
    assert (root / file).read_bytes() == before.replace(OLD, NEW).encode("utf-8")


# -- malformed YAML, not UTF-8, too large -------------------------------------------------------


def test_malformed_yaml_in_config(tmp_path: Path, run: Run) -> None:
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\n"}, config=CONFIG.replace("targets:", "targets: [", 1))
    refused(run, root, 2, f"{root}/promotion.yaml:6: invalid YAML: did not find expected node content (column 7)")


def test_malformed_yaml_in_target(tmp_path: Path, run: Run) -> None:
    root = repo(tmp_path, {"one.yaml": f"a: {{b: 1\nref: {OLD}\n"})
    refused(run, root, 3, "one.yaml:2: invalid YAML: did not find expected ',' or '}' (column 4)")


def test_config_not_utf8(tmp_path: Path, run: Run) -> None:
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\n"}, config=CONFIG.replace("c:\n", "c\xe9:\n").encode("latin-1"))  # type: ignore[arg-type]
    refused(run, root, 2, f"{root}/promotion.yaml: not UTF-8 text (byte 26)")


def test_target_in_utf16(tmp_path: Path, run: Run) -> None:
    """(Latin-1 in a target: tests/test_errors.py::test_target_file_not_utf8.)"""
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\n".encode("utf-16")})
    refused(run, root, 3, "one.yaml:1: not UTF-8 text (byte 0); promoter edits UTF-8 files only")


def test_file_of_hundreds_of_megabytes_is_refused_unread(tmp_path: Path) -> None:
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\n"})
    big = root / "one.yaml"
    size = 400 * 1024 * 1024
    os.truncate(big, size)  # sparse: costs no disk
    stat = big.stat()
    got, out, err = limited("-C", root, *PROMOTE)  # reading it would need 400 MB
    assert got == 3
    assert err.splitlines()[-1] == (
        f"promoter: error: one.yaml: {size} bytes is larger than promoter edits ({MAX_FILE_BYTES} bytes)"
    )
    after = big.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    assert not list(root.rglob("*.promoter-tmp"))


# -- YAML alias bombs ---------------------------------------------------------------------------


def bomb(levels: int = 9, width: int = 9) -> str:
    """'Billion laughs': `width ** levels` strings once its aliases are expanded (9**9 = 387 420 489)."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_beside_the_value_is_never_expanded(tmp_path: Path) -> None:
    text = bomb() + f"ref: {OLD}  # pinned\n"
    root = repo(tmp_path, {"one.yaml": text})
    promoted(limited, root, "one.yaml", text)


def test_alias_bomb_as_the_value_is_refused(tmp_path: Path) -> None:
    root = repo(tmp_path, {"one.yaml": bomb() + "ref: *l8\n"})
    refused(
        limited,
        root,
        3,
        "one.yaml:10: target 'one': the value of 'ref' is the alias *l8 (anchored at line 9); "
        "editing it would change every place that uses it",
    )


def test_alias_bomb_under_a_recursive_path_is_not_followed(tmp_path: Path) -> None:
    config = CONFIG.replace("key: ref", "path: '$..ref'")
    text = bomb() + f"app:\n  ref: {OLD}\n  more: *l8\n"
    root = repo(tmp_path, {"one.yaml": text}, config=config)
    promoted(limited, root, "one.yaml", text)


def test_alias_bomb_in_config(tmp_path: Path) -> None:
    anchors = "".join(f"  - &{line.split('&')[1]}\n" for line in bomb().splitlines())
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\n"}, config=CONFIG + "bots:\n" + anchors)
    refused(limited, root, 2, f"{root}/promotion.yaml:8: bots item must be a string")


# -- deep nesting -------------------------------------------------------------------------------

DEPTH = 10_000  # refused: more than yamlnodes.MAX_DEPTH (200)
OK_DEPTH = MAX_DEPTH - 2  # read, and walked without recursion


@contextmanager
def shallow_stack(room: int = 60) -> Iterator[None]:
    """Only `room` more Python frames: code that recursed once per nesting level would fail."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + room)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def nested(depth: int) -> dict[str, str]:
    block = min(depth, 1000)  # 10 000 levels of indentation would be 100 MB
    return {
        "flow-sequences": "deep: " + "[" * depth + "]" * depth + f"\nref: {OLD}\n",
        "flow-mappings": "deep: " + "{a: " * depth + "1" + "}" * depth + f"\nref: {OLD}\n",
        "value-at-the-bottom": "deep: " + "{a: " * depth + f"{{ref: {OLD}}}" + "}" * depth + "\n",
        "block-mappings": "".join("  " * i + "a:\n" for i in range(block)) + "  " * block + f"ref: {OLD}\n",
    }


@pytest.mark.parametrize("text", list(nested(OK_DEPTH).values()), ids=list(nested(OK_DEPTH)))
@pytest.mark.parametrize("locator", [KeyLocator("ref"), PathLocator("$..ref")], ids=["key", "path"])
def test_deep_nesting_is_walked_without_recursion(text: str, locator: KeyLocator | PathLocator) -> None:
    target = Target("one", "one", "one.yaml", None, locator, "sha", False, 1)
    comp = Component("c", "https://example.com/c", "https://example.com/c", None, 7, (target,), 1)
    with shallow_stack():
        found = find(text, comp, target)
        locations, _ = classify(text, "one.yaml", comp, target, found)
        fc = change("one.yaml", text, edits_for(text, locations, lambda _: NEW), comp, {"one": NEW})
    assert fc.new_text == text.replace(OLD, NEW)


def test_nesting_up_to_the_limit_through_the_cli(tmp_path: Path, run: Run) -> None:
    text = nested(OK_DEPTH)["value-at-the-bottom"]
    root = repo(tmp_path, {"one.yaml": text})
    promoted(run, root, "one.yaml", text)


def libyaml_stops_first(text: str) -> int | None:
    """The column where the installed libyaml refuses `text` for its own nesting limit (1000
    levels, in PyYAML >= 6.0.4) before handing over an event 201 levels deep, else None: its
    scanner looks ahead up to 1024 characters for a simple key, so 1000 '[' get there first."""
    depth = 0
    try:
        for ev in yaml.parse(text, Loader=yaml.CSafeLoader):
            depth += isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
            depth -= isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent))
            if depth > MAX_DEPTH:
                return None
    except yaml.MarkedYAMLError as exc:
        assert exc.problem == "exceeded maximum nesting depth" and exc.problem_mark is not None
        return int(exc.problem_mark.column) + 1
    return None


@pytest.mark.parametrize("shape", list(nested(DEPTH)))
def test_deeper_nesting_is_refused_at_the_limit(tmp_path: Path, shape: str) -> None:
    text = nested(DEPTH)[shape]
    root = repo(tmp_path, {"one.yaml": text})
    step = 4 if shape in ("flow-mappings", "value-at-the-bottom") else 1  # '{a: ' or '['
    line, column = (MAX_DEPTH + 1, 2 * MAX_DEPTH + 1) if shape == "block-mappings" else (1, 7 + (MAX_DEPTH - 1) * step)
    column = libyaml_stops_first(text) or column
    refused(
        limited,
        root,
        3,
        f"one.yaml:{line}: invalid YAML: nested more than {MAX_DEPTH} levels deep; "
        f"promoter refuses it (column {column})",
    )


def test_deep_nesting_in_config(tmp_path: Path) -> None:
    config = CONFIG + "people: " + "[" * DEPTH + "]" * DEPTH + "\n"
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\n"}, config=config)
    column = libyaml_stops_first("people: " + "[" * DEPTH + "]" * DEPTH) or 8 + MAX_DEPTH
    refused(
        limited,
        root,
        2,
        f"{root}/promotion.yaml:7: invalid YAML: nested more than {MAX_DEPTH} levels deep; promoter refuses it "
        f"(column {column})",
    )


# -- duplicate keys -----------------------------------------------------------------------------


def test_duplicate_key_in_target(tmp_path: Path, run: Run) -> None:
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\nx: 1\nref: {OLD}\n"})
    refused(run, root, 3, "one.yaml:3: target 'one': key 'ref' appears twice in one mapping (lines 1 and 3)")


def test_duplicate_key_in_config(tmp_path: Path, run: Run) -> None:
    """(A duplicated key inside a component: tests/test_errors.py::test_duplicate_key_in_config.)"""
    root = repo(tmp_path, {"one.yaml": f"ref: {OLD}\n"}, config=CONFIG + "version: 1\n")
    refused(run, root, 2, f"{root}/promotion.yaml:7: top level: key 'version' appears twice (first at line 1)")


# -- a regex that backtracks catastrophically ---------------------------------------------------

REGEX_CONFIG = """\
version: 1
components:
  c:
    repo: https://example.com/c
    targets:
      - name: notes
        file: notes.txt
        regex: '{pattern}'
        format: short
"""


def test_nested_quantifier_regex_completes(tmp_path: Path) -> None:
    """`re` would try 2**40 ways here; the `regex` engine sees there is no 'b' at once."""
    pattern = "(a+)+b(?P<version>[0-9a-f]{7})"
    root = repo(tmp_path, {"notes.txt": "a" * 40 + "\n"}, config=REGEX_CONFIG.format(pattern=pattern))
    message = f"notes.txt: target 'notes' (regex {pattern}) located no pinned 7-hex short sha"
    refused(limited, root, 3, message)


def test_catastrophic_regex_is_stopped_after_two_seconds(tmp_path: Path) -> None:
    pattern = "(a|aa)+b(?P<version>[0-9a-f]{7})"
    root = repo(tmp_path, {"notes.txt": "# " + "a" * 60 + "\n"}, config=REGEX_CONFIG.format(pattern=pattern))
    refused(limited, root, 3, "notes.txt:1: target 'notes': regex took longer than 2 s on this file; simplify it")
