"""Registry credentials: one docker-style auth file (`auth_file`, else `$REGISTRY_AUTH_FILE`, else
`~/.docker/config.json`), its `auths`, and the docker credential helpers it names (`credHelpers`,
`credsStore`), run only when a registry asks for credentials. A password never appears in a
message or a repr."""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from promoter.errors import ExternalError, UsageError
from promoter.upstream.registry.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, ImageRef

AUTH_FILE_ENV = "REGISTRY_AUTH_FILE"
DEFAULT_AUTH_FILE = "~/.docker/config.json"
CREDENTIALS_HINT = f"check credentials in {DEFAULT_AUTH_FILE} or {AUTH_FILE_ENV}"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class AuthFile:
    shown: str  # how messages name it
    auths: dict[str, Credentials]  # by auths key (host[/path])
    creds_store: str | None = None  # helper for every registry
    cred_helpers: dict[str, str] = field(default_factory=dict)  # registry host -> helper


_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
HELPER_TIMEOUT = 10.0  # seconds a docker-credential-<name> may take to answer


def _from_helper(helper: str, registry: str, shown: str) -> Credentials | None:
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
    return Credentials(user, secret, source)


def load_auth_file(path: Path, shown: str) -> AuthFile:
    """The credentials in a docker-style auth file by key, and the credential helpers it names."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return AuthFile(shown, {})
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

    def __init__(self, auth_file: Path | None = None) -> None:
        self._auth_file = auth_file
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
            self._from_helpers[registry] = _from_helper(helper, registry, auth.shown)
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
