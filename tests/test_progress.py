"""Long waits say what they wait for, on a terminal: the first clone of the upstream's mirror,
its fetches, the registry polled by `--wait`. One line on stderr, rewritten in place and cleared
before anything else is written; never in a pipe, never with `-o json`. The library only calls
a callback."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from promoter.upstream.registry import Registry
from promoter.upstream.registry import client as registry_client
from tests.conftest import git, make_repo, stderr_on_a_terminal
from tests.registry_fixtures import Server, reply
from tests.test_workflow import commit


def _world(tmp_path: Path, image: str | None = None) -> tuple[Path, Path, list[str]]:
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    git(upstream, "init", "-q", "-b", "main")
    shas = [commit(upstream, f"u{i}", 1_767_225_600 + i * 3600) for i in range(3)]
    config = (
        "version: 1\ncomponents:\n  app:\n    repo: https://github.com/example/app\n"
        f"    fetch: {upstream}\n    branch: main\n"
        + (f"    image: {image}\n" if image else "")
        + "    targets:\n      - {name: ci, environment: ci, file: .env, env: TAG}\n"
    )
    repo = make_repo(tmp_path / "config", {"promotion.yaml": config, ".env": f"TAG={shas[0][:7]}\n"})
    return upstream, repo, shas


def _run(repo: Path, *argv: str, terminal: bool) -> tuple[int, bytes, bytes]:
    """`promoter -C repo ARGV` with stderr on a pseudo-terminal (or a pipe): (code, stdout, stderr)."""
    cmd = [sys.executable, "-m", "promoter", "-C", str(repo), *argv]
    if not terminal:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr
    with tempfile.TemporaryFile() as stdout:
        code, err = stderr_on_a_terminal(cmd, stdout)
        stdout.seek(0)
        return code, stdout.read(), err


def _lines(err: bytes) -> list[str]:
    """What the terminal showed, one entry per rewrite of the line."""
    return [part.removesuffix("\x1b[K") for part in err.decode().split("\r") if part]


def test_the_first_clone_and_each_fetch_are_said_on_a_terminal(tmp_path: Path) -> None:
    upstream, repo, shas = _world(tmp_path)
    code, out, err = _run(repo, "status", terminal=True)
    assert code == 0, err
    assert f"fetching {upstream} (first time: cloning)" in _lines(err)
    assert err.endswith(b"\r\x1b[K") and b"\n" not in err  # cleared: only the table remains, on stdout
    assert out.decode().startswith(f"app: upstream head {shas[-1][:7]}\n")

    code, _, err = _run(repo, "status", terminal=True)  # cached: only asks where the branch is
    assert code == 0
    assert set(_lines(err)) == {f"asking {upstream} where main is", ""}

    commit(upstream, "u3", 1_767_225_600 + 4 * 3600)
    code, _, err = _run(repo, "status", terminal=True)  # the branch moved: fetched
    assert code == 0 and f"fetching {upstream}" in _lines(err)


def test_a_pipe_and_json_get_nothing(tmp_path: Path) -> None:
    _, repo, _ = _world(tmp_path)
    code, out, err = _run(repo, "status", terminal=False)
    assert (code, err) == (0, b"") and out
    code, out, err = _run(repo, "plan", "app", "-o", "json", terminal=True)  # for programs: silent
    assert (code, err) == (0, b"") and out.startswith(b"{")


def test_progress_is_cleared_before_anything_else_is_written(tmp_path: Path) -> None:
    upstream, repo, _ = _world(tmp_path)
    code, _, err = _run(repo, "plan", "app", "1234567", terminal=True)  # cloned (every ref), not there
    assert code == 2
    assert _lines(err)[0] == f"fetching {upstream} (first time: cloning)"
    assert f"\x1b[K\r\x1b[Kpromoter: error: app: no commit, branch or tag '1234567' in {upstream}" in err.decode()


def _not_found(req: BaseHTTPRequestHandler) -> None:
    reply(req, 404, {"Content-Type": "application/json"}, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')


def test_waiting_for_an_image_says_so_on_a_terminal(tmp_path: Path) -> None:
    with Server(_not_found) as registry:
        _, repo, shas = _world(tmp_path, image=f"{registry.host}/app")
        code, _, err = _run(repo, "plan", "app", shas[-1], "--wait", "1s", terminal=True)
    assert code == 3
    lines = _lines(err)
    tag = shas[-1][:7]
    assert f"waiting for image {registry.host}/app:{tag} (1 check so far, 1s left)" in lines
    assert f"promoter: error: image {registry.host}/app:{tag} did not appear within 1s" in err.decode()
    assert "\r\x1b[Kpromoter: error:" in err.decode()  # the line cleared first


def test_the_registry_tells_its_callback_and_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    answers = iter([None, None, "sha256:" + "0" * 64])
    now = [0.0]
    heard: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    reg = Registry(sleep=sleep, progress=heard.append)
    reg.digest = lambda image, tag: next(answers)  # type: ignore[method-assign]
    assert reg.wait("quay.io/x/app", "abc1234", timeout=60, interval=15, clock=lambda: now[0]) == "sha256:" + "0" * 64
    assert heard == [
        "waiting for image quay.io/x/app:abc1234 (1 check so far, 1m left)",
        "waiting for image quay.io/x/app:abc1234 (2 checks so far, 45s left)",
    ]
    other: list[str] = []
    with registry_client.reporting(other.append):  # a Registry without a callback of its own
        quiet = Registry(sleep=sleep)
        answers = iter([None, "sha256:" + "1" * 64])
        quiet.digest = lambda image, tag: next(answers)  # type: ignore[method-assign]
        quiet.wait("quay.io/x/app", "abc1234", timeout=60, clock=lambda: now[0])
    assert other == ["waiting for image quay.io/x/app:abc1234 (1 check so far, 1m left)"]
    assert capsys.readouterr() == ("", "")
