"""A real OCI registry (Debian's docker-registry) for the tests, a bearer-token front for it, and
small fault servers, all on 127.0.0.1 and all stopped at the end. The fault servers' behaviours
(what a misbehaving registry does) live here, each named by what it does: `serves_manifest`,
`login_page`, `redirecting_to`, `asking_for_credentials`.

Images are pushed over the distribution API itself (blob uploads, then the manifest), so the
digests the tests expect are computed here from the exact bytes sent.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import pytest

REGISTRY_BIN = "/usr/bin/docker-registry"
HTPASSWD_BIN = "htpasswd"
INSTALL_HINT = "install it with: apt-get update && apt-get install -y docker-registry apache2-utils (.ci/run does)"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ALL_MANIFESTS = ", ".join([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST])

Reply = tuple[int, dict[str, str], bytes]


def request(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes | None = None, timeout: float = 5.0
) -> Reply:
    """One plain HTTP exchange (the tests' own client, independent of promoter.registry)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def self_signed(directory: Path, name: str, san: str) -> tuple[Path, Path]:
    """A key and a self-signed certificate for `name` (subjectAltName `san`: DNS:x or IP:x)."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


def server_tls(key: Path, cert: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the real registry -----------------------------------------------------------------------------


@dataclass
class RunningRegistry:
    host: str  # 127.0.0.1:PORT
    proc: subprocess.Popen[bytes]
    log: Path
    auth: str | None = None  # Authorization header for pushes, when the registry needs one

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**({"Authorization": self.auth} if self.auth else {}), **(extra or {})}

    def push_blob(self, name: str, data: bytes) -> str:
        digest = sha256(data)
        status, headers, body = request("POST", f"{self.url}/v2/{name}/blobs/uploads/", self._headers())
        assert status == 202, (status, body)
        location = urllib.parse.urljoin(self.url, headers["location"])
        # keep the `_state` query of the upload URL; add the digest to it
        sep = "&" if urllib.parse.urlsplit(location).query else "?"
        put = f"{location}{sep}{urllib.parse.urlencode({'digest': digest})}"
        status, _, body = request(
            "PUT",
            put,
            self._headers({"Content-Type": "application/octet-stream", "Content-Length": str(len(data))}),
            data,
        )
        assert status == 201, (status, body)
        return digest

    def push_manifest(self, name: str, tag: str, media_type: str, manifest: bytes) -> str:
        status, headers, body = request(
            "PUT", f"{self.url}/v2/{name}/manifests/{tag}", self._headers({"Content-Type": media_type}), manifest
        )
        assert status == 201, (status, body)
        digest = sha256(manifest)
        assert headers.get("docker-content-digest") == digest
        return digest

    def push_image(self, name: str, tag: str, kind: str = "oci") -> str:
        """Push a one-layer image (`oci` or `docker` schema2); the digest of its manifest."""
        oci = kind == "oci"
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []},
                "n": secrets.token_hex(8),
            }
        ).encode()
        layer = secrets.token_bytes(256)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json"
                if oci
                else "application/vnd.docker.container.image.v1+json",
                "digest": self.push_blob(name, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"
                    if oci
                    else "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": self.push_blob(name, layer),
                    "size": len(layer),
                }
            ],
        }
        body = json.dumps(manifest, indent=3).encode()  # any bytes: the digest is of these exact ones
        return self.push_manifest(name, tag, str(manifest["mediaType"]), body)

    def push_index(self, name: str, tag: str, children: list[tuple[str, int]], kind: str = "oci") -> str:
        """Push an OCI index (or Docker manifest list) over manifests already in `name`."""
        child_type = OCI_MANIFEST if kind == "oci" else DOCKER_MANIFEST
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX if kind == "oci" else DOCKER_LIST,
            "manifests": [
                {
                    "mediaType": child_type,
                    "digest": d,
                    "size": size,
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
                for d, size in children
            ],
        }
        return self.push_manifest(name, tag, str(index["mediaType"]), json.dumps(index).encode())

    def manifest_size(self, name: str, reference: str) -> int:
        status, _, body = request(
            "GET", f"{self.url}/v2/{name}/manifests/{reference}", self._headers({"Accept": ALL_MANIFESTS})
        )
        assert status == 200, status
        return len(body)


def require_binaries() -> None:
    if not os.access(REGISTRY_BIN, os.X_OK):
        pytest.fail(
            f"{REGISTRY_BIN} is missing, the registry tests need a real registry: {INSTALL_HINT}", pytrace=False
        )
    if shutil.which(HTPASSWD_BIN) is None:
        pytest.fail(f"{HTPASSWD_BIN} is missing: {INSTALL_HINT}", pytrace=False)


def start_registry(root: Path, htpasswd: Path | None = None, auth: str | None = None) -> RunningRegistry:
    require_binaries()
    last_error = ""
    for _ in range(3):  # a free port may be taken between choosing and binding it
        port = free_port()
        cfg = root / f"config-{port}.yml"
        auth_cfg = f"auth:\n  htpasswd:\n    realm: test-realm\n    path: {htpasswd}\n" if htpasswd else ""
        cfg.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n" + auth_cfg
        )
        log = root / f"registry-{port}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=out, stderr=subprocess.STDOUT)
        running = RunningRegistry(f"127.0.0.1:{port}", proc, log, auth)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, _, _ = request("GET", f"{running.url}/v2/", timeout=1)
            except OSError:
                time.sleep(0.05)
                continue
            if status in (200, 401):
                return running
            time.sleep(0.05)
        stop_registry(running)
        last_error = log.read_text(errors="replace")[-2000:]
    pytest.fail(f"docker-registry did not start (GET /v2/ never answered):\n{last_error}", pytrace=False)


def stop_registry(running: RunningRegistry) -> None:
    if running.proc.poll() is None:
        running.proc.terminate()
        try:
            running.proc.wait(5)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            running.proc.wait(5)


# --- small HTTP servers on 127.0.0.1 -----------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections.append(self.client_address[:2])

    def _dispatch(self) -> None:
        with self.server.lock:
            self.server.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        self.server.behaviour(self)

    do_GET = do_HEAD = do_POST = do_PUT = _dispatch


class _Background(ThreadingHTTPServer):
    """An HTTP server on its own thread while in a `with` block."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def host(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        self.thread.join(5)


class _KeepAliveHandler(_Handler):
    protocol_version = "HTTP/1.1"  # connections stay open between requests (reply() sends Content-Length)


class Server(_Background):
    """Answers every request with `behaviour(handler)`; records requests and the connections
    they came on (client (host, port), one entry per TCP connection)."""

    def __init__(
        self,
        behaviour: Callable[[BaseHTTPRequestHandler], None],
        host: str = "127.0.0.1",
        keep_alive: bool = False,
    ) -> None:
        super().__init__((host, 0), _KeepAliveHandler if keep_alive else _Handler)
        self.behaviour = behaviour
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.connections: list[tuple[str, int]] = []
        self.lock = threading.Lock()


def reply(req: BaseHTTPRequestHandler, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
    req.send_response(status)
    for k, v in (headers or {}).items():
        req.send_header(k, v)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if req.command != "HEAD" and body:
        req.wfile.write(body)


def error_body(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode()


# --- behaviours of misbehaving registries (for fault_server) ----------------------------------------

Behaviour = Callable[[BaseHTTPRequestHandler], None]

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "c" * 64, "size": 2},
        "layers": [],
    },
    indent=3,
).encode()
MANIFEST_DIGEST = sha256(MANIFEST)
LOGIN_PAGE = b"<!doctype html><html><body><form action=/login>Sign in to continue</form></body></html>"


def serves_manifest(
    body: bytes = MANIFEST,
    *,
    content_type: str | None = OCI_MANIFEST,
    digest: str | None = "computed",
    head_digest: str | None = "same",
    encoding: str | None = None,
) -> Behaviour:
    """A registry answering every request with a manifest: HEAD its headers, GET its bytes.
    `digest`: the Docker-Content-Digest sent ("computed": the sha256 of `body`; None: none);
    `head_digest`: another one for HEAD answers alone ("same": `digest`);
    `encoding`: a Content-Encoding the body is sent in whatever the client accepts: gzip, or any
    other name for gzip bytes (an encoding no client can undo)."""
    announced = sha256(body) if digest == "computed" else digest
    sent = gzip.compress(body, mtime=0) if encoding else body

    def behaviour(req: BaseHTTPRequestHandler) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        said = announced if head_digest == "same" or req.command != "HEAD" else head_digest
        if said:
            headers["Docker-Content-Digest"] = said
        if encoding:
            headers["Content-Encoding"] = encoding
        reply(req, 200, headers, sent)

    return behaviour


serve_manifest = serves_manifest()


def login_page(req: BaseHTTPRequestHandler) -> None:
    """A captive portal or a single-sign-on front: 200 and an HTML page for whatever is asked."""
    reply(req, 200, {"Content-Type": "text/html; charset=utf-8"}, LOGIN_PAGE)


def redirecting_to(base: str, status: int = 307) -> Behaviour:
    """Redirects every request to the same path on `base` (`http://host:port`)."""

    def behaviour(req: BaseHTTPRequestHandler) -> None:
        reply(req, status, {"Location": f"{base}{req.path}"})

    return behaviour


def asking_for_credentials(scheme: str) -> Behaviour:
    """Another host that wants the credentials a client holds: 401 with a `Basic` challenge of its
    own realm, or a `Bearer` one whose realm is its own /token (which hands out a token to whoever
    asks, keeping what came). Every request and its headers are in the server's `requests`."""

    def behaviour(req: BaseHTTPRequestHandler) -> None:
        host = req.headers["Host"]
        if req.path.startswith("/token"):
            reply(req, 200, {"Content-Type": "application/json"}, b'{"token": "stolen"}')
        elif scheme == "basic":
            reply(req, 401, {"WWW-Authenticate": 'Basic realm="give me your registry password"'})
        else:
            reply(req, 401, {"WWW-Authenticate": f'Bearer realm="http://{host}/token",service="evil"'})

    return behaviour


# --- docker credential helpers, well-behaved and not ------------------------------------------------

# Each is a docker-credential-<name> program speaking the docker-credential-helpers protocol (`get`:
# a server URL on stdin, `{"ServerURL", "Username", "Secret"}` on stdout, or "credentials not found"
# and exit status 1). What they answer comes from the environment: HELPER_USER, HELPER_SECRET;
# HELPER_LOG gets a line "<behaviour> <argv...> <server>" per run; HELPER_PIDS the pids of the
# processes they leave behind (for the test to end them).
_HELPER_HEAD = """#!{python}
import json, os, subprocess, sys
server = sys.stdin.read()
with open(os.environ["HELPER_LOG"], "a") as log:
    log.write("{behaviour} " + " ".join(sys.argv[1:]) + " " + server + "\\n")
user, secret = os.environ["HELPER_USER"], os.environ["HELPER_SECRET"]
answer = json.dumps({{"ServerURL": server, "Username": user, "Secret": secret}})
"""
HELPER_BEHAVIOURS = {
    # answers with the credentials
    "answers": "print(answer)\n",
    # answers, leaving behind a child that holds its stdout and stderr open for a minute
    "lingers": (
        "child = subprocess.Popen(['sleep', '60'])\n"
        "open(os.environ['HELPER_PIDS'], 'a').write(f'{child.pid}\\n')\n"
        "print(answer, flush=True)\n"
    ),
    # has no credentials, leaving behind a child that holds its stdout open
    "lingers-empty": (
        "child = subprocess.Popen(['sleep', '60'])\n"
        "open(os.environ['HELPER_PIDS'], 'a').write(f'{child.pid}\\n')\n"
        "print('credentials not found in native keychain', flush=True)\n"
        "sys.exit(1)\n"
    ),
    # writes HELPER_FLOOD bytes of garbage ("endless": without end), then exits
    "floods": (
        "open(os.environ['HELPER_PIDS'], 'a').write(f'{os.getpid()}\\n')\n"
        "chunk, size = b'x' * 65536, os.environ.get('HELPER_FLOOD', 'endless')\n"
        "left = float('inf') if size == 'endless' else int(size)\n"
        "while left > 0:\n"
        "    sys.stdout.buffer.write(chunk[: int(min(left, len(chunk)))])\n"
        "    left -= len(chunk)\n"
    ),
}


def install_helper(directory: Path, name: str, behaviour: str) -> Path:
    """`directory`/docker-credential-`name`, an executable that behaves as HELPER_BEHAVIOURS says."""
    import sys

    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / f"docker-credential-{name}"
    exe.write_text(_HELPER_HEAD.format(python=sys.executable, behaviour=behaviour) + HELPER_BEHAVIOURS[behaviour])
    exe.chmod(0o755)
    return exe


@dataclass
class TokenFront:
    """Fronts a real registry the way quay.io does: bearer tokens from a /token realm.

    Answers 401 with a Bearer challenge (and a Basic one in the same header) unless the request
    carries the token it issued; `/token` checks service and scope (and Basic credentials when
    `require` is set), then requests are proxied to the registry.
    """

    upstream: str  # host:port of the real registry
    require: str | None = None  # Authorization the token endpoint demands
    strip_digest: bool = False  # drop Docker-Content-Digest from answers (forces the GET fallback)
    token_body: Callable[[str], bytes] | None = None  # what /token answers, given the token
    tokens: list[str] = field(default_factory=list)  # issued, newest last
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    server: Server | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return self.server.host

    def rotate(self) -> None:
        """Invalidate every issued token (as if they expired)."""
        self.tokens.append("expired-" + secrets.token_hex(4))

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(req.path)
        if parts.path == "/token":
            query = urllib.parse.parse_qs(parts.query)
            self.token_requests.append(query)
            if self.require is not None and req.headers.get("Authorization") != self.require:
                reply(req, 401, {"WWW-Authenticate": 'Basic realm="token"'}, error_body("UNAUTHORIZED", "who are you"))
                return
            scope = query.get("scope", [""])[0]
            if query.get("service") != ["test"] or not re.fullmatch(r"repository:[a-z0-9/._-]+:pull", scope):
                reply(req, 400, {}, error_body("INVALID", "bad service or scope"))
                return
            token = "tok-" + secrets.token_hex(16)
            self.tokens.append(token)
            body = (
                self.token_body(token) if self.token_body else json.dumps({"token": token, "expires_in": 300}).encode()
            )
            reply(req, 200, {"Content-Type": "application/json"}, body)
            return
        m = re.fullmatch(r"/v2/(?P<name>.+?)/(?:manifests|blobs|tags)/.*", parts.path)
        if not self.tokens or req.headers.get("Authorization") != f"Bearer {self.tokens[-1]}":
            scope = f',scope="repository:{m.group("name")}:pull"' if m else ""
            challenge = (
                f'Bearer realm="http://{self.host}/token",service="test"{scope}, Basic realm="front, with a comma"'
            )
            reply(req, 401, {"WWW-Authenticate": challenge}, error_body("UNAUTHORIZED", "authentication required"))
            return
        headers = {"Accept": req.headers.get("Accept", "")}
        status, got, body = request(req.command, f"http://{self.upstream}{req.path}", headers)
        out = {k: got[k] for k in ("content-type", "docker-content-digest") if k in got}
        if self.strip_digest:
            out.pop("docker-content-digest", None)
        req.send_response(status)
        for k, v in out.items():
            req.send_header(k, v)
        req.send_header("Content-Length", got.get("content-length", str(len(body))))
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(body)


@pytest.fixture
def token_front(registry: RunningRegistry) -> Iterator[Callable[..., TokenFront]]:
    """Start TokenFront(registry, **options) servers; all stopped after the test."""
    servers: list[Server] = []

    def start(**options: object) -> TokenFront:
        front = TokenFront(registry.host, **options)  # type: ignore[arg-type]
        front.server = Server(front)
        servers.append(front.server.__enter__())
        return front

    yield start
    for s in servers:
        s.__exit__(None, None, None)


class Proxy(_Background):
    """A real HTTP proxy on 127.0.0.1: CONNECT tunnels and absolute-form requests, as squid serves
    them. Host names in `hosts` are resolved by the proxy alone (the client cannot resolve them, so
    a request that reaches them went through it); `password` demands Proxy-Authorization (407).
    With `tls` (a server context) it is an https:// proxy: clients speak TLS to the proxy itself,
    and TLS to an https origin inside the tunnel."""

    def __init__(self, hosts: dict[str, str], password: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.hosts = hosts
        self.password = password
        self.tls = tls
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.seen: list[tuple[str, str, str | None]] = []  # method, target, Proxy-Authorization

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: Proxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _upstream(self, hostport: str) -> socket.socket:
        host, _, port = hostport.rpartition(":")
        return socket.create_connection((self.server.hosts.get(host, host), int(port)), timeout=10)

    def _allowed(self) -> bool:
        auth = self.headers.get("Proxy-Authorization")
        self.server.seen.append((self.command, self.path, auth))
        if self.server.password is None:
            return True
        expected = "Basic " + base64.b64encode(f"proxy-user:{self.server.password}".encode()).decode()
        if auth == expected:
            return True
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _pipe(self, upstream: socket.socket) -> None:
        import select

        sockets = [self.connection, upstream]
        while True:
            # TLS to the proxy: bytes OpenSSL already decrypted are not seen by select()
            pending = [s for s in sockets if isinstance(s, ssl.SSLSocket) and s.pending()]
            readable = pending or select.select(sockets, [], [], 10)[0]
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is self.connection else self.connection).sendall(data)

    def do_CONNECT(self) -> None:
        if not self._allowed():
            return
        with self._upstream(self.path) as upstream:
            self.send_response(200, "Connection established")
            self.end_headers()
            self._pipe(upstream)
        self.close_connection = True

    def _forward(self) -> None:
        if not self._allowed():
            return
        parts = urllib.parse.urlsplit(self.path)
        with self._upstream(parts.netloc) as upstream:
            head = [f"{self.command} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1"]
            head += [
                f"{k}: {v}" for k, v in self.headers.items() if k.lower() not in ("proxy-authorization", "connection")
            ]
            upstream.sendall(("\r\n".join([*head, "Connection: close", "", ""])).encode())
            while data := upstream.recv(65536):
                self.connection.sendall(data)
        self.close_connection = True

    do_GET = do_HEAD = _forward


@pytest.fixture
def fault_server() -> Iterator[Callable[..., Server]]:
    """Start Server(behaviour) instances on 127.0.0.1; all stopped after the test."""
    servers: list[Server] = []

    def start(
        behaviour: Callable[[BaseHTTPRequestHandler], None], host: str = "127.0.0.1", keep_alive: bool = False
    ) -> Server:
        s = Server(behaviour, host, keep_alive)
        servers.append(s.__enter__())
        return s

    yield start
    for s in servers:
        s.__exit__(None, None, None)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """An anonymous docker-registry on 127.0.0.1 for the whole session."""
    running = start_registry(tmp_path_factory.mktemp("registry"))
    yield running
    stop_registry(running)


REG_USER = "promoter-user"
REG_PASSWORD = "s3cret-Pa55word"


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A docker-registry with htpasswd Basic auth (REG_USER / REG_PASSWORD)."""
    require_binaries()
    root = tmp_path_factory.mktemp("auth-registry")
    htpasswd = root / "htpasswd"
    out = subprocess.run([HTPASSWD_BIN, "-Bbn", REG_USER, REG_PASSWORD], capture_output=True, check=True, text=True)
    htpasswd.write_text(out.stdout)
    running = start_registry(root, htpasswd, basic(REG_USER, REG_PASSWORD))
    yield running
    stop_registry(running)
