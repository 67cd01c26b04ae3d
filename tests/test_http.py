"""promoter.http against real HTTP servers and a real proxy on 127.0.0.1 (tests/registry_fixtures.py):
retries and Retry-After, redirects and the Authorization header, the body cap, the deadline,
keep-alive, proxies. Waits go through the `sleep` hook and are recorded, never slept."""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from promoter.errors import ExternalError
from promoter.http import (
    USER_AGENT,
    BadRedirect,
    DeadlineExceeded,
    Http,
    HttpError,
    Response,
    Retrying,
    TooLarge,
    WaitTooLong,
)
from tests.registry_fixtures import Proxy, Server, free_port, reply, self_signed, server_tls

StartServer = Callable[..., Server]


class Sleeps(list[float]):
    """A fake `sleep` that records what it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def answers(*replies: tuple[int, dict[str, str]] | tuple[int, dict[str, str], bytes]) -> Callable[..., None]:
    """A behaviour answering each request with the next reply, the last one for ever after."""
    queue = list(replies)
    lock = threading.Lock()

    def behaviour(req: BaseHTTPRequestHandler) -> None:
        with lock:
            status, headers, *body = queue.pop(0) if len(queue) > 1 else queue[0]
        reply(req, status, headers, body[0] if body else b"")

    return behaviour


def http(sleeps: Sleeps | None = None, **retry: object) -> Http:
    return Http(retry=Retrying(**{"backoff": 0.5, **retry}), sleep=sleeps if sleeps is not None else Sleeps())  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.upper(), raising=False)


# --- retries and Retry-After ------------------------------------------------------------------------


def test_retry_after_as_seconds_and_as_a_date(fault_server: StartServer) -> None:
    in_a_while = email.utils.formatdate(time.time() + 30, usegmt=True)
    server = fault_server(answers((503, {"Retry-After": "3"}), (429, {"Retry-After": in_a_while}), (200, {}, b"ok")))
    sleeps = Sleeps()
    resp = http(sleeps).request("GET", f"http://{server.host}/x")
    assert (resp.status, resp.body, resp.attempts) == (200, b"ok", 3)
    assert sleeps[0] == 3.0
    assert 20 <= sleeps[1] <= 30  # the date, less the second or so that passed
    assert len(sleeps) == 2 and len(server.requests) == 3


def test_retry_after_date_in_the_past_is_no_wait(fault_server: StartServer) -> None:
    server = fault_server(answers((503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), (200, {})))
    sleeps = Sleeps()
    assert http(sleeps).request("GET", f"http://{server.host}/x").status == 200
    assert sleeps == [0.0]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("3600", "1h"),
        ("in 7200 s", r"(1h59m\d+s|2h)"),  # an HTTP date two hours from when the test runs
        ("9" * 400, "11574d1h46m40s"),  # urllib3 reads it as its longest wait
    ],
)
def test_retry_after_over_the_cap_ends_at_once(fault_server: StartServer, value: str, shown: str) -> None:
    if value.startswith("in "):  # the date is made now, not when the tests were collected
        value = email.utils.formatdate(time.time() + float(value.split()[1]), usegmt=True)
    server = fault_server(answers((429, {"Retry-After": value}, b"slow down")))
    sleeps = Sleeps()
    with pytest.raises(WaitTooLong) as err:
        http(sleeps, max_wait=60).request("GET", f"http://{server.host}/x")
    assert isinstance(err.value, ExternalError) and err.value.exit_code == 4
    assert re.fullmatch(
        rf"GET http://{server.host}/x: answered 429 Too Many Requests and asks to wait {shown} before "
        r"another try, longer than promoter waits \(1m\): try again later",
        str(err.value),
    ), str(err.value)
    assert err.value.response.body == b"slow down"
    assert sleeps == [] and len(server.requests) == 1


@pytest.mark.parametrize("value", ["-5", "soon", "1.5", "", "Wed, 45 Foo 2015 99:00:00 GMT", "0x10", "5 s"])
def test_negative_or_malformed_retry_after_falls_back_to_the_backoff(fault_server: StartServer, value: str) -> None:
    server = fault_server(answers((503, {"Retry-After": value}), (200, {})))
    sleeps = Sleeps()
    assert http(sleeps).request("GET", f"http://{server.host}/x").status == 200
    assert sleeps == [0.5]


def test_tries_are_bounded_and_the_last_answer_returned(fault_server: StartServer) -> None:
    server = fault_server(answers((502, {}, b"bad gateway")))
    sleeps = Sleeps()
    resp = http(sleeps, attempts=4).request("GET", f"http://{server.host}/x")
    assert (resp.status, resp.reason, resp.body, resp.attempts) == (502, "Bad Gateway", b"bad gateway", 4)
    assert sleeps == [0.5, 1.0, 2.0] and len(server.requests) == 4


def test_a_long_backoff_is_not_a_wait_too_long(fault_server: StartServer) -> None:
    """max_wait caps what a server asks for; the back-off has its own cap (max_backoff)."""
    server = fault_server(answers((503, {}), (200, {})))
    sleeps = Sleeps()
    resp = http(sleeps, backoff=90.0, max_backoff=120.0, max_wait=30.0).request("GET", f"http://{server.host}/x")
    assert (resp.status, sleeps) == (200, [90.0])


def test_other_answers_are_not_retried(fault_server: StartServer) -> None:
    server = fault_server(answers((404, {}, b"no such thing")))
    sleeps = Sleeps()
    resp = http(sleeps).request("GET", f"http://{server.host}/x")
    assert (resp.status, resp.attempts, sleeps, len(server.requests)) == (404, 1, [], 1)


def test_rate_limit_hook_retries_what_the_statuses_do_not(fault_server: StartServer) -> None:
    def limited(resp: Response) -> float | None:
        return 0.25 if resp.status == 403 and resp.headers.get("x-limited") == "yes" else None

    server = fault_server(
        answers((403, {"X-Limited": "yes"}), (403, {"X-Limited": "yes", "Retry-After": "2"}), (200, {}))
    )
    sleeps = Sleeps()
    assert http(sleeps, rate_limit=limited).request("GET", f"http://{server.host}/x").status == 200
    assert sleeps == [0.25, 2.0]  # Retry-After, when there is one, wins over the hook's own wait


def test_network_failures_are_retried_then_reported() -> None:
    port = free_port()  # nothing listens there
    sleeps = Sleeps()
    with pytest.raises(HttpError) as err:
        http(sleeps).request("GET", f"http://robot:pa55word@127.0.0.1:{port}/x?q=1")
    assert str(err.value) == (
        f"GET http://***@127.0.0.1:{port}/x?q=1: cannot connect (connection refused) after 3 tries"
    )
    assert err.value.attempts == 3 and err.value.exit_code == 4
    assert sleeps == [0.5, 1.0]


# --- redirects --------------------------------------------------------------------------------------


def test_authorization_stays_on_its_origin(fault_server: StartServer) -> None:
    other = fault_server(answers((200, {}, b"other")))

    def redirector(req: BaseHTTPRequestHandler) -> None:
        port = req.server.server_address[1]
        targets = {
            "/same": "/landing",
            "/port": f"http://{other.host}/landing",
            "/host": f"http://localhost:{port}/landing",
        }
        if req.path in targets:
            reply(req, 302 if req.path != "/host" else 307, {"Location": targets[req.path]})
        else:
            reply(req, 200, {}, b"landed")

    origin = fault_server(redirector)
    client = Http()
    sent = {"Authorization": "Bearer s3cret-token", "X-Trace": "t1"}

    resp = client.request("GET", f"http://{origin.host}/same", headers=sent)
    assert (resp.body, resp.url) == (b"landed", f"http://{origin.host}/landing")
    assert origin.requests[1][2]["authorization"] == "Bearer s3cret-token"  # same origin: kept

    resp = client.request("GET", f"http://{origin.host}/port", headers=sent)
    assert (resp.body, resp.url) == (b"other", f"http://{other.host}/landing")
    assert "authorization" not in other.requests[0][2]  # another port: dropped
    assert other.requests[0][2]["x-trace"] == "t1"  # other headers go on

    origin.requests.clear()
    resp = client.request("GET", f"http://{origin.host}/host", headers={"authorization": "Bearer s3cret-token"})
    assert resp.url == f"http://localhost:{origin.server_address[1]}/landing"
    (_, _, first), (_, path, then) = origin.requests
    assert first["authorization"] == "Bearer s3cret-token"
    assert (path, then["host"]) == ("/landing", f"localhost:{origin.server_address[1]}")
    assert "authorization" not in then  # another host name, same server: dropped all the same


def test_gitlab_token_header_stays_on_its_origin_too(fault_server: StartServer) -> None:
    """GitLab's PRIVATE-TOKEN is a credential like Authorization: a redirect to another origin
    (another port here) goes there without it; on the same origin it is kept."""
    other = fault_server(answers((200, {}, b"other")))
    origin = fault_server(
        lambda req: (
            reply(req, 302, {"Location": f"http://{other.host}/x"})
            if req.path == "/away"
            else (reply(req, 302, {"Location": "/here"}) if req.path == "/stay" else reply(req, 200, {}, b"here"))
        )
    )
    client = Http()
    assert client.request("GET", f"http://{origin.host}/away", headers={"PRIVATE-TOKEN": "glpat-s3cret"}).body == (
        b"other"
    )
    assert "private-token" not in other.requests[0][2]
    assert client.request("GET", f"http://{origin.host}/stay", headers={"PRIVATE-TOKEN": "glpat-s3cret"}).body == (
        b"here"
    )
    assert origin.requests[-1][2]["private-token"] == "glpat-s3cret"


def test_plain_http_allowed_only_to_loopback_and_listed_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    from promoter.http import plain_http_allowed

    monkeypatch.delenv("PROMOTER_TEST_INSECURE", raising=False)
    for url in ("https://gitlab.corp/api/v4", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]:1/x"):
        assert plain_http_allowed(url, "PROMOTER_TEST_INSECURE"), url
    for url in ("http://gitlab.corp/api/v4", "http://127.0.0.1.nip.io/x", "ftp://127.0.0.1/x", "http:///x"):
        assert not plain_http_allowed(url, "PROMOTER_TEST_INSECURE"), url
    monkeypatch.setenv("PROMOTER_TEST_INSECURE", " gitlab.corp , ghe.corp:8080,")
    assert plain_http_allowed("http://gitlab.corp/api/v4", "PROMOTER_TEST_INSECURE")
    assert plain_http_allowed("http://GitLab.corp:81/api/v4", "PROMOTER_TEST_INSECURE")  # a host: any port
    assert plain_http_allowed("http://ghe.corp:8080/api/v3", "PROMOTER_TEST_INSECURE")
    assert not plain_http_allowed("http://ghe.corp/api/v3", "PROMOTER_TEST_INSECURE")  # host:port: that port only
    assert not plain_http_allowed("http://other.corp/", "PROMOTER_TEST_INSECURE")


def test_no_redirect_from_https_to_http(
    fault_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = fault_server(answers((200, {})))
    key, cert = self_signed(tmp_path, "127.0.0.1", "IP:127.0.0.1")
    secure = fault_server(answers((301, {"Location": f"http://{plain.host}/x"})))
    secure.socket = server_tls(key, cert).wrap_socket(secure.socket, server_side=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with pytest.raises(BadRedirect) as err:
        Http().request("GET", f"https://{secure.host}/x", headers={"Authorization": "Bearer s3cret-token"})
    assert str(err.value) == f"GET https://{secure.host}/x: refusing a redirect from https to http://{plain.host}/x"
    assert plain.requests == [] and len(secure.requests) == 1


def test_redirects_are_bounded_and_change_the_method_as_browsers_do(fault_server: StartServer) -> None:
    def behaviour(req: BaseHTTPRequestHandler) -> None:
        routes = {"/loop": (302, "/loop"), "/see-other": (303, "/end"), "/temporary": (307, "/end")}
        if req.path in routes:
            status, location = routes[req.path]
            reply(req, status, {"Location": location})
        else:
            reply(req, 200, {}, b"end")

    server = fault_server(behaviour)
    client = Http()
    with pytest.raises(BadRedirect, match=r"/loop: more than 5 redirects$"):
        client.request("GET", f"http://{server.host}/loop")
    assert len(server.requests) == 6
    server.requests.clear()
    assert client.request("POST", f"http://{server.host}/see-other", json={"a": 1}).body == b"end"
    assert client.request("POST", f"http://{server.host}/temporary", json={"a": 1}).body == b"end"
    methods = [(m, p, h.get("content-length")) for m, p, h in server.requests]
    assert methods == [
        ("POST", "/see-other", "8"),
        ("GET", "/end", None),
        ("POST", "/temporary", "8"),
        ("POST", "/end", "8"),
    ]


# --- the body cap and the deadline ------------------------------------------------------------------


def test_body_cap_with_content_length(fault_server: StartServer) -> None:
    server = fault_server(answers((200, {}, b"x" * 100)))
    assert Http().request("GET", f"http://{server.host}/x", max_body=100).body == b"x" * 100
    with pytest.raises(TooLarge) as err:
        Http().request("GET", f"http://{server.host}/x", max_body=99)
    assert str(err.value) == f"GET http://{server.host}/x: the answer is larger than 99 bytes, more than promoter reads"
    assert isinstance(err.value, ExternalError) and len(server.requests) == 2  # not retried
    head = Http().request("HEAD", f"http://{server.host}/x", max_body=10)  # its Content-Length is GET's
    assert (head.status, head.headers["content-length"], head.body) == (200, "100", b"")


@pytest.mark.parametrize("framing", ["close-delimited", "chunked"])
def test_body_cap_while_streaming(fault_server: StartServer, framing: str) -> None:
    """No Content-Length to judge by: the cap holds while the body is read."""
    sent: list[int] = []

    def endless(req: BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        if framing == "chunked":
            req.protocol_version = "HTTP/1.1"
            req.send_header("Transfer-Encoding", "chunked")
        req.end_headers()
        chunk = b"y" * 4096
        try:
            for _ in range(1000):  # 4 MB, far more than the cap
                req.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if framing == "chunked" else chunk)
                sent.append(len(chunk))
        except OSError:
            pass  # the client hung up

    server = fault_server(endless)
    with pytest.raises(TooLarge, match="larger than 10000 bytes"):
        Http().request("GET", f"http://{server.host}/x", max_body=10_000)
    assert len(server.requests) == 1


def test_deadline_against_a_trickling_server(fault_server: StartServer) -> None:
    """One byte every 0.5 s of a 100-byte body: the socket never times out, the deadline ends it."""
    closed = threading.Event()
    written: list[int] = []

    def trickle(req: BaseHTTPRequestHandler) -> None:
        assert isinstance(req.server, Server)
        req.send_response(200)
        req.send_header("Content-Length", "100")
        req.end_headers()
        try:
            for _ in range(100):
                req.wfile.write(b"z")
                written.append(1)
                if req.server.stopping.wait(0.5):
                    return
        except OSError:  # BrokenPipe or ConnectionReset: the client closed the connection
            closed.set()

    server = fault_server(trickle)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded) as err:
        Http(deadline=2.0, timeout=10.0).request("GET", f"http://{server.host}/slow")
    elapsed = time.monotonic() - started
    match = re.fullmatch(
        rf"GET http://{server.host}/slow: no complete answer within 2s, the deadline \((\d+) bytes of the body came\)",
        str(err.value),
    )
    assert match is not None, str(err.value)
    assert 0 < int(match.group(1)) < 100
    assert err.value.attempts == 1  # a deadline is not retried
    assert closed.wait(10), "the server never saw the connection closed"
    assert len(written) < 100 and elapsed < 20  # did not hang until the whole body came (50 s)


def test_deadline_against_a_server_that_never_answers(fault_server: StartServer) -> None:
    def silent(req: BaseHTTPRequestHandler) -> None:
        assert isinstance(req.server, Server)
        req.server.stopping.wait(30)  # released when the test ends

    server = fault_server(silent)
    started = time.monotonic()
    with pytest.raises(
        DeadlineExceeded,
        match=r"no complete answer within 1s, the deadline \(still waiting for the status line and headers\)$",
    ):
        Http(deadline=1.0, timeout=10.0).request("GET", f"http://{server.host}/x")
    assert time.monotonic() - started < 9  # the 10 s socket timeout was cut to the deadline


# --- connections, headers, proxies ------------------------------------------------------------------


def test_keep_alive_reuses_one_connection(fault_server: StartServer) -> None:
    server = fault_server(answers((503, {}, b"busy"), (200, {}, b"one"), (200, {}, b"two")), keep_alive=True)
    client = http()
    assert client.request("GET", f"http://{server.host}/a").body == b"one"  # after a retried 503
    assert client.request("GET", f"http://{server.host}/b").body == b"two"
    assert len(server.requests) == 3
    assert len(server.connections) == 1
    # the count is real: a server that closes every connection sees one per request
    closing = fault_server(answers((200, {}, b"x")))
    client.request("GET", f"http://{closing.host}/a")
    client.request("GET", f"http://{closing.host}/b")
    assert len(closing.connections) == 2


def test_user_agent_and_identity_encoding(fault_server: StartServer) -> None:
    server = fault_server(answers((200, {})))
    Http().request("GET", f"http://{server.host}/x", headers={"Accept": "application/json"})
    headers = server.requests[0][2]
    assert USER_AGENT.startswith("promoter/")
    assert (headers["user-agent"], headers["accept-encoding"], headers["accept"]) == (
        USER_AGENT,
        "identity",
        "application/json",
    )


NAME = "service.example.test"  # only the proxy can resolve it


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with Proxy({NAME: "127.0.0.1"}) as running:
        yield running


def test_proxy_from_the_environment_and_no_proxy(
    fault_server: StartServer, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fault_server(answers((200, {}, b"via")))
    url = f"http://{NAME}:{server.server_address[1]}/x"
    monkeypatch.setenv("http_proxy", proxy.url)
    assert Http().request("GET", url).body == b"via"
    assert proxy.seen == [("GET", url, None)]

    monkeypatch.setenv("no_proxy", "elsewhere.test,.example.test")
    with pytest.raises(HttpError, match=r"cannot connect \(") as err:
        http(attempts=1).request("GET", url)  # direct: the name does not resolve here
    assert "through the proxy" not in str(err.value)
    monkeypatch.delenv("no_proxy")
    monkeypatch.setenv("NO_PROXY", NAME)
    with pytest.raises(HttpError, match=r"cannot connect \("):
        http(attempts=1).request("GET", url)
    assert len(proxy.seen) == 1


def test_loopback_is_never_proxied(fault_server: StartServer, proxy: Proxy, monkeypatch: pytest.MonkeyPatch) -> None:
    server = fault_server(answers((200, {}, b"direct")))
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("all_proxy", proxy.url)
    port = server.server_address[1]
    for host in ("127.0.0.1", "localhost"):
        assert Http().request("GET", f"http://{host}:{port}/x").body == b"direct"
    assert proxy.seen == [] and len(server.requests) == 2


def test_a_refusing_proxy_is_named_without_its_credentials(
    fault_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fault_server(answers((200, {})))
    url = f"http://{NAME}:{server.server_address[1]}/x"
    with Proxy({NAME: "127.0.0.1"}, password="pr0xy-S3cret") as proxy:
        monkeypatch.setenv("http_proxy", f"http://proxy-user:wr0ng-S3cret@{proxy.host}")
        with pytest.raises(HttpError) as refused:
            http(attempts=1).request("GET", url)
    assert str(refused.value) == (
        f"GET {url}: cannot connect through the proxy {proxy.host} (407 Proxy Authentication Required)"
    )
    assert proxy.seen[0][2] is not None and server.requests == []
    closed = free_port()  # no proxy listens there
    monkeypatch.setenv("http_proxy", f"http://proxy-user:S3cret@127.0.0.1:{closed}")
    with pytest.raises(HttpError) as down:
        http(attempts=1).request("GET", url)
    assert str(down.value) == f"GET {url}: cannot connect through the proxy 127.0.0.1:{closed} (connection refused)"
    for err in (refused, down):
        assert "S3cret" not in str(err.value) + repr(err.value)
