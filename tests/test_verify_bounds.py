"""`verify:` checks hold their bounds: an http check's configured headers (every one of them, not
only Authorization) never follow a redirect to another origin, checked with two real servers on
127.0.0.1; a command check ends its whole process group (nothing it started in the background
outlives it) and keeps only the tail of what it prints (a command writing 200 MB costs promoter no
memory, measured as the peak resident size of a fresh interpreter running the check)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from promoter.model import VerifyCheck
from promoter.policy import verify
from tests.registry_fixtures import Server, reply

SHA = "a" * 40
ROOT = Path(__file__).resolve().parent.parent
StartServer = Callable[..., Server]


def run(check: VerifyCheck, root: Path) -> verify.Verdict:
    [verdict] = verify.run((check,), SHA, SHA[:7], "production", root)
    return verdict


# --- verify: http ---------------------------------------------------------------------------------

SECRETS = {"VERIFY_TOKEN": "t0ken-S3cret", "VERIFY_KEY": "k3y-S3cret", "VERIFY_VAULT": "hvs.v4ult-S3cret"}
HEADERS = (
    ("Authorization", "Bearer ${VERIFY_TOKEN}"),
    ("X-Api-Key", "${VERIFY_KEY}"),
    ("X-Vault-Token", "${VERIFY_VAULT}"),
    ("Accept", "text/plain"),  # no ${VAR} in it: kept on its origin all the same
)
SENT = {"authorization": "Bearer t0ken-S3cret", "x-api-key": "k3y-S3cret", "x-vault-token": "hvs.v4ult-S3cret"}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("secrets")
def test_configured_headers_stay_on_their_origin(fault_server: StartServer, tmp_path: Path) -> None:
    other = fault_server(lambda req: reply(req, 200, {}, f"running {SHA}".encode()))
    other_origin = f"http://{other.host}"

    def redirecting(req: BaseHTTPRequestHandler) -> None:
        if req.path == "/elsewhere":
            reply(req, 302, {"Location": f"{other_origin}/health"})
        elif req.path == "/same":
            reply(req, 302, {"Location": "/health"})
        else:
            reply(req, 200, {}, f"running {SHA}".encode())

    origin = fault_server(redirecting)
    check = VerifyCheck("http", 3, url=f"http://{origin.host}/elsewhere", expect="{sha}", headers=HEADERS, retries=0)
    verdict = run(check, tmp_path)

    [(_, path, first)] = origin.requests
    assert path == "/elsewhere" and {k: first[k] for k in SENT} == SENT and first["accept"] == "text/plain"
    [(_, path, then)] = other.requests
    assert path == "/health"
    assert not set(SENT) & set(then), then  # not one of the credentials went to the other origin
    assert then["accept"] == "*/*"  # nor the plain header: promoter's own default went instead
    assert verdict.passed  # the other origin answered what was expected, without them
    assert verdict.detail == (
        f"GET http://{origin.host}/elsewhere (redirected to {other_origin}, which is not sent the configured "
        f"headers) contains '{SHA}'"
    )

    origin.requests.clear()
    verdict = run(VerifyCheck("http", 3, url=f"http://{origin.host}/same", expect=SHA, headers=HEADERS), tmp_path)
    assert verdict.passed and verdict.detail == f"GET http://{origin.host}/same contains '{SHA}'"
    for _, _, seen in origin.requests:  # a redirect on the same origin keeps them all
        assert {k: seen[k] for k in SENT} == SENT and seen["accept"] == "text/plain"
    assert len(origin.requests) == 2


@pytest.mark.usefixtures("secrets")
def test_a_refusal_after_a_redirect_says_the_headers_stayed_behind(fault_server: StartServer, tmp_path: Path) -> None:
    other = fault_server(lambda req: reply(req, 401, {}, b"who are you?"))
    origin = fault_server(lambda req: reply(req, 307, {"Location": f"http://{other.host}/health"}))
    check = VerifyCheck("http", 3, url=f"http://{origin.host}/health", expect="ok", headers=HEADERS, retries=0)
    verdict = run(check, tmp_path)
    assert not verdict.passed
    assert verdict.detail == (
        f"GET http://{origin.host}/health (redirected to http://{other.host}, which is not sent the configured "
        "headers) answered 401 Unauthorized: who are you?"
    )
    assert not set(SENT) & set(other.requests[0][2])


# --- verify: command ------------------------------------------------------------------------------


def state(pid: int) -> str:
    """A process's state letter ("S", "R", ...); "gone" when it no longer exists or is a zombie
    (dead, waiting for its parent, or init, to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "gone"
    letter = stat.rpartition(")")[2].split()[0]
    return "gone" if letter in ("Z", "X") else letter


@pytest.fixture
def leftovers() -> Iterator[list[int]]:
    """Pids a test's command left behind, ended after the test whatever it found."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if state(pid) != "gone":
            os.kill(pid, signal.SIGKILL)


def background(tmp_path: Path, script: str, timeout: int) -> VerifyCheck:
    """A command check running `script` with sh; `$PIDS` is a file it writes pids to."""
    return VerifyCheck(
        "command", 5, command=("sh", "-c", script.replace("$PIDS", str(tmp_path / "pids"))), timeout=timeout, retries=0
    )


def pids(tmp_path: Path, leftovers: list[int]) -> list[int]:
    found = [int(line) for line in (tmp_path / "pids").read_text().split()]
    leftovers.extend(found)
    return found


def test_a_timeout_ends_the_whole_process_group(tmp_path: Path, leftovers: list[int]) -> None:
    check = background(tmp_path, "sleep 1000 & echo $! > $PIDS; echo started; wait", timeout=1)
    verdict = run(check, tmp_path)
    [grandchild] = pids(tmp_path, leftovers)
    assert state(grandchild) == "gone"
    assert not verdict.passed
    assert verdict.detail.endswith(": no result within 1 s: started"), verdict.detail


def test_what_ignores_sigterm_gets_sigkill(tmp_path: Path, leftovers: list[int]) -> None:
    """SIGTERM first; what ignores it (sh passes an ignored SIGTERM on to what it starts) is
    killed GRACE seconds later."""
    check = background(tmp_path, "trap '' TERM; sleep 1000 & echo $! > $PIDS; wait; wait", timeout=1)
    verdict = run(check, tmp_path)
    assert "no result within 1 s" in verdict.detail
    [grandchild] = pids(tmp_path, leftovers)
    assert state(grandchild) == "gone"


def test_nothing_outlives_a_command_that_exited(tmp_path: Path, leftovers: list[int]) -> None:
    """A command that leaves a child holding its output open has still exited: it passes (it
    is not waited for until its timeout), and the child is ended."""
    check = background(tmp_path, "sleep 1000 & echo $! > $PIDS; echo done", timeout=20)
    verdict = run(check, tmp_path)
    assert verdict.passed, verdict.detail
    [grandchild] = pids(tmp_path, leftovers)
    assert state(grandchild) == "gone"


def test_output_is_read_with_a_cap(tmp_path: Path) -> None:
    """200 MB on stdout and 20 MB on stderr: the peak memory of the process running the check
    grows by far less than either (it held twice the output before), and the verdict still shows
    the last lines."""
    script = "yes 0123456789 | head -c 200000000; yes oops | head -c 20000000 >&2; echo last words >&2; exit 3"
    code = f"""
        import json, resource
        from pathlib import Path
        from promoter.model import VerifyCheck
        from promoter.policy import verify
        check = VerifyCheck("command", 5, command=("sh", "-c", {script!r}), timeout=120, retries=0)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        [verdict] = verify.run((check,), "{SHA}", "{SHA[:7]}", "production", Path({str(tmp_path)!r}))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"grew_kib": after - before, "detail": verdict.detail}}))
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=180, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["grew_kib"] < 16 * 1024, got  # 16 MiB, against 220 MB of output
    assert got["detail"].startswith("sh -c yes 0123456789 ")
    assert got["detail"].endswith(" exited with 3: oops | oops | oops | oops | last words"), got["detail"]
