"""An upstream that is unreachable or never answers: a specific message, exit 4, nothing written.

git's network commands (clone, fetch, ls-remote, push) are bounded by PROMOTER_GIT_TIMEOUT
(default 120 s): git gives up an HTTP transfer slower than 1 byte/s for that long, and the
process is killed soon after if it still has not finished (git://, ssh). Registry and forge
faults: tests/test_registry.py (test_503_is_retried_then_external_error, test_timeout,
test_registry_down, ...) and tests/test_forge.py (test_gitlab_unreachable, test_github_unreachable,
test_github_timeout_is_retried, ...).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from promoter.errors import ExternalError, UsageError
from promoter.upstream.git import Git, network_timeout
from tests.conftest import snapshot
from tests.reliability.helpers import CONFIG, cli, closed_port, three_files


@pytest.fixture
def hanging_port() -> Iterator[int]:
    """A TCP server that accepts every connection and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def upstream_at(root: Path, url: str) -> Path:
    (root / "promotion.yaml").write_text(CONFIG.replace("https://example.com/c", url))
    return root


@pytest.mark.parametrize("command", [("promote", "c", "--yes"), ("plan", "c")])
def test_unreachable_upstream(tmp_path: Path, command: tuple[str, ...]) -> None:
    url = f"http://127.0.0.1:{closed_port()}/x.git"
    root = upstream_at(three_files(tmp_path / "r"), url)
    before = snapshot(root)
    proc = cli(root, *command)
    assert proc.returncode == 4, proc.stderr
    assert f"promoter: error: c: cannot clone {url}: git clone: fatal: " in proc.stderr
    assert f"fatal: unable to access '{url}/': Failed to connect to 127.0.0.1 port" in proc.stderr
    assert snapshot(root) == before


def test_hanging_http_upstream_gives_up_after_the_timeout(tmp_path: Path, hanging_port: int) -> None:
    url = f"http://127.0.0.1:{hanging_port}/x.git"
    root = upstream_at(three_files(tmp_path / "r"), url)
    before = snapshot(root)
    proc = cli(root, "promote", "c", "--yes", env={"PROMOTER_GIT_TIMEOUT": "2"})  # killed after 60 s
    assert proc.returncode == 4, proc.stderr
    assert f"promoter: error: c: cannot clone {url}: git clone: fatal: " in proc.stderr
    assert "Operation too slow. Less than 1 bytes/sec transferred the last 2 seconds" in proc.stderr
    assert snapshot(root) == before
    status = cli(root, "status", env={"PROMOTER_GIT_TIMEOUT": "1"})  # status says it and goes on
    assert status.returncode == 0 and "c: upstream not checked: c: cannot clone" in status.stdout


def test_hanging_git_protocol_is_killed_after_the_timeout(tmp_path: Path, hanging_port: int) -> None:
    """git:// has no low-speed limit: the process itself is bounded."""
    url = f"git://127.0.0.1:{hanging_port}/x.git"
    root = upstream_at(three_files(tmp_path / "r"), url)
    before = snapshot(root)
    proc = cli(root, "promote", "c", "--yes", env={"PROMOTER_GIT_TIMEOUT": "1"})  # killed after 60 s
    assert proc.returncode == 4, proc.stderr
    assert "promoter: error: git clone --bare --quiet --filter=blob:none -- " + url in proc.stderr
    assert ": no answer within 1 s (PROMOTER_GIT_TIMEOUT sets the limit)" in proc.stderr
    assert snapshot(root) == before
    assert not list((tmp_path.parent).glob("**/mirrors/*.tmp*"))


def test_hanging_ls_remote_and_fetch(tmp_path: Path, hanging_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMOTER_GIT_TIMEOUT", "1")
    repo = tmp_path / "m.git"
    Git(tmp_path).run("init", "--bare", "-q", str(repo))
    url = f"http://127.0.0.1:{hanging_port}/x.git"
    for args in (("ls-remote", "--", url), ("fetch", "--quiet", url)):
        with pytest.raises(ExternalError, match="Operation too slow"):
            Git(repo).run(*args)


@pytest.mark.parametrize("value", ["soon", "0", "-3", "nan", "inf"])
def test_bad_git_timeout_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PROMOTER_GIT_TIMEOUT", value)
    with pytest.raises(UsageError, match=f"PROMOTER_GIT_TIMEOUT must be a number of seconds, not '{value}'"):
        network_timeout()


def test_git_timeout_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMOTER_GIT_TIMEOUT", raising=False)
    assert network_timeout() == 120.0
