"""What a newcomer sees on a real terminal (a pseudo-terminal of 80 and 200 columns, TERM=xterm,
no COLUMNS): colour as colour, never as `\\x1b[1m` text; text from outside still shown inert;
status's ERROR rows aligned and its exit code; a registry that cannot be reached said once."""

from __future__ import annotations

import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.conftest import git, make_repo
from tests.ptys import OWN_SGR, on_a_terminal, screen, visible
from tests.registry_fixtures import Server, error_body, reply
from tests.test_workflow import commit

CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("columns", [80, 200])
def test_the_demo_is_in_colour_on_a_terminal_never_in_escapes(tmp_path: Path, columns: int) -> None:
    code, raw = on_a_terminal(["demo", str(tmp_path / "demo")], columns)
    assert code == 0, raw
    assert "\\x1b[" not in raw, "promoter's own colour shown as text"
    assert "\x1b[1mqontract-reconcile\x1b[0m: upstream head" in raw  # status: the component in bold
    assert "\x1b[32m+    ref: d6ecb2791c361c2f1c5e32ded4193c22807bfd1a\x1b[0m" in raw  # plan: the added line
    assert not CONTROL.sub("", OWN_SGR.sub("", raw).replace("\x1b[K", "")).count("\x1b")
    lines = screen(raw)
    tables = [n for n, line in enumerate(lines) if visible(line).startswith("  ENVIRONMENT ")]
    assert len(tables) == 8  # two status tables, two reconcile tables; the second example's two status tables;
    # the third's status and reconcile
    for n in tables:  # every row of each table within the terminal
        for line in lines[n : lines.index("", n)]:
            assert len(visible(line)) <= columns, line
    # every line but a diff's fits the terminal: prose and paths broken between words by promoter,
    # never in the middle of a word by the terminal; a long command continued with ` \`
    diff = ("+", "-", " ", "@@")
    too_long = [visible(line) for line in lines if len(visible(line)) > columns and not line.startswith(diff)]
    too_long = [line for line in too_long if "://" not in line]  # a URL stays whole: it must stay clickable
    assert not [line for line in too_long if not visible(line).startswith(diff)], too_long
    said = [line for line in lines if line.startswith("# ")]  # the walkthrough's own words
    # 5, 4 of the second example, 4 of the third
    assert len(said) == 13 and all(len(line) <= 80 for line in said), said


EVIL_SUBJECT = "fix\x1b[2J\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \u202etxt.exe\x07"
BOLD_SUBJECT = "a \x1b[1mbold\x1b[0m claim"  # exactly the codes promoter paints with
HOLDS = """holds:
  - component: "c"
    environments: ["prod"]
    reason: "frozen \\e[1mby\\e[0m someone \\e[2J"
    author: "Ada Lovelace <ada@example.com>"
    since: "2026-01-01T00:00:00Z"
"""


def test_text_from_outside_stays_inert_between_promoters_colours(tmp_path: Path) -> None:
    """The hardening of tests/test_hardening.py on a terminal, where promoter paints: a commit
    subject, a hold's reason and a file's line holding control sequences (promoter's own colour
    codes among them) are shown as `\\x1b[…` text, while promoter's colour works."""
    up = make_repo(tmp_path / "up", {"a": "1\n"})
    old = git(up, "rev-parse", "HEAD")
    for n, subject in enumerate((EVIL_SUBJECT, BOLD_SUBJECT)):
        (up / "a").write_text(f"{n + 2}\n")
        git(up, "commit", "-q", "-am", subject, env={"GIT_AUTHOR_NAME": "Eve\x1b[31m Mallory"})
    config = (
        f"version: 1\ncomponents:\n  c:\n    repo: https://github.com/org/c\n    fetch: {up}\n    branch: main\n"
        "    targets:\n      - {name: prod, environment: prod, file: prod.yaml, key: ref, format: sha}\n"
        "      - {name: ci, environment: ci, file: ci.env, env: REF, format: sha}\n"
        "holds: holds.yaml\n"
    )
    root = make_repo(
        tmp_path / "config",
        {
            "promotion.yaml": config,
            "holds.yaml": HOLDS,
            "prod.yaml": f"ref: {old}\n",
            "ci.env": f"# set by \x1b[1mthe bot\x1b[0m\x1b[2J\nREF={old}\n",
        },
    )
    runs = {}
    for argv in (["status"], ["changelog", "c"], ["plan", "c", "--env", "ci"], ["promote", "c", "--env", "ci",
                 "--yes", "--commit"]):  # fmt: skip
        code, raw = on_a_terminal(argv, 200, cwd=root)
        assert code == 0, raw
        assert not CONTROL.sub("", OWN_SGR.sub("", raw).replace("\x1b[K", "")).count("\x1b"), raw
        runs[argv[0]] = raw
    shown = {name: "\n".join(visible(line) for line in screen(raw)) for name, raw in runs.items()}
    assert "frozen \\x1b[1mby\\x1b[0m someone \\x1b[2J" in shown["status"]  # a hold's reason, in a painted table
    assert "\x1b[1mc\x1b[0m: upstream head" in runs["status"]  # and promoter's bold
    assert "fix\\x1b[2J" in shown["changelog"] and "a \\x1b[1mbold\\x1b[0m claim" in shown["changelog"]
    assert "Eve\\x1b[31m Mallory" in shown["changelog"]
    for name in ("plan", "promote"):  # a file's line in a painted diff
        assert " # set by \\x1b[1mthe bot\\x1b[0m\\x1b[2J" in shown[name]
        assert "\x1b[32m+REF=" in runs[name]
    message = git(root, "log", "-1", "--format=%B")
    assert "\x1b" not in message


def test_a_terminal_that_says_zero_columns_gets_tables_uncut(tmp_path: Path) -> None:
    """A new pseudo-terminal (script, expect, some `docker exec -t`) reports 0 columns: its width is
    unknown, and the table is shown whole, as in a pipe, not cut to nothing."""
    root, _ = _world(tmp_path)
    code, raw = on_a_terminal(["status", "--offline", "app"], 0, cwd=root)
    assert code == 3, raw  # the broken target
    shown = [visible(line) for line in screen(raw)]
    assert "…" not in raw and any("gone.yaml: target 'broken-one'" in line for line in shown), raw


# -- status ---------------------------------------------------------------------------------------
def _world(tmp_path: Path, extra: str = "", files: dict[str, str] | None = None) -> tuple[Path, list[str]]:
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    shas = [commit(upstream, f"u{i}", 1_767_225_600 + i * 3600) for i in range(3)]
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/example/app\n"
        f"    fetch: {upstream}\n    branch: main\n{extra}"
        "    targets:\n"
        "      - {name: ci-env, environment: ci, file: ci.env, env: TAG}\n"
        "      - {name: broken-one, environment: ci, file: gone.yaml, key: tag}\n"
        "      - {name: prod-env, environment: prod, file: prod.env, env: TAG}\n"
        "  other:\n    repo: https://github.com/example/other\n"
        f"    fetch: {upstream}\n    branch: main\n"
        "    targets:\n      - {name: web, environment: ci, file: web.env, env: TAG}\n"
    )
    tree = {
        "promotion.yaml": config,
        "ci.env": f"TAG={shas[0][:7]}\n",
        "prod.env": f"TAG={shas[0][:7]}\n",
        "web.env": f"TAG={shas[-1][:7]}\n",
        **(files or {}),
    }
    return make_repo(tmp_path / "config", tree), shas


@pytest.mark.parametrize("columns", [80, 200])
def test_an_error_row_keeps_the_columns_and_the_exit_code_says_it(tmp_path: Path, columns: int) -> None:
    root, _ = _world(tmp_path)
    code, raw = on_a_terminal(["status"], columns, cwd=root)
    assert code == 3, raw  # as check: a target that cannot be read is a problem
    lines = [visible(line) for line in screen(raw)]
    header = next(line for line in lines if line.startswith("  ENVIRONMENT"))
    named = next(line for line in lines if line.startswith("    ci-env "))
    error = next(line for line in lines if "ERROR" in line)
    assert error.startswith("    broken-one ")  # the target's name in its column
    assert error.index("ERROR") == header.index("STATE")  # ERROR in the state column
    assert error.index("gone.yaml") == header.index("NEXT") == named.index("ci.env")  # the message under NEXT

    root = make_repo(tmp_path / "healthy", {"promotion.yaml": _config_without_broken(root), "ci.env": "TAG=1234567\n"})
    code, raw = on_a_terminal(["status", "--offline", "app"], columns, cwd=root)
    assert code == 0, raw


def _config_without_broken(root: Path) -> str:
    text = (root / "promotion.yaml").read_text()
    keep = [line for line in text.splitlines() if "broken-one" not in line and "prod-env" not in line]
    return "\n".join(keep) + "\n"


def test_a_registry_that_cannot_be_reached_is_said_once_and_the_others_go_on(tmp_path: Path) -> None:
    def unavailable(req: BaseHTTPRequestHandler) -> None:
        reply(req, 503, {"Retry-After": "0", "Content-Type": "application/json"}, error_body("UNAVAILABLE", "down"))

    with Server(unavailable) as registry:
        root, shas = _world(tmp_path, f"    image: {registry.host}/app\n")
        (root / "gone.yaml").write_text(
            f"tag: {shas[0][:7]}\n"
        )  # every target readable: the registry is the only problem
        git(root, "add", "gone.yaml")
        git(root, "commit", "-qm", "gone no more")
        code, raw = on_a_terminal(["status"], 80, cwd=root)
        asked = {(method, path) for method, path, _ in registry.requests}
        reconciled, log = on_a_terminal(["reconcile"], 80, cwd=root)
    assert code == 3, raw
    tag = shas[-1][:7]
    assert asked == {("HEAD", f"/v2/app/manifests/{tag}")}
    progress = [part.split("\x1b[K")[0] for part in raw.split("\r") if "\x1b[K" in part]
    assert f"asking registry {registry.host} for app:{tag}" in progress  # what it waits for
    lines = [visible(line) for line in screen(raw)]
    text = "\n".join(lines)
    assert text.count("answered 503") == 1, text  # said once for the component...
    other = lines.index("other: upstream head " + tag)
    rows = {line.split()[0]: line for line in lines[:other] if line.startswith("  ") and not line.startswith("   ")}
    assert "error" in rows["ci"] and "error" in rows["prod"]  # ...though both environments wait for it
    assert "up to date" in lines[other + 2] and "up-to-date" in lines[other + 2]  # the other component went on
    assert reconciled == 4, log  # reconcile says it the same way
    lines = [visible(line) for line in screen(log)]
    assert "\n".join(lines).count("answered 503") == 1, log
    app = lines[: next(n for n, line in enumerate(lines) if line.startswith("other: "))]
    assert [line.split() for line in app if line.startswith(("  ci ", "  prod "))] == [
        ["ci", "error", "as", "above"],
        ["prod", "error", "as", "above"],
    ]


def test_a_registry_not_reached_is_not_asked_again_for_another_tag_of_the_image(tmp_path: Path) -> None:
    """Environments of a component may ask about different candidates: once the registry could not
    be reached, the image's other tags get the same error without another round of retries. An
    answer about one tag (a manifest that is no manifest) says nothing of the others."""
    from promoter.errors import ExternalError
    from promoter.pipeline.core import open_repo
    from promoter.ship.session import Options, Session

    def unavailable(req: BaseHTTPRequestHandler) -> None:
        if "/broken/" in req.path:
            reply(req, 200, {"Content-Type": "text/html"}, b"<html>a login page</html>")
        else:
            reply(req, 503, {"Retry-After": "0"}, b"")

    root, _ = _world(tmp_path)
    with Server(unavailable) as registry:
        session = Session(open_repo(root), Options())
        for image, tag in [("app", "aaaaaaa"), ("app", "bbbbbbb"), ("broken", "aaaaaaa"), ("broken", "bbbbbbb")]:
            with pytest.raises(ExternalError, match=r"503|a login page"):
                session.digest(f"{registry.host}/{image}", tag)
        asked = sorted({path for _, path, _ in registry.requests})
    assert asked == ["/v2/app/manifests/aaaaaaa", "/v2/broken/manifests/aaaaaaa", "/v2/broken/manifests/bbbbbbb"]


def test_every_help_reads_as_prose(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The exit codes are wrapped to the terminal as sentences: no run of spaces in the middle of
    a sentence (a line break written into a code's text came out as eight spaces)."""
    from promoter.commands import NAMES

    monkeypatch.setenv("COLUMNS", "80")
    for name in NAMES:
        code, out, err = run("help", name)
        assert code == 0, err
        meanings = [line[7:] for line in out.partition("exit codes:\n")[2].splitlines()]
        assert not [m for m in meanings if re.search(r"\S {2,}\S", m)], (name, meanings)
