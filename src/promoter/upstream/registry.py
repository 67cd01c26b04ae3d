"""A small client of the OCI distribution API: does an image tag exist, and what is its digest.

Only what promoter needs: `HEAD /v2/<name>/manifests/<tag>` (GET when the answer carries no
digest), the registry token flow (anonymous bearer tokens as quay.io and Docker Hub issue them,
or with Basic credentials), plain Basic auth, retries with backoff. Credentials come from one
docker-style auth file (`auth_file`, else `$REGISTRY_AUTH_FILE`, else `~/.docker/config.json`):
its `auths`, or the credential helpers it names (`credHelpers`, `credsStore`), run only when a
registry asks for credentials. They never appear in a message or a repr.

Standard library only; the network modules are imported on first use, so importing this module
costs next to nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from promoter import __version__
from promoter.durations import format as duration
from promoter.errors import ExternalError, Refused, UsageError
from promoter.urls import redact

if TYPE_CHECKING:
    import ssl

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
DOCKER_HUB = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", DOCKER_HUB})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]"})
INSECURE_ENV = "PROMOTER_INSECURE_REGISTRIES"
AUTH_FILE_ENV = "REGISTRY_AUTH_FILE"
DEFAULT_AUTH_FILE = "~/.docker/config.json"
MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After is cut to this
MAX_BACKOFF = 60.0
MAX_BODY = 4 * 1024 * 1024  # distribution's own manifest size limit
MAX_REDIRECTS = 5
_CREDENTIALS_HINT = f"check credentials in {DEFAULT_AUTH_FILE} or {AUTH_FILE_ENV}"

# docker/distribution reference grammar (reference/regexp.go), without tag and digest
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_CONTENT_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128}")


@dataclass(frozen=True)
class ImageRef:
    """Where an image lives: `registry` is host[:port], `repository` the name inside it."""

    registry: str
    repository: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}"


def parse_image(image: str) -> ImageRef:
    """`quay.io/app-sre/qontract-reconcile` -> ImageRef("quay.io", "app-sre/qontract-reconcile").

    A first component with a `.` or a `:`, or `localhost`, is the registry; otherwise the image
    is on Docker Hub (`x` is `library/x` there). Tags and digests are not part of an image: the
    tag is configured separately.
    """
    if not image or image != image.strip():
        raise UsageError(f"invalid image reference {image!r}: empty or surrounded by spaces")
    if "://" in image:
        raise UsageError(f"invalid image reference {image!r}: give it without a scheme (quay.io/org/name)")
    if "@" in image:
        raise UsageError(f"invalid image reference {image!r}: give the image without a digest")
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, path = first, rest
    else:
        registry, path = "docker.io", image
    if not _DOMAIN.fullmatch(registry):
        raise UsageError(f"invalid image reference {image!r}: {registry!r} is not a registry host[:port]")
    if ":" in path:
        raise UsageError(f"invalid image reference {image!r}: give the image without a tag (`tag:` sets it)")
    if not _PATH.fullmatch(path) or len(path) > 255:
        raise UsageError(
            f"invalid image reference {image!r}: the repository must be lowercase names "
            "(letters, digits, '.', '_', '-') separated by '/'"
        )
    if registry.lower() in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return ImageRef(registry, path)


def _check_reference(image: str, tag: str) -> None:
    if not (_TAG.fullmatch(tag) or _DIGEST.fullmatch(tag)):
        raise UsageError(f"invalid image tag {tag!r} for {image}: letters, digits, '_', '.', '-' (at most 128)")


def scheme(registry: str) -> str:
    """ "http" for loopback hosts and those in $PROMOTER_INSECURE_REGISTRIES, else "https"."""
    host = _host(registry)
    if host in _LOOPBACK:
        return "http"
    for entry in os.environ.get(INSECURE_ENV, "").split(","):
        entry = entry.strip().lower()
        if entry and entry in (registry.lower(), host):
            return "http"
    return "https"


def _host(hostport: str) -> str:
    """The host of host[:port], lowercased (an IPv6 literal keeps its brackets)."""
    hostport = hostport.lower()
    if hostport.startswith("["):
        return hostport[: hostport.index("]") + 1] if "]" in hostport else hostport
    return hostport.partition(":")[0]


# --- WWW-Authenticate ---------------------------------------------------------------------------

_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")


@dataclass(frozen=True)
class Challenge:
    """One challenge of a WWW-Authenticate header: scheme lowercased, parameter names lowercased."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def parse_www_authenticate(header: str) -> list[Challenge]:
    """Every challenge in a WWW-Authenticate value (RFC 9110 11.6.1), several allowed in one.

    `Bearer realm="https://quay.io/v2/auth",service="quay.io", Basic realm="a, b"` ->
    [Challenge("bearer", {"realm": ..., "service": "quay.io"}), Challenge("basic", {"realm": "a, b"})].
    Malformed parts are skipped, never guessed at.
    """
    challenges: list[Challenge] = []
    current: Challenge | None = None
    n = len(header)
    pos = 0

    def skip_ws(p: int) -> int:
        while p < n and header[p] in " \t":
            p += 1
        return p

    def token_at(p: int) -> int:
        while p < n and header[p] in _TOKEN_CHARS:
            p += 1
        return p

    while pos < n:
        while pos < n and header[pos] in " \t,":
            pos += 1
        if pos >= n:
            break
        end = token_at(pos)
        if end == pos:  # garbage: skip to the next comma
            nxt = header.find(",", pos)
            pos = n if nxt < 0 else nxt + 1
            continue
        name = header[pos:end]
        after = skip_ws(end)
        if after < n and header[after] == "=" and current is not None:
            # auth-param of the current challenge
            pos = skip_ws(after + 1)
            if pos < n and header[pos] == '"':
                chars: list[str] = []
                pos += 1
                while pos < n and header[pos] != '"':
                    if header[pos] == "\\" and pos + 1 < n:
                        pos += 1
                    chars.append(header[pos])
                    pos += 1
                pos += 1  # the closing quote (or past the end when it is missing)
                value = "".join(chars)
            else:
                vend = token_at(pos)
                value = header[pos:vend]
                pos = vend
            current.params.setdefault(name.lower(), value)
            continue
        # a new challenge: `scheme`, `scheme token68`, or `scheme param=value, ...`
        current = Challenge(name.lower())
        challenges.append(current)
        pos = after
        m = _TOKEN68.match(header, pos) if pos > end else None
        if m:
            tail = skip_ws(m.end())
            if (tail >= n or header[tail] == ",") and "=" not in m.group().rstrip("="):
                current = Challenge(current.scheme, token68=m.group())
                challenges[-1] = current
                pos = tail
                current = None  # a token68 challenge takes no parameters
    return challenges


# --- credentials ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Credentials:
    username: str
    password: str = field(repr=False)
    source: str

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def __repr__(self) -> str:  # never the password, not even in a debugger
        return f"<credentials of {self.username!r} from {self.source}>"


def _auth_key(key: str) -> str:
    """An auths key as host[:port][/path]: `https://index.docker.io/v1/` -> `registry-1.docker.io`."""
    key = key.strip()
    for prefix in ("https://", "http://"):
        if key.lower().startswith(prefix):
            key = key[len(prefix) :]
    host, _, path = key.strip("/").partition("/")
    host = host.lower()
    if host in _DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
        if path in ("v1", "v2"):
            path = ""
    return f"{host}/{path}" if path else host


@dataclass(frozen=True)
class _AuthFile:
    shown: str  # how messages name it
    auths: dict[str, _Credentials]  # by auths key (host[/path])
    creds_store: str | None = None  # helper for every registry
    cred_helpers: dict[str, str] = field(default_factory=dict)  # registry host -> helper


_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
HELPER_TIMEOUT = 10.0  # seconds a docker-credential-<name> may take to answer


def _from_helper(helper: str, registry: str, shown: str) -> _Credentials | None:
    """Credentials from `docker-credential-<helper> get` (the docker-credential-helpers protocol:
    the server URL on stdin, `{"Username": ..., "Secret": ...}` on stdout), None when it has none."""
    import subprocess

    program = f"docker-credential-{helper}"
    server = "https://index.docker.io/v1/" if registry == DOCKER_HUB else registry
    source = f"{program} (named in {shown})"
    try:
        proc = subprocess.run(
            [program, "get"], input=server.encode(), capture_output=True, timeout=HELPER_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise UsageError(f"{shown} names the credential helper {program}, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise ExternalError(f"{program} get: no answer for {registry} within {HELPER_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        said = proc.stdout.decode("utf-8", "replace").strip() or proc.stderr.decode("utf-8", "replace").strip()
        if "credentials not found" in said.lower():
            return None
        # the helper's words, never its output as a whole (it might echo what it read)
        raise ExternalError(f"{program} get failed for {registry} (exit status {proc.returncode})")
    try:
        data = json.loads(proc.stdout)
        user, secret = data["Username"], data["Secret"]
    except (ValueError, KeyError, TypeError):
        raise ExternalError(f"{program} get: its answer for {registry} is not the helper protocol's JSON") from None
    if not isinstance(user, str) or not isinstance(secret, str) or not secret:
        return None
    if user == "<token>":  # an identity token for an OAuth2 exchange, which promoter does not do
        raise UsageError(f"{program} holds an identity token for {registry}; promoter needs a username and password")
    return _Credentials(user, secret, source)


def _load_auth_file(path: Path, shown: str) -> _AuthFile:
    """The credentials in a docker-style auth file by key, and the credential helpers it names."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return _AuthFile(shown, {})
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read the registry auth file ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise UsageError(f"{shown}: the registry auth file is not valid JSON{where}") from None
    store = data.get("credsStore") if isinstance(data, dict) else None
    helpers = data.get("credHelpers") if isinstance(data, dict) else None
    if store is not None and not (isinstance(store, str) and _HELPER_NAME.fullmatch(store)):
        raise UsageError(f"{shown}: `credsStore` must name a credential helper, such as 'pass'")
    if helpers is not None and not (
        isinstance(helpers, dict) and all(isinstance(v, str) and _HELPER_NAME.fullmatch(v) for v in helpers.values())
    ):
        raise UsageError(f"{shown}: `credHelpers` must map registries to credential helper names")
    by_host = {_auth_key(k).partition("/")[0]: v for k, v in (helpers or {}).items()}
    auths = data.get("auths") if isinstance(data, dict) else None
    if auths is None:
        return _AuthFile(shown, {}, store or None, by_host)
    if not isinstance(auths, dict):
        raise UsageError(f"{shown}: `auths` must be a mapping of registry to credentials")
    found: dict[str, _Credentials] = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        user: object = entry.get("username")
        password: object = entry.get("password")
        auth = entry.get("auth")
        if isinstance(auth, str) and auth:
            try:
                decoded = base64.b64decode(auth + "=" * (-len(auth) % 4), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise UsageError(f"{shown}: the `auth` of {key!r} is not base64 of 'user:password'") from None
            user, sep, password = decoded.partition(":")
            if not sep:
                raise UsageError(f"{shown}: the `auth` of {key!r} is not base64 of 'user:password'")
        if isinstance(user, str) and isinstance(password, str) and user:
            found[_auth_key(key)] = _Credentials(user, password, shown)
    return _AuthFile(shown, found, store or None, by_host)


# --- HTTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Response:
    status: int
    reason: str
    headers: dict[str, list[str]]  # lowercased names
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


class _Transient(Exception):
    """A network failure worth another try; `detail` says what happened, without secrets."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _error_code(body: bytes) -> str:
    """` (MANIFEST_INVALID: manifest invalid)` from a distribution error body, or ''."""
    try:
        errors = json.loads(body).get("errors")
        first = errors[0]
        code, message = str(first.get("code", "")), str(first.get("message", ""))
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        return ""
    text = ": ".join(x for x in (code, message) if x)[:200]
    return f" ({text})" if text else ""


class Registry:
    """Answers "does image:tag exist, and what is its digest" against OCI registries.

    One instance keeps bearer tokens (per registry and scope) and the auth scheme that worked,
    so asking about twenty tags costs twenty requests, not sixty.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
        auth_file: Path | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._auth_file = auth_file
        self._sleep = sleep
        self._tokens: dict[tuple[str, str], str] = {}  # (registry, scope) -> bearer token
        self._scopes: dict[tuple[str, str], str] = {}  # (registry, repository) -> scope of its token
        self._basic: set[str] = set()  # registries that asked for Basic auth
        self._auth: _AuthFile | None = None
        self._from_helpers: dict[str, _Credentials | None] = {}  # registry -> what its helper said
        self._ssl: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"Registry(timeout={self._timeout}, retries={self._retries}, backoff={self._backoff})"

    # --- public ---------------------------------------------------------------------------------

    def digest(self, image: str, tag: str) -> str | None:
        """The manifest digest (`sha256:…`) of image:tag, or None when the registry has no such tag."""
        ref = parse_image(image)
        _check_reference(image, tag)
        path = f"/v2/{ref.repository}/manifests/{tag}"
        resp = self._manifest(ref, "HEAD", path)
        if resp.status == 404:
            return None
        self._expect_ok(ref, "HEAD", path, resp)
        found = resp.header("Docker-Content-Digest")
        if found is not None and _CONTENT_DIGEST.fullmatch(found.strip()):
            return found.strip()
        # no (usable) digest header: read the manifest and hash it, as a pull does
        resp = self._manifest(ref, "GET", path)
        if resp.status == 404:
            return None
        self._expect_ok(ref, "GET", path, resp)
        computed = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        said = (resp.header("Docker-Content-Digest") or "").strip()
        if said.startswith("sha256:") and _CONTENT_DIGEST.fullmatch(said) and said != computed:
            raise ExternalError(
                f"registry {ref.registry}: the manifest of {ref.repository}:{tag} does not match its digest "
                f"({said} announced, {computed} received)"
            )
        return computed

    def exists(self, image: str, tag: str) -> bool:
        return self.digest(image, tag) is not None

    def wait(
        self,
        image: str,
        tag: str,
        timeout: float,
        interval: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> str:
        """Poll until image:tag exists and return its digest; Refused after `timeout` seconds."""
        deadline = clock() + timeout
        polls = 0
        while True:
            polls += 1
            found = self.digest(image, tag)
            if found is not None:
                return found
            remaining = deadline - clock()
            if remaining <= 0:
                raise Refused(
                    f"image {image}:{tag} did not appear within {duration(timeout)} "
                    f"({_plural(polls, 'check')} of {parse_image(image).registry})"
                )
            self._sleep(max(min(interval, remaining), 0.0))

    # --- the auth dance -------------------------------------------------------------------------

    def _manifest(self, ref: ImageRef, method: str, path: str) -> _Response:
        url = f"{scheme(ref.registry)}://{ref.registry}{path}"
        headers = {"Accept": ACCEPT}
        auth = self._known_auth(ref)
        fresh = False
        while True:
            resp = self._fetch(method, url, {**headers, **({"Authorization": auth} if auth else {})}, ref.registry)
            if resp.status == 403:
                raise Refused(
                    redact(
                        f"registry {ref.registry} denied access to {ref.repository} (403): "
                        f"the account has no pull permission; {_CREDENTIALS_HINT}"
                    )
                )
            if resp.status != 401:
                return resp
            if fresh:
                raise self._unauthorized(ref)
            self._forget(ref)
            auth = self._authenticate(ref, resp)
            fresh = True

    def _known_auth(self, ref: ImageRef) -> str | None:
        scope = self._scopes.get((ref.registry, ref.repository))
        if scope is not None and (ref.registry, scope) in self._tokens:
            return "Bearer " + self._tokens[(ref.registry, scope)]
        if ref.registry in self._basic:
            creds = self._credentials(ref)
            if creds is not None:
                return creds.basic()
        return None

    def _forget(self, ref: ImageRef) -> None:
        scope = self._scopes.pop((ref.registry, ref.repository), None)
        if scope is not None:
            self._tokens.pop((ref.registry, scope), None)

    def _authenticate(self, ref: ImageRef, resp: _Response) -> str:
        """The Authorization header to answer a 401 with; Refused when there is none to give."""
        challenges = [c for value in resp.headers.get("www-authenticate", []) for c in parse_www_authenticate(value)]
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.params.get("realm")), None)
        if bearer is not None:
            scope = bearer.params.get("scope") or f"repository:{ref.repository}:pull"
            token = self._token(ref, bearer.params["realm"], bearer.params.get("service"), scope)
            self._tokens[(ref.registry, scope)] = token
            self._scopes[(ref.registry, ref.repository)] = scope
            return "Bearer " + token
        if any(c.scheme == "basic" for c in challenges):
            creds = self._credentials(ref)
            if creds is None:
                raise self._unauthorized(ref)
            self._basic.add(ref.registry)
            return creds.basic()
        raise self._unauthorized(ref, " (it offered no Bearer or Basic authentication)" if challenges else "")

    def _token(self, ref: ImageRef, realm: str, service: str | None, scope: str) -> str:
        import urllib.parse

        parts = urllib.parse.urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ExternalError(redact(f"registry {ref.registry}: invalid token realm {realm!r}"))
        if "@" in parts.netloc:
            raise ExternalError(f"registry {ref.registry}: invalid token realm (credentials in its URL)")
        query = [("service", service)] if service else []
        query.append(("scope", scope))
        sep = "&" if parts.query else "?"
        url = realm + sep + urllib.parse.urlencode(query)
        headers: dict[str, str] = {}
        creds = self._credentials(ref)
        # credentials travel only over TLS, or to a host that is plain http on purpose
        if creds is not None and (parts.scheme == "https" or scheme(parts.netloc) == "http"):
            headers["Authorization"] = creds.basic()
        what = f"token service {_netloc(parts.netloc)} of registry {ref.registry}"
        resp = self._fetch("GET", url, headers, _netloc(parts.netloc), what=what)
        if resp.status == 401:
            raise self._unauthorized(ref)
        if resp.status == 403:
            raise Refused(
                redact(
                    f"registry {ref.registry} denied access to {ref.repository} (403 from {what}); {_CREDENTIALS_HINT}"
                )
            )
        if not 200 <= resp.status < 300:
            raise ExternalError(
                redact(f"{what}: GET {parts.path or '/'} answered {resp.status} {resp.reason}{_error_code(resp.body)}")
            )
        try:
            data = json.loads(resp.body)
        except (ValueError, UnicodeDecodeError):
            # never the text: a cut-off answer still holds most of a token
            raise ExternalError(
                f"{what}: the token answer is not valid JSON ({_plural(len(resp.body), 'byte')}, truncated?)"
            ) from None
        token = None
        if isinstance(data, dict):
            token = data.get("token") or data.get("access_token")
        if not isinstance(token, str) or not token or any(c in token for c in "\r\n"):
            raise ExternalError(f"{what}: the token answer has no `token` or `access_token`")
        return token

    def _credentials(self, ref: ImageRef) -> _Credentials | None:
        """Docker's order: the registry's `credHelpers` entry, else an `auths` entry with
        credentials (the most specific: quay.io/org/name, quay.io/org, quay.io), else `credsStore`."""
        auth = self._auth_file_read()
        registry = ref.registry.lower()
        helper = auth.cred_helpers.get(registry)
        if helper is None:
            name = f"{registry}/{ref.repository}"
            while True:
                if name in auth.auths:
                    return auth.auths[name]
                if "/" not in name:
                    break
                name = name.rpartition("/")[0]
            helper = auth.creds_store
        if helper is None:
            return None
        if registry not in self._from_helpers:  # asked once per registry and run
            self._from_helpers[registry] = _from_helper(helper, registry, auth.shown)
        return self._from_helpers[registry]

    def _auth_file_read(self) -> _AuthFile:
        if self._auth is None:
            if self._auth_file is not None:
                path, shown = self._auth_file, str(self._auth_file)
            elif os.environ.get(AUTH_FILE_ENV):
                path = Path(os.environ[AUTH_FILE_ENV])
                shown = f"{AUTH_FILE_ENV}={path}"
            else:
                try:
                    path = Path(DEFAULT_AUTH_FILE).expanduser()
                except RuntimeError:  # no home directory: no default file
                    path = Path("/nonexistent/.docker/config.json")
                shown = DEFAULT_AUTH_FILE
            self._auth = _load_auth_file(path, shown)
        return self._auth

    def _unauthorized(self, ref: ImageRef, detail: str = "") -> Refused:
        creds = self._credentials(ref)
        if creds is None:
            auth = self._auth_file_read()
            helper = auth.cred_helpers.get(ref.registry.lower()) or auth.creds_store
            where = f"docker-credential-{helper} (named in {auth.shown})" if helper else auth.shown
            why = f"no credentials for {ref.registry} in {where}"
        else:
            why = f"the credentials of {creds.username!r} from {creds.source} were not accepted"
        return Refused(
            redact(
                f"registry {ref.registry} refused access to {ref.repository} (401): {_CREDENTIALS_HINT} ({why}){detail}"
            )
        )

    def _expect_ok(self, ref: ImageRef, method: str, path: str, resp: _Response) -> None:
        if not 200 <= resp.status < 300:
            raise ExternalError(
                redact(f"registry {ref.registry}: {method} {path} answered {resp.status} {resp.reason}")
                + _error_code(resp.body)
            )

    # --- transport ------------------------------------------------------------------------------

    def _fetch(self, method: str, url: str, headers: dict[str, str], host: str, what: str = "") -> _Response:
        """One exchange with retries, following redirects (Authorization stays on its origin)."""
        import urllib.parse

        origin = urllib.parse.urlsplit(url)[:2]
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._exchange(method, url, headers, what or f"registry {host}")
            location = resp.header("Location")
            if resp.status not in (301, 302, 303, 307, 308) or not location:
                return resp
            new = urllib.parse.urljoin(url, location)
            parts = urllib.parse.urlsplit(new)
            if parts.scheme not in ("http", "https") or (origin[0] == "https" and parts.scheme != "https"):
                raise ExternalError(
                    redact(f"{what or f'registry {host}'}: refusing a redirect to {parts.scheme}://{parts.netloc}")
                )
            if parts[:2] != origin:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if resp.status == 303:
                method = "GET" if method != "HEAD" else method
            url = new
        raise ExternalError(redact(f"{what or f'registry {host}'}: more than {MAX_REDIRECTS} redirects"))

    def _exchange(self, method: str, url: str, headers: dict[str, str], what: str) -> _Response:
        import urllib.parse

        tries = self._retries + 1
        failure = ""
        for attempt in range(tries):
            delay = min(self._backoff * 2**attempt, MAX_BACKOFF)
            try:
                resp = self._send(method, url, headers)
            except _Transient as exc:
                failure = exc.detail
            else:
                if resp.status != 429 and resp.status < 500:
                    return resp
                failure = f"answered {resp.status} {resp.reason}".rstrip() + _error_code(resp.body)
                after = _retry_after(resp.header("Retry-After"))
                if after is not None:
                    delay = min(after, MAX_RETRY_AFTER)
            if attempt + 1 < tries:
                self._sleep(delay)
        path = urllib.parse.urlsplit(url).path
        raise ExternalError(
            redact(f"{what}: {method} {path} {failure} after {tries} {'try' if tries == 1 else 'tries'}")
        )

    def _send(self, method: str, url: str, headers: dict[str, str]) -> _Response:
        import http.client
        import ssl
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn: http.client.HTTPConnection
        netloc = _netloc(parts.netloc)
        proxy = _proxy(parts.scheme, netloc)
        headers = {"User-Agent": f"promoter/{__version__}", **headers}
        if parts.scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            if proxy is None:
                conn = http.client.HTTPSConnection(netloc, timeout=self._timeout, context=self._ssl)
            else:  # a CONNECT tunnel through the proxy, TLS with the registry inside it
                conn = http.client.HTTPSConnection(proxy.hostport, timeout=self._timeout, context=self._ssl)
                conn.set_tunnel(netloc, headers=proxy.headers)
        elif proxy is None:
            conn = http.client.HTTPConnection(netloc, timeout=self._timeout)
        else:  # the request, in absolute form, to the proxy
            conn = http.client.HTTPConnection(proxy.hostport, timeout=self._timeout)
            target = f"http://{netloc}{target}"
            headers.update(proxy.headers)
        via = f" through the proxy {proxy.hostport}" if proxy else ""
        try:
            conn.request(method, target, headers=headers)
            raw = conn.getresponse()
            body = raw.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                raise ExternalError(
                    f"{_netloc(parts.netloc)}: {method} {parts.path}: answer larger than {MAX_BODY} bytes"
                )
            collected: dict[str, list[str]] = {}
            for name, value in raw.getheaders():
                collected.setdefault(name.lower(), []).append(value)
            return _Response(raw.status, raw.reason, collected, body)
        except TimeoutError:
            raise _Transient(f"timed out (no answer within {duration(self._timeout)})") from None
        except ssl.SSLCertVerificationError as exc:
            raise ExternalError(
                f"{_netloc(parts.netloc)}: TLS certificate verification failed ({exc.verify_message}); "
                f"if it is a plain-http registry, list it in {INSECURE_ENV}"
            ) from None
        except http.client.HTTPException as exc:
            raise _Transient(f"broken answer ({type(exc).__name__})") from None
        except ConnectionRefusedError:
            raise _Transient(f"cannot connect{via} (connection refused)") from None
        except OSError as exc:
            said = str(exc) if str(exc).startswith("Tunnel connection failed") else None  # the proxy's answer
            raise _Transient(f"cannot connect{via} ({said or exc.strerror or type(exc).__name__})") from None
        finally:
            conn.close()


@dataclass(frozen=True)
class _Proxy:
    hostport: str
    headers: dict[str, str] = field(repr=False)  # Proxy-Authorization, when the URL has credentials


def _proxy(scheme: str, hostport: str) -> _Proxy | None:
    """The proxy for `scheme`://`hostport` from https_proxy / http_proxy / no_proxy (as urllib and
    git read them); loopback registries are never proxied."""
    import urllib.parse
    import urllib.request

    if _host(hostport) in _LOOPBACK:
        return None
    proxies = urllib.request.getproxies_environment()
    url = proxies.get(scheme)
    if not url or urllib.request.proxy_bypass(hostport):
        return None
    parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"{scheme}_proxy: promoter reaches registries through http:// proxies only, not {redact(url)}")
    headers = {}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return _Proxy(_netloc(parts.netloc), headers)


def _netloc(netloc: str) -> str:
    """host[:port] of a URL's netloc, without any user:password@."""
    return netloc.rpartition("@")[2]


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - time.time(), 0.0)
