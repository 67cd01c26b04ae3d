"""Registry credentials: one docker-style auth file (`auth_file`, else `$REGISTRY_AUTH_FILE`, else
`~/.docker/config.json`), its `auths`, and the docker credential helpers it names (`credHelpers`,
`credsStore`), run only when a registry asks for credentials. A password never appears in a
message or a repr.

A helper is looked for on PATH without the entries that are relative (the current directory, in
whatever spelling) or inside the current directory or the repository (the git top-level around
it, and any directory the caller names): a `docker-credential-x` planted in a config repository
never runs. It is run by its absolute path; its answer is read up to MAX_HELPER_OUTPUT bytes and
to the end of its JSON (or the helper's exit): a child it leaves behind holding its stdout does
not hold promoter. Files and programs that cannot be read or run are named, exit 4.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import stat
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from promoter.errors import ExternalError, PromoterError, UsageError
from promoter.records import field, record
from promoter.upstream.registry.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, ImageRef

AUTH_FILE_ENV = "REGISTRY_AUTH_FILE"
DEFAULT_AUTH_FILE = "~/.docker/config.json"
CREDENTIALS_HINT = f"check credentials in {DEFAULT_AUTH_FILE} or {AUTH_FILE_ENV}"


@record(frozen=True)
class Credentials:
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
    if host in DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
        if path in ("v1", "v2"):
            path = ""
    return f"{host}/{path}" if path else host


@record(frozen=True)
class AuthFile:
    shown: str  # how messages name it
    auths: dict[str, Credentials]  # by auths key (host[/path])
    creds_store: str | None = None  # helper for every registry
    cred_helpers: dict[str, str] = field(default_factory=dict)  # registry host -> helper


_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
HELPER_TIMEOUT = 10.0  # seconds a docker-credential-<name> may take to answer
MAX_HELPER_OUTPUT = 1024 * 1024  # bytes of a helper's answer: a username and a secret need far less
MAX_AUTH_FILE = 4 * 1024 * 1024  # bytes of the auth file
_KEPT_STDERR = 64 * 1024
_POLL = 0.05  # seconds between looks at whether the helper has exited


def untrusted_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    """Where a credential helper must never be taken from: the current directory, the git
    top-level around it (the config repository promoter usually runs in) and `extra` (the
    repository, when the caller knows it), each resolved."""
    found: list[Path] = []
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the current directory is gone
        cwd = None
    if cwd is not None:
        found.append(cwd)
        for parent in (cwd, *cwd.parents):
            if (parent / ".git").exists():
                found.append(parent)
                break
    for directory in extra:
        try:
            found.append(Path(directory).resolve())
        except OSError:
            continue
    return list(dict.fromkeys(found))


def _covers(untrusted: Path, candidate: Path) -> bool:
    """Whether `candidate` is `untrusted` or below it. `/` and the home directory stand only for
    themselves (everything is below them: ~/.local/bin is no repository)."""
    if candidate == untrusted:
        return True
    broad = {Path("/")}
    with contextlib.suppress(RuntimeError, OSError):  # no home directory
        broad.add(Path.home().resolve())
    return untrusted not in broad and untrusted in candidate.parents


def find_helper(program: str, untrusted: Sequence[Path]) -> tuple[str | None, list[str]]:
    """The absolute path of `program` on PATH, leaving out relative entries and those inside an
    untrusted directory; and the paths where it was found but left out."""
    import shutil

    skipped: list[str] = []
    for entry in os.environ.get("PATH", os.defpath).split(os.pathsep):
        absolute = bool(entry) and os.path.isabs(entry)
        found = shutil.which(program, path=entry) if entry else shutil.which(program, path=os.curdir)
        if found is None:
            continue
        real = Path(os.path.realpath(found))
        if not absolute or any(_covers(d, real) or _covers(d, Path(os.path.realpath(entry))) for d in untrusted):
            skipped.append(os.path.abspath(found))
            continue
        return os.path.abspath(found), skipped
    return None, skipped


def _run_helper(path: str, program: str, server: str, registry: str) -> tuple[int, bytes]:
    """Run `path get` with `server` on stdin: its exit status and stdout, read to the end of its
    JSON answer or to its exit, at most MAX_HELPER_OUTPUT bytes, within HELPER_TIMEOUT seconds."""
    import selectors
    import subprocess

    timeout = HELPER_TIMEOUT
    deadline = time.monotonic() + timeout
    proc = subprocess.Popen(
        [path, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out = bytearray()
    err = bytearray()
    failure: ExternalError | None = None
    try:
        try:
            proc.stdin.write(server.encode())
            proc.stdin.close()
        except OSError:  # it exited without reading: its status says why
            pass
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            selector.register(proc.stderr, selectors.EVENT_READ)
            while selector.get_map() and not _complete(out):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    failure = ExternalError(f"{program} get: no answer for {registry} within {timeout:g} s")
                    break
                exited = proc.poll() is not None
                ready = selector.select(0 if exited else min(remaining, _POLL))
                if not ready and exited:
                    break  # it is gone; a child of it may hold the pipes open for ever
                for key, _ in ready:
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.fileobj is proc.stdout:
                        out += chunk
                        if len(out) > MAX_HELPER_OUTPUT:
                            failure = ExternalError(
                                f"{program} get: its answer for {registry} is larger than "
                                f"{MAX_HELPER_OUTPUT // 1024} KiB, more than promoter reads"
                            )
                            break
                    elif len(err) < _KEPT_STDERR:
                        err += chunk
                if failure is not None:
                    break
        status: int | None = None
        if failure is None:
            try:
                status = proc.wait(max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                if not _complete(out):
                    failure = ExternalError(f"{program} get: no answer for {registry} within {timeout:g} s")
                status = 0  # it answered in full and then did not exit: the answer is what counts
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if failure is not None:
        raise failure
    assert status is not None
    return status, bytes(out or err)


def _complete(out: bytearray) -> bool:
    """Whether `out` holds a whole JSON object (the helper protocol's answer)."""
    text = bytes(out).strip()
    if not text.endswith(b"}"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, UnicodeDecodeError):
        return False


def _from_helper(helper: str, registry: str, shown: str, untrusted: Sequence[Path] = ()) -> Credentials | None:
    """Credentials from `docker-credential-<helper> get` (the docker-credential-helpers protocol:
    the server URL on stdin, `{"Username": ..., "Secret": ...}` on stdout), None when it has none."""
    program = f"docker-credential-{helper}"
    server = "https://index.docker.io/v1/" if registry == DOCKER_HUB else registry
    source = f"{program} (named in {shown})"
    path, skipped = find_helper(program, untrusted)
    if path is None:
        left_out = (
            f" (never run from the current directory or the repository: {', '.join(skipped)} left out)"
            if skipped
            else ""
        )
        raise UsageError(f"{shown} names the credential helper {program}, which is not installed{left_out}")
    failure: PromoterError | None = None
    try:
        status, answer = _run_helper(path, program, server, registry)
    except OSError as exc:  # not executable, its interpreter missing or not executable, no exec mount
        failure = ExternalError(
            f"cannot run the credential helper {path} (named in {shown}): {exc.strerror or type(exc).__name__}"
        )
    if failure is not None:
        raise failure
    if status != 0:
        said = answer.decode("utf-8", "replace").strip()
        if "credentials not found" in said.lower():
            return None
        # the helper's words, never its output as a whole (it might echo what it read)
        raise ExternalError(f"{program} get failed for {registry} (exit status {status})")
    try:
        data = json.loads(answer)
        user, secret = data["Username"], data["Secret"]
    except (ValueError, KeyError, TypeError):
        raise ExternalError(f"{program} get: its answer for {registry} is not the helper protocol's JSON") from None
    if not isinstance(user, str) or not isinstance(secret, str) or not secret:
        return None
    if user == "<token>":  # an identity token for an OAuth2 exchange, which promoter does not do
        raise UsageError(f"{program} holds an identity token for {registry}; promoter needs a username and password")
    return Credentials(user, secret, source)


def _read_auth_file(path: Path, shown: str) -> bytes | None:
    """The auth file's bytes; None when there is none. A file that cannot be read (permissions,
    not a regular file, too large) is an ExternalError naming it."""
    name = shown if str(path) in shown else f"{shown} ({path})"
    problem: str | None = None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block
    except FileNotFoundError:
        return None
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    else:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                problem = "not a regular file"
            elif info.st_size > MAX_AUTH_FILE:
                problem = f"larger than {MAX_AUTH_FILE // (1024 * 1024)} MiB"
            else:
                with os.fdopen(fd, "rb", closefd=False) as f:
                    return f.read(MAX_AUTH_FILE + 1)
        except OSError as exc:
            problem = exc.strerror or type(exc).__name__
        finally:
            os.close(fd)
    raise ExternalError(f"{name}: cannot read the registry auth file ({problem})")


def load_auth_file(path: Path, shown: str) -> AuthFile:
    """The credentials in a docker-style auth file by key, and the credential helpers it names."""
    raw = _read_auth_file(path, shown)
    if raw is None:
        return AuthFile(shown, {})
    try:
        data = json.loads(raw)
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
        return AuthFile(shown, {}, store or None, by_host)
    if not isinstance(auths, dict):
        raise UsageError(f"{shown}: `auths` must be a mapping of registry to credentials")
    found: dict[str, Credentials] = {}
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
            found[_auth_key(key)] = Credentials(user, password, shown)
    return AuthFile(shown, found, store or None, by_host)


class CredentialStore:
    """The credentials for each registry, read on first use: the auth file once, each credential
    helper at most once per registry."""

    def __init__(self, auth_file: Path | None = None, untrusted: Iterable[Path] = ()) -> None:
        self._auth_file = auth_file
        self._untrusted = tuple(untrusted)
        self._auth: AuthFile | None = None
        self._from_helpers: dict[str, Credentials | None] = {}  # registry -> what its helper said

    def lookup(self, ref: ImageRef) -> Credentials | None:
        """Docker's order: the registry's `credHelpers` entry, else an `auths` entry with
        credentials (the most specific: quay.io/org/name, quay.io/org, quay.io), else `credsStore`."""
        auth = self.auth_file()
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
            self._from_helpers[registry] = _from_helper(helper, registry, auth.shown, untrusted_dirs(self._untrusted))
        return self._from_helpers[registry]

    def why_refused(self, ref: ImageRef) -> str:
        """Why a registry refused us, as far as credentials can tell."""
        creds = self.lookup(ref)
        if creds is not None:
            return f"the credentials of {creds.username!r} from {creds.source} were not accepted"
        auth = self.auth_file()
        helper = auth.cred_helpers.get(ref.registry.lower()) or auth.creds_store
        where = f"docker-credential-{helper} (named in {auth.shown})" if helper else auth.shown
        return f"no credentials for {ref.registry} in {where}"

    def auth_file(self) -> AuthFile:
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
            self._auth = load_auth_file(path, shown)
        return self._auth
