"""One HTTP layer: every request promoter makes (OCI registries, the GitHub API, later `verify:
http` checks) goes through `Http.request`.

Built on a requests `Session` (one per client, reused: keep-alive pooling), with:

- retries: a bounded number of tries for 429/5xx answers (and any answer `Retrying.rate_limit`
  marks) and for network failures, exponential back-off, `Retry-After` honoured as delta-seconds
  or as an HTTP date (read by urllib3's `Retry`); a wait longer than `Retrying.max_wait` ends with
  `WaitTooLong` instead of sleeping; negative or malformed values fall back to the back-off.
  Waits go through the `sleep` hook, so tests record them instead of waiting;
- redirects followed here (at most 5): Authorization, Proxy-Authorization, Cookie and GitLab's
  PRIVATE-TOKEN headers stay on their origin (scheme, host and port), an https URL is never
  redirected to plain http; `Response.url` is the URL that answered, for callers that judge an
  answer by who gave it (a 401's challenge is only the registry's own);
- every answer's body (redirects and retried answers included) read in chunks, at most
  `max_body` bytes (`TooLarge` beyond);
- one overall deadline per call (`DeadlineExceeded`) for the whole exchange: connecting (a
  proxy's CONNECT answer and the TLS handshake too), the status line, the headers, interim
  `100 Continue` answers and the body. A server trickling a byte at a time, never finishing a
  header or answering `100 Continue` for ever cannot hold a request past it: one watchdog thread
  for the whole process shuts the connection's socket down when the deadline passes (see
  `_Watchdog`), and the error says what was under way;
- proxies from the environment (`https_proxy`, `http_proxy`, `all_proxy`, `no_proxy`, as requests
  reads them; https:// proxy URLs work too); loopback hosts are never proxied;
- the system's trust store (OpenSSL's defaults: SSL_CERT_FILE, SSL_CERT_DIR) for TLS;
- `User-Agent: promoter/<version>`, `Accept-Encoding: identity` (bodies are the exact bytes sent),
  no cookies kept, no ~/.netrc (requests would put its credentials over an explicit Authorization);
- failures as `HttpError` (an `ExternalError`, exit 4) with a specific `detail`, never a
  credential: URLs in messages are redacted and header values never appear.

Why not urllib3's retry loop inside the adapter: it sleeps with `time.sleep` (no hook), reads the
body of every retried answer to its end (no size cap, no deadline), and clamps a long Retry-After
instead of giving up. requests' own redirect loop likewise reads redirect bodies unbounded and
applies ~/.netrc. So both loops are here; urllib3's `Retry` still parses `Retry-After`.

requests and urllib3 are imported when the first request is made: importing this module costs
only the standard library's lightest parts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from promoter import __version__
from promoter.durations import format as duration
from promoter.errors import ExternalError, UsageError
from promoter.records import field, record, replace
from promoter.urls import redact

if TYPE_CHECKING:
    import socket

    import requests

USER_AGENT = f"promoter/{__version__}"
TIMEOUT = 10.0  # seconds a connect or a read may wait for the server
DEADLINE = 120.0  # seconds one `request` call may take in all: tries, redirects, waits, bodies
MAX_BODY = 4 * 1024 * 1024  # bytes of an answer's body
MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({429, *range(500, 600)})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# never sent to another origin: credentials, GitLab's token header among them
_ORIGIN_BOUND = frozenset({"authorization", "proxy-authorization", "cookie", "private-token"})
_CHUNK = 64 * 1024
_LONGEST_RETRY_AFTER = 10**9  # seconds (31 years): what a larger Retry-After reads as


class Headers(Mapping[str, str]):
    """An answer's headers: names case-insensitive; a repeated header reads as its values joined
    with ", " (as requests shows it), `get_all` gives them one by one."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._values: dict[str, list[str]] = {}
        self._names: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            self._values.setdefault(key, []).append(value)
            self._names.setdefault(key, name)

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._values[name.lower()])

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._values)

    def get_all(self, name: str) -> list[str]:
        return list(self._values.get(name.lower(), []))

    def __repr__(self) -> str:
        return f"Headers({list(self._names.values())})"  # names only: values may be secrets


@record(frozen=True)
class Response:
    """A complete answer: its body was read to the end (at most `max_body` bytes)."""

    status: int
    reason: str
    headers: Headers
    body: bytes = field(repr=False)
    url: str  # the URL that answered, after redirects
    attempts: int = 1  # tries it took (a retried 5xx answer is the last one when tries ran out)


@record(frozen=True)
class Retrying:
    """When and how long to retry.

    An answer is retried when its status is in `statuses`, or when `rate_limit` (a server's own
    "come back later", such as GitHub's 403 with `x-ratelimit-remaining: 0`) gives a wait for it.
    The wait is the answer's Retry-After when it has a valid one, else what `rate_limit` said,
    else the back-off (`backoff` seconds before the 2nd try, doubled for each further one, at most
    `max_backoff`). A wait the server asks for beyond `max_wait` ends with `WaitTooLong`.
    Network failures (refused, reset, timed out, cut off) are retried with the back-off.
    """

    attempts: int = 3  # tries in all; 1: no retry
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_wait: float = 60.0
    statuses: frozenset[int] = RETRY_STATUSES
    rate_limit: Callable[[Response], float | None] | None = None

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_wait < 0:
            raise ValueError("backoff, max_backoff and max_wait must not be negative")

    def backoff_after(self, tries: int) -> float:
        """Seconds to wait after `tries` failed tries."""
        return min(self.backoff * 2.0 ** (tries - 1), self.max_backoff)

    def wait_for(self, resp: Response, tries: int) -> tuple[float, bool] | None:
        """Seconds to wait before retrying `resp` and whether the server asked for them (else they
        are the back-off); None when it is not to be retried."""
        hint = self.rate_limit(resp) if self.rate_limit is not None else None
        if resp.status not in self.statuses and hint is None:
            return None
        after = retry_after(resp.headers.get("retry-after"))
        if after is not None:
            return after, True
        return (hint, True) if hint is not None else (self.backoff_after(tries), False)


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After value asks for (delta-seconds or an HTTP date; a date in the past is
    0), None when absent, negative or malformed."""
    if value is None:
        return None
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    try:
        return float(Retry(retry_after_max=_LONGEST_RETRY_AFTER).parse_retry_after(value))
    except (InvalidHeader, ValueError, TypeError, IndexError, OverflowError):
        return None


# --- errors ---------------------------------------------------------------------------------------


class HttpError(ExternalError):
    """No usable answer. `detail` says what happened (never a credential), `url` is redacted,
    `attempts` counts the tries made. `retryable` failures are tried again while tries remain."""

    retryable = True

    def __init__(self, method: str, url: str, detail: str) -> None:
        self.method = method
        self.url = redact(url)
        self.detail = detail
        self.attempts = 1
        super().__init__(self._text())

    def _text(self) -> str:
        tries = f" after {self.attempts} tries" if self.attempts > 1 else ""
        return f"{self.method} {self.url}: {self.detail}{tries}"

    def tried(self, attempts: int) -> HttpError:
        self.attempts = attempts
        self.args = (self._text(),)
        return self


class Cutoff(HttpError):
    """The connection broke in the middle of the answer; `received` bytes of its body came."""

    def __init__(self, method: str, url: str, received: int, why: str) -> None:
        self.received = received
        super().__init__(method, url, f"the answer was cut off after {received} bytes of its body ({why})")


class TooLarge(HttpError):
    retryable = False

    def __init__(self, method: str, url: str, max_body: int) -> None:
        self.max_body = max_body
        super().__init__(method, url, f"the answer is larger than {max_body} bytes, more than promoter reads")


class DeadlineExceeded(HttpError):
    """The call's deadline passed: `received` bytes of the body had come, or (`doing`) it was
    still connecting, sending the request, or waiting for the status line and headers."""

    retryable = False

    def __init__(
        self, method: str, url: str, deadline: float, received: int | None = None, doing: str | None = None
    ) -> None:
        self.deadline = deadline
        self.received = received
        self.doing = doing
        came = f" ({received} bytes of the body came)" if received is not None else f" (still {doing})" if doing else ""
        super().__init__(method, url, f"no complete answer within {duration(deadline)}, the deadline{came}")


class BadCertificate(HttpError):
    retryable = False

    def __init__(self, method: str, url: str, reason: str) -> None:
        self.reason = reason
        super().__init__(method, url, f"TLS certificate verification failed ({reason})")


class BadRedirect(HttpError):
    retryable = False


class WaitTooLong(HttpError):
    """The server asks to wait longer than the caller's `max_wait` before another try."""

    retryable = False

    def __init__(self, method: str, url: str, response: Response, wait: float, max_wait: float) -> None:
        self.response = response
        self.wait = wait
        self.max_wait = max_wait
        super().__init__(
            method,
            url,
            f"answered {response.status} {response.reason} and asks to wait {duration(wait)} before another "
            f"try, longer than promoter waits ({duration(max_wait)}): try again later",
        )


# --- the client -----------------------------------------------------------------------------------


class Http:
    """An HTTP client: one connection pool, one retry policy, one deadline per `request` call."""

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT,
        deadline: float = DEADLINE,
        max_body: int = MAX_BODY,
        retry: Retrying | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0 or deadline <= 0 or max_body < 0:
            raise ValueError("timeout and deadline must be positive, max_body not negative")
        self.timeout = timeout
        self.deadline = deadline
        self.max_body = max_body
        self.retry = retry if retry is not None else Retrying()
        self._sleep = sleep
        self._session: requests.Session | None = None

    def __repr__(self) -> str:
        return f"Http(timeout={self.timeout}, deadline={self.deadline}, attempts={self.retry.attempts})"

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        max_body: int | None = None,
        deadline: float | None = None,
        private: Iterable[str] = (),
    ) -> Response:
        """Send `method url` (retried, redirects followed) and return the complete answer, whatever
        its status: a 4xx, or a 5xx when tries ran out, is the caller's to judge. `HttpError` when
        no usable answer came; `WaitTooLong` when the server asks for too long a wait. `private`
        names further headers that, as Authorization does, stay on the URL's origin: a redirect
        to another origin is followed without them."""
        method = method.upper()
        bound = _ORIGIN_BOUND | {name.lower() for name in private}
        limit = self.deadline if deadline is None else deadline
        cap = self.max_body if max_body is None else max_body
        end = time.monotonic() + limit
        policy = self.retry
        tries = 0
        while True:
            tries += 1
            failure: HttpError | None = None
            try:
                resp = self._follow(method, url, dict(headers or {}), params, json, cap, end, limit, bound)
            except HttpError as exc:
                failure = exc
            if failure is not None:
                wait = policy.backoff_after(tries)
                if not failure.retryable or tries >= policy.attempts or time.monotonic() + wait >= end:
                    raise failure.tried(tries)
                self._sleep(wait)
                continue
            resp = replace(resp, attempts=tries)
            retry = policy.wait_for(resp, tries)
            if retry is None:
                return resp
            wait, asked = retry
            if asked and wait > policy.max_wait:
                raise WaitTooLong(method, url, resp, wait, policy.max_wait).tried(tries)
            if tries >= policy.attempts or time.monotonic() + wait >= end:
                return resp
            self._sleep(wait)

    # --- one try: redirects -----------------------------------------------------------------------

    def _follow(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        json: Any,
        max_body: int,
        end: float,
        deadline: float,
        bound: frozenset[str] | set[str] = _ORIGIN_BOUND,
    ) -> Response:
        first = (method, url)
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._exchange(method, url, headers, params, json, max_body, end, deadline)
            location = resp.headers.get("location")
            if resp.status not in _REDIRECT_STATUSES or not location:
                return resp
            new = urljoin(resp.url, location.strip())
            target = urlsplit(new)
            if target.scheme not in ("http", "https") or not target.hostname:
                raise BadRedirect(*first, f"refusing a redirect to {redact(new)} (not an http(s) URL)")
            if urlsplit(url).scheme == "https" and target.scheme != "https":
                raise BadRedirect(*first, f"refusing a redirect from https to {redact(new)}")
            if _origin(new) != _origin(url):
                headers = {k: v for k, v in headers.items() if k.lower() not in bound}
            if (resp.status == 303 and method != "HEAD") or (resp.status in (301, 302) and method == "POST"):
                method, json = "GET", None
            url, params = new, None
        raise BadRedirect(*first, f"more than {MAX_REDIRECTS} redirects")

    # --- one exchange -------------------------------------------------------------------------------

    def _session_(self) -> requests.Session:
        if self._session is None:
            self._session = _new_session()
        return self._session

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        params: Mapping[str, str] | None,
        json: Any,
        max_body: int,
        end: float,
        deadline: float,
    ) -> Response:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded(method, url, deadline)
        session = self._session_()
        proxy = _proxy_for(url)
        connecting = f"connecting through the proxy {_hostport(proxy)}" if proxy else "connecting"
        with _watchdog().watching(end, connecting) as watch:
            failure: HttpError | UsageError | None = None
            try:
                raw = session.request(
                    method,
                    url,
                    headers=headers,
                    params=params,
                    json=json,
                    stream=True,
                    allow_redirects=False,
                    timeout=min(self.timeout, remaining),
                    proxies={urlsplit(url).scheme: proxy} if proxy else {},
                )
            except OSError as exc:  # requests' exceptions are OSErrors
                failure = self._failure(method, url, exc, proxy, end, deadline)
                if watch.fired or isinstance(failure, DeadlineExceeded):
                    # the watchdog shut the connection down, or a read timed out as the deadline passed
                    failure = DeadlineExceeded(method, url, deadline, doing=watch.doing)
            if failure is None and watch.fired:  # headers cut short by the shutdown read as ended
                raw.raw.close()
                raw.raw.release_conn()
                failure = DeadlineExceeded(method, url, deadline, doing=watch.doing)
            if failure is not None:
                raise failure
            try:
                body = self._read(method, url, raw, max_body, end, deadline, watch)
            except BaseException:
                raw.raw.close()  # never back into the pool with an answer half read
                raise
            finally:
                raw.raw.release_conn()
        if proxy and raw.status_code == 407:  # the proxy's answer to a request it was to forward
            said = f"407 {raw.reason or 'Proxy Authentication Required'}"
            raise HttpError(method, url, f"cannot connect through the proxy {_hostport(proxy)} ({said})")
        return Response(raw.status_code, raw.reason or "", Headers(raw.raw.headers.items()), body, raw.url or url)

    def _read(
        self, method: str, url: str, raw: requests.Response, max_body: int, end: float, deadline: float, watch: _Watch
    ) -> bytes:
        """The body, in chunks: the deadline is checked between them (each socket read waits at
        most until the deadline, and the watchdog ends a read it would not end), the size cap
        after each."""
        watch.doing = "reading the body"
        length = raw.headers.get("content-length", "")  # of a HEAD answer: the size of what GET would get
        if method != "HEAD" and length.isdigit() and int(length) > max_body:
            raise TooLarge(method, url, max_body)
        stream = raw.raw
        chunks: list[bytes] = []
        size = 0
        failure: HttpError | None = None
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded(method, url, deadline, size)
            sock = getattr(stream.connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # a closed socket: read1 says what happened
                    sock.settimeout(min(self.timeout, remaining))
            try:
                chunk = stream.read1(_CHUNK, decode_content=True)
            except Exception as exc:  # urllib3's errors (timeouts, a broken connection, bad encoding)
                failure = self._body_failure(method, url, exc, size, end, deadline)
            if watch.fired:  # the watchdog shut the connection down: what came is not the end of it
                raise DeadlineExceeded(method, url, deadline, size)
            if failure is not None:
                raise failure
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_body:
                raise TooLarge(method, url, max_body)
            chunks.append(chunk)

    def _body_failure(self, method: str, url: str, exc: Exception, size: int, end: float, deadline: float) -> HttpError:
        from urllib3.exceptions import DecodeError, HTTPError, ProtocolError, ReadTimeoutError

        if isinstance(exc, ReadTimeoutError) or _find(exc, TimeoutError) is not None:
            if time.monotonic() >= end:
                return DeadlineExceeded(method, url, deadline, size)
            return HttpError(method, url, f"timed out (the answer stopped for {duration(self.timeout)})")
        if isinstance(exc, DecodeError):
            return HttpError(method, url, "broken answer (its content encoding cannot be decoded)")
        if isinstance(exc, (ProtocolError, HTTPError, OSError)):
            return Cutoff(method, url, size, _root_name(exc))
        raise exc

    def _failure(
        self, method: str, url: str, exc: OSError, proxy: str | None, end: float, deadline: float
    ) -> HttpError | UsageError:
        """What a requests exception means, in words without secrets."""
        import http.client
        import socket
        import ssl

        from requests import exceptions as rex
        from urllib3.exceptions import NewConnectionError, ProxyError

        via = f" through the proxy {_hostport(proxy)}" if proxy else ""
        if isinstance(exc, rex.InvalidProxyURL) or (
            proxy and isinstance(exc, (rex.InvalidURL, rex.InvalidSchema)) and _find(exc, ProxyError) is None
        ):
            variable = f"{urlsplit(url).scheme}_proxy"
            return UsageError(
                f"{variable}: cannot use the proxy {redact(proxy or '')}: only http:// and https:// proxies"
            )
        if isinstance(exc, (rex.InvalidURL, rex.InvalidSchema, rex.MissingSchema, rex.InvalidHeader)):
            return _final(HttpError(method, url, f"invalid request ({type(exc).__name__})"))
        cert = _find(exc, ssl.SSLCertVerificationError)
        if cert is not None:
            return BadCertificate(method, url, str(cert.verify_message or cert.reason or "unverified"))
        if isinstance(exc, rex.Timeout) or _find(exc, TimeoutError) is not None:
            if time.monotonic() >= end:
                return DeadlineExceeded(method, url, deadline)
            return HttpError(method, url, f"timed out (no answer within {duration(self.timeout)})")
        tunnel = next((e for e in _chain(exc) if str(e).startswith("Tunnel connection failed")), None)
        if tunnel is not None:  # the proxy's own answer to CONNECT, such as 407
            return HttpError(method, url, f"cannot connect{via} ({tunnel})")
        refused = _find(exc, ConnectionRefusedError)
        if refused is not None:
            return HttpError(method, url, f"cannot connect{via} (connection refused)")
        resolve = _find(exc, socket.gaierror)
        if resolve is not None:
            return HttpError(method, url, f"cannot connect{via} ({resolve.strerror or 'unknown host'})")
        tls = _find(exc, ssl.SSLError)
        if tls is not None:
            return HttpError(method, url, f"cannot connect{via} (TLS: {tls.reason or type(tls).__name__})")
        if _find(exc, NewConnectionError) is not None or isinstance(exc, rex.ProxyError):
            os_error = _find(exc, OSError, lambda e: bool(e.strerror))
            return HttpError(method, url, f"cannot connect{via} ({os_error.strerror if os_error else _root_name(exc)})")
        if _find(exc, http.client.HTTPException) is not None or isinstance(exc, rex.ConnectionError):
            return HttpError(method, url, f"broken answer ({_root_name(exc)})")
        return HttpError(method, url, f"failed ({_root_name(exc)})")


def _final(error: HttpError) -> HttpError:
    error.retryable = False
    return error


def _new_session() -> requests.Session:
    """A Session that trusts only what promoter gives it: no proxies, CA bundle, ~/.netrc or
    cookies of its own (proxies are passed per request, see `_proxy_for`)."""
    from http.cookiejar import DefaultCookiePolicy

    import requests
    from requests.adapters import HTTPAdapter

    class SystemTrust(HTTPAdapter):
        """TLS always verified, against the system's trust store (OpenSSL's defaults, which read
        SSL_CERT_FILE and SSL_CERT_DIR) as the standard library does, not certifi's bundle.

        requests turns verification off for the pool of an http:// URL, and when that URL goes
        through an https:// proxy, that pool is the TLS connection to the proxy: verified here.
        Its pools, direct and through proxies, are watched ones (`_watched_pools`): the call's
        deadline holds for every byte of the exchange."""

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            super().cert_verify(conn, url, verify, cert)
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None  # urllib3 then loads the default certificates
            conn.ca_cert_dir = None

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    pools = _watched_pools()
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers.clear()
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Accept": "*/*"})
    adapter = SystemTrust(pool_connections=4, pool_maxsize=4, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- the watchdog -----------------------------------------------------------------------------------


class _Watch:
    """One exchange's deadline (`end`, on time.monotonic's clock), what the exchange is doing
    (said when the deadline passes), and the sockets it goes over: duplicates of their file
    descriptors, so that shutting one down ends every read and write on that connection (a
    socket being wrapped in TLS, too) and never touches another socket that took the number of
    one closed meanwhile. They are closed with the watch."""

    __slots__ = ("_lock", "_sockets", "closed", "connecting", "doing", "end", "fired")

    def __init__(self, end: float, connecting: str) -> None:
        import threading

        self.end = end
        self.connecting = connecting
        self.doing = connecting
        self.fired = False
        self.closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def add(self, sock: Any) -> None:
        import os
        import socket

        with self._lock:
            if self.closed:
                return
            try:
                fd = os.dup(sock.fileno())
            except (OSError, ValueError, AttributeError):  # closed meanwhile: nothing to watch
                return
            try:
                dup = socket.socket(fileno=fd)
            except OSError:
                os.close(fd)
                return
            self._sockets.append(dup)
            if self.fired:
                _shut(dup)

    def fire(self) -> None:
        """The deadline passed: shut the connection down (the exchange then fails at once)."""
        with self._lock:
            if self.closed:
                return
            self.fired = True
            for sock in self._sockets:
                _shut(sock)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    import socket

    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for the whole process that fires each watch whose deadline passed.

    A request costs a heap entry, a lock and a duplicated descriptor, no thread of its own; the
    thread sleeps until the earliest deadline. Watches closed before their deadline are dropped
    when it comes, or all at once when they pile up (the heap stays at most about twice the
    exchanges under way, and never under 64)."""

    def __init__(self) -> None:
        import threading

        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Watch]] = []
        self._count = 0
        self._prune_at = 64
        self._thread: threading.Thread | None = None
        self._local = threading.local()

    def current(self) -> _Watch | None:
        """The watch of the exchange under way in this thread, if any."""
        watch: _Watch | None = getattr(self._local, "watch", None)
        return watch

    @contextlib.contextmanager
    def watching(self, end: float, connecting: str) -> Iterator[_Watch]:
        """A watch for an exchange made in this thread inside the `with` block."""
        watch = _Watch(end, connecting)
        self._push(watch)
        self._local.watch = watch
        try:
            yield watch
        finally:
            self._local.watch = None
            watch.close()

    def _push(self, watch: _Watch) -> None:
        import heapq
        import threading

        with self._cond:
            if len(self._heap) >= self._prune_at:
                self._heap = [entry for entry in self._heap if not entry[2].closed]
                heapq.heapify(self._heap)
                self._prune_at = max(64, 2 * len(self._heap))
            self._count += 1
            heapq.heappush(self._heap, (watch.end, self._count, watch))
            if self._thread is None or not self._thread.is_alive():  # the first request (or a forked child)
                self._thread = threading.Thread(target=self._run, name="promoter-http-deadline", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watch:  # earlier than what the thread sleeps until
                self._cond.notify()

    def _run(self) -> None:
        import heapq

        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].closed or self._heap[0][0] <= now):
                    heapq.heappop(self._heap)[2].fire()  # nothing for a closed watch
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_WATCHDOG: _Watchdog | None = None


def _watchdog() -> _Watchdog:
    global _WATCHDOG
    if _WATCHDOG is None:
        _WATCHDOG = _Watchdog()
    return _WATCHDOG


_POOLS: dict[str, Any] = {}


def _watched_pools() -> dict[str, Any]:
    """urllib3 connection pools whose connections tell the exchange's watch (if any) about every
    socket they connect or reuse and what they are doing with it (made once)."""
    if not _POOLS:
        _POOLS.update(_make_watched_pools())
    return _POOLS


def _make_watched_pools() -> dict[str, Any]:
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    dog = _watchdog()

    class Watched(HTTPConnection):
        _watched_by: _Watch | None = None

        def _new_conn(self) -> socket.socket:
            watch = dog.current()
            if watch is not None:
                watch.doing = watch.connecting  # also the proxy's CONNECT answer and the TLS handshake
            sock = super()._new_conn()
            if watch is not None:
                watch.add(sock)
                self._watched_by = watch
            return sock

        def connect(self) -> None:
            super().connect()  # connecting: see _new_conn
            watch = dog.current()
            if watch is not None:
                watch.doing = "sending the request"

        def request(self, *args: Any, **kwargs: Any) -> None:
            watch = dog.current()
            if watch is not None:
                if self.sock is not None and self._watched_by is not watch:  # kept alive from before
                    watch.add(self.sock)
                    self._watched_by = watch
                watch.doing = "sending the request"
            super().request(*args, **kwargs)

        def getresponse(self) -> Any:
            watch = dog.current()
            if watch is not None:
                watch.doing = "waiting for the status line and headers"
            return super().getresponse()

    class WatchedTLS(Watched, HTTPSConnection):
        pass

    class Pool(HTTPConnectionPool):
        ConnectionCls = Watched

    class TLSPool(HTTPSConnectionPool):
        ConnectionCls = WatchedTLS

    return {"http": Pool, "https": TLSPool}


def _proxy_for(url: str) -> str | None:
    """The proxy for `url` from the environment (`<scheme>_proxy`, else `all_proxy`; none when
    `no_proxy` covers the host), as requests reads them; never one for a loopback host."""
    parts = urlsplit(url)
    if is_loopback(parts.hostname or ""):
        return None
    from requests.utils import get_environ_proxies

    proxies = get_environ_proxies(url)
    return proxies.get(parts.scheme) or proxies.get("all") or None


def is_loopback(host: str) -> bool:
    """localhost, *.localhost or a loopback address (127.0.0.0/8, ::1; IPv6 in brackets or not)."""
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_allowed(url: str, variable: str) -> bool:
    """Whether credentials may go to `url`: always over https; over plain http only to a loopback
    host or a host listed in the environment variable `variable` (comma-separated `host` or
    `host:port` entries, as PROMOTER_INSECURE_REGISTRIES and PROMOTER_INSECURE_FORGES list them)."""
    import os

    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    host = parts.hostname.lower()
    if is_loopback(host):
        return True
    hostport = parts.netloc.rpartition("@")[2].lower()
    listed = {entry.strip().lower() for entry in os.environ.get(variable, "").split(",")}
    return bool(listed & {host, hostport} - {""})


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, credentials left out: how messages name who answered."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share scheme, host and port (default ports filled in)."""
    return _origin(a) == _origin(b)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port if port is not None else default


def _hostport(proxy: str | None) -> str:
    """host:port of a proxy URL, without its credentials."""
    parts = urlsplit(proxy if proxy and "://" in proxy else f"http://{proxy}")
    return parts.netloc.rpartition("@")[2]


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it wraps: causes, contexts, `reason`s and exceptions in its args."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo and len(seen) < 32:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        linked = [getattr(current, "reason", None), getattr(current, "original_error", None)]
        linked += [current.__cause__, current.__context__, *current.args]
        todo += [e for e in linked if isinstance(e, BaseException)]
    return seen


_E = TypeVar("_E", bound=BaseException)


def _find(exc: BaseException, kind: type[_E], accept: Callable[[_E], bool] = lambda e: True) -> _E | None:
    return next((e for e in _chain(exc) if isinstance(e, kind) and accept(e)), None)


def _root_name(exc: BaseException) -> str:
    """What broke, innermost first: the strerror of an OSError (`Connection reset by peer`) or the
    name of http.client's exception (`RemoteDisconnected`, `IncompleteRead`)."""
    import http.client

    causes = [
        e
        for e in _chain(exc)
        if isinstance(e, (OSError, http.client.HTTPException)) and not type(e).__module__.startswith("requests")
    ]
    if not causes:
        return type(exc).__name__
    root = causes[-1]
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    return type(root).__name__
