"""The overall HTTP deadline holds for the whole exchange: connecting (a proxy's CONNECT answer
too), the status line, the headers, interim `100 Continue` answers and the body, against real
raw-socket servers on 127.0.0.1 that send one byte at a time, never finish a header, or answer
`100 Continue` for ever. Every client promoter has is tried: promoter.http itself, the registry
gate and its token endpoint, both forge clients and `verify: http`.

Each client runs in a fresh interpreter bounded by a subprocess timeout: a client that does not
hold its deadline fails the test instead of hanging it. Deadlines are made small through the
clients' own knobs (the module constants, the check's `timeout`), never waited out at length."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from promoter.http import Http

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 30  # seconds a client may take before the test calls it hung (its deadline is 1 s)
PACE = 0.1  # seconds between two bytes of a trickle: never long enough for a socket timeout

# what a misbehaving server sends after reading a request's head; `None` marks an endless trickle
# of the last byte string, `...` endless repetitions of it
STATUS_LINE_BYTE_BY_BYTE = "status line, byte by byte"
HEADERS_BYTE_BY_BYTE = "headers, byte by byte"
ENDLESS_CONTINUE = "endless 100 Continue"
CHUNK_SIZE_BYTE_BY_BYTE = "chunk size line, byte by byte"


class Misbehaving:
    """A raw TCP server on 127.0.0.1: it reads each request's head (recorded in `requests`) and
    answers with `answer(request line)`, a name above or bytes sent at once. Connections the
    client closed are counted in `closed`, so a test sees the client hung up."""

    def __init__(self, answer: Callable[[str], str | bytes]) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.closed = threading.Semaphore(0)
        self.threads: list[threading.Thread] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                while not self.stop.is_set():
                    head = b""
                    while b"\r\n\r\n" not in head:
                        data = conn.recv(65536)
                        if not data:
                            return
                        head += data
                    line, *fields = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
                    self.requests.append(
                        (line, {k.lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)})
                    )
                    if not self._send(conn, self.answer(line)):
                        return
            except OSError:  # the client closed the connection (reset, broken pipe)
                self.closed.release()

    def _send(self, conn: socket.socket, answer: str | bytes) -> bool:
        """Send `answer`; False when the connection is done with (an endless answer ended)."""
        if isinstance(answer, bytes):
            conn.sendall(answer)
            return True
        if answer == ENDLESS_CONTINUE:
            while not self.stop.wait(PACE / 5):
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            return False
        prefix, slow = {
            STATUS_LINE_BYTE_BY_BYTE: (b"", b"HTTP/1.1 200 " + b"O" * 60_000),
            HEADERS_BYTE_BY_BYTE: (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", b"X-Slow: " + b"a" * 60_000),
            CHUNK_SIZE_BYTE_BY_BYTE: (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"0" * 60_000),
        }[answer]
        conn.sendall(prefix)
        for i in range(len(slow)):
            if self.stop.wait(PACE):
                return False
            conn.sendall(slow[i : i + 1])
        return False

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)
        for worker in self.threads:
            worker.join(5)


@pytest.fixture
def misbehaving() -> Iterator[Callable[[Callable[[str], str | bytes]], Misbehaving]]:
    servers: list[Misbehaving] = []

    def start(answer: Callable[[str], str | bytes]) -> Misbehaving:
        servers.append(Misbehaving(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def bounded(code: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `code` (which calls `outcome(callable)` once) in a fresh interpreter; what it raised
    (class name, message, exit code) or returned. Fails the test when it is still running after
    LIMIT seconds: a deadline that does not hold."""
    prelude = textwrap.dedent(
        """
        import json

        def outcome(call):
            try:
                result = call()
            except Exception as exc:
                print(json.dumps({"error": type(exc).__name__, "message": str(exc),
                                  "exit": getattr(exc, "exit_code", None)}))
            else:
                print(json.dumps({"result": repr(result)}))
        """
    )
    environ = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=LIMIT,
            cwd=ROOT,
            env={**environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the client was still waiting after {LIMIT} s: its 1 s deadline did not hold")
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


ANSWERS = [STATUS_LINE_BYTE_BY_BYTE, HEADERS_BYTE_BY_BYTE, ENDLESS_CONTINUE]
WAITING = "still waiting for the status line and headers"


# --- promoter.http ------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [*ANSWERS, CHUNK_SIZE_BYTE_BY_BYTE])
def test_the_deadline_covers_the_whole_exchange(misbehaving: Callable[..., Misbehaving], answer: str) -> None:
    server = misbehaving(lambda line: answer)
    got = bounded(
        f"""
        from promoter.http import Http
        outcome(lambda: Http(deadline=1.0, timeout=10.0).request("GET", "http://{server.host}/x"))
        """
    )
    doing = "0 bytes of the body came" if answer == CHUNK_SIZE_BYTE_BY_BYTE else WAITING
    assert got == {
        "error": "DeadlineExceeded",
        "message": f"GET http://{server.host}/x: no complete answer within 1s, the deadline ({doing})",
        "exit": 4,
    }
    assert len(server.requests) == 1  # a deadline is not retried
    assert server.closed.acquire(timeout=10), "the server never saw the connection closed"


# --- the registry gate and its token endpoint ---------------------------------------------------------


@pytest.mark.parametrize("answer", ANSWERS)
def test_registry_gate(misbehaving: Callable[..., Misbehaving], answer: str) -> None:
    server = misbehaving(lambda line: answer)
    got = bounded(
        f"""
        from promoter.upstream.registry import client
        client.DEADLINE = 1.0
        outcome(lambda: client.Registry(retries=2, backoff=0.0).digest("{server.host}/app", "1.0"))
        """
    )
    assert got == {
        "error": "Unreachable",
        "message": f"registry {server.host}: HEAD /v2/app/manifests/1.0 no complete answer within 1s, "
        f"the deadline ({WAITING}) after 1 try",
        "exit": 4,
    }


@pytest.mark.parametrize("answer", ANSWERS)
def test_registry_token_endpoint(misbehaving: Callable[..., Misbehaving], answer: str) -> None:
    def registry(line: str) -> str | bytes:
        if " /token?" in line:
            return answer
        challenge = f'Bearer realm="http://127.0.0.1:{server.port}/token",service="registry"'
        return f"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\nContent-Length: 0\r\n\r\n".encode()

    server = misbehaving(registry)
    got = bounded(
        f"""
        from promoter.upstream.registry import client
        client.DEADLINE = 1.0
        outcome(lambda: client.Registry(retries=0).digest("{server.host}/app", "1.0"))
        """
    )
    assert got["error"] == "Unreachable" and got["exit"] == 4
    assert got["message"] == (
        f"token service {server.host} of registry {server.host}: GET /token no complete answer within 1s, "
        f"the deadline ({WAITING}) after 1 try"
    )
    assert [line.split("?")[0] for line, _ in server.requests] == ["HEAD /v2/app/manifests/1.0 HTTP/1.1", "GET /token"]


# --- the forge clients --------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("forge", ["github", "gitlab"])
def test_forge_clients(misbehaving: Callable[..., Misbehaving], answer: str, forge: str) -> None:
    server = misbehaving(lambda line: answer)
    api = f"http://{server.host}/api"
    make = (
        f'github.GitHub("org", "app", "tok3n", api_url="{api}")'
        if forge == "github"
        else f'gitlab.GitLab("org/app", "tok3n", api_url="{api}")'
    )
    got = bounded(
        f"""
        from promoter.ship.forge import github, gitlab
        {forge}.DEADLINE = 1.0
        outcome(lambda: {make}.commit_statuses("{"a" * 40}"))
        """
    )
    assert got["error"] == "ExternalError" and got["exit"] == 4
    message = str(got["message"])
    assert message.endswith(f"no complete answer within 1s, the deadline ({WAITING})"), message
    assert api in message and "tok3n" not in message
    assert len(server.requests) == 1


# --- verify: http ----------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ANSWERS)
def test_verify_http_timeout(misbehaving: Callable[..., Misbehaving], answer: str, tmp_path: Path) -> None:
    """The check's `timeout:` (1 s, the smallest it takes) is its deadline, whatever the server does."""
    server = misbehaving(lambda line: answer)
    got = bounded(
        f"""
        from pathlib import Path
        from promoter.model import VerifyCheck
        from promoter.policy import verify
        check = VerifyCheck("http", 7, url="http://{server.host}/health", expect="ok", timeout=1, retries=0)
        [verdict] = verify.run((check,), "{"a" * 40}", "aaaaaaa", "production", Path("{tmp_path}"))
        outcome(lambda: (verdict.passed, verdict.detail))
        """
    )
    detail = f"GET http://{server.host}/health: no complete answer within 1s, the deadline ({WAITING})"
    assert got == {"result": repr((False, detail))}


# --- through a proxy ------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [STATUS_LINE_BYTE_BY_BYTE, HEADERS_BYTE_BY_BYTE])  # 100 to CONNECT: refused
def test_a_proxy_trickling_its_connect_answer(misbehaving: Callable[..., Misbehaving], answer: str) -> None:
    proxy = misbehaving(lambda line: answer)
    url = "https://service.example.test/x"  # not loopback: proxied
    got = bounded(
        f"""
        from promoter.http import Http
        outcome(lambda: Http(deadline=1.0, timeout=10.0).request("GET", "{url}"))
        """,
        env={"https_proxy": f"http://{proxy.host}"},
    )
    assert got == {
        "error": "DeadlineExceeded",
        "message": f"GET {url}: no complete answer within 1s, the deadline "
        f"(still connecting through the proxy {proxy.host})",
        "exit": 4,
    }
    assert [line for line, _ in proxy.requests] == ["CONNECT service.example.test:443 HTTP/1.0"]


# --- the watchdog's own cost ------------------------------------------------------------------------


def test_no_thread_or_socket_left_behind_by_many_requests(misbehaving: Callable[..., Misbehaving]) -> None:
    """Hundreds of requests, kept alive and not, end with the threads and file descriptors there
    were after the first: one watchdog serves them all, and it holds nothing once they are done."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    keep = misbehaving(lambda line: ok)
    close = misbehaving(lambda line: ok[:17] + b"Connection: close\r\n" + ok[17:])
    client = Http()

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    for server in (keep, close):
        client.request("GET", f"http://{server.host}/warm-up")
    client.close()

    def ours() -> set[threading.Thread]:  # the servers' threads left out
        theirs = {keep.thread, close.thread, *keep.threads, *close.threads}
        return set(threading.enumerate()) - theirs

    threads, descriptors = ours(), fds()
    for i in range(150):
        for server in (keep, close):
            assert client.request("GET", f"http://{server.host}/{i}").body == b"ok"
    client.close()
    # (other tests' servers in this process may end their threads meanwhile: only new ones count)
    assert ours() - threads == set()
    assert [t for t in threads if t.name == "promoter-http-deadline"] == [
        t for t in ours() if t.name == "promoter-http-deadline"
    ]  # the one watchdog of the warm-up, still the one
    # the servers run in this process too: the last connections' server ends close in their own
    # threads, a moment later; a descriptor the client leaked would stay
    end = time.monotonic() + 5
    while fds() > descriptors and time.monotonic() < end:
        time.sleep(0.01)
    assert fds() <= descriptors
