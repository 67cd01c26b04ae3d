"""A small client of the OCI distribution API: does an image tag exist, and what is its digest.

Only what promoter needs: `HEAD /v2/<name>/manifests/<tag>` (is there anything: a 404 ends it
there), then `GET` of the manifest itself, the registry token flow (anonymous bearer tokens as
quay.io and Docker Hub issue them, or with Basic credentials), plain Basic auth. Every request
goes through `promoter.http` (retries with back-off and Retry-After, proxies, redirects that keep
Authorization on its origin, a body cap and a deadline); credentials come from
`credentials.CredentialStore`.

Only a manifest is trusted: the answer must be one of MANIFEST_TYPES (a login page or a captive
portal answering 200 `text/html` is an error, never an image), and the digest is the sha256 of
the manifest bytes received (after any Content-Encoding is undone), checked against the
registry's `Docker-Content-Digest` when it sends one, never taken from a header alone. A 401 is
answered with credentials only when the registry's own origin sent it: a redirect to another
host asking for credentials gets none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from promoter.durations import format as duration
from promoter.errors import ExternalError, Refused, UsageError
from promoter.http import (
    BadCertificate,
    Http,
    HttpError,
    Response,
    Retrying,
    TooLarge,
    WaitTooLong,
    same_origin,
)
from promoter.records import record
from promoter.upstream.registry.challenge import parse_www_authenticate
from promoter.upstream.registry.credentials import CREDENTIALS_HINT, Credentials, CredentialStore
from promoter.upstream.registry.reference import INSECURE_ENV, ImageRef, check_reference, parse_image, scheme
from promoter.urls import redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
MAX_RETRY_AFTER = 60.0  # seconds: a registry asking for a longer wait ends the run (exit 4)
MAX_BACKOFF = 60.0
MAX_BODY = 4 * 1024 * 1024  # distribution's own manifest size limit
DEADLINE = 120.0  # seconds one request may take with its retries
_CONTENT_DIGEST = re.compile(r"sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128}")
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
REFERRER_PAGES = 10  # pages of the Referrers API read, at most
_DIGEST_REFERENCE = re.compile(r"(?P<algorithm>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):[a-zA-Z0-9=_-]{32,}")


Progress = Callable[[str], None]
# the callback of every Registry without one of its own (`reporting`): what a `wait` waits for
_PROGRESS: ContextVar[Progress | None] = ContextVar("promoter_registry_progress", default=None)


@contextlib.contextmanager
def reporting(progress: Progress | None) -> Iterator[None]:
    """Within the block, every Registry without a callback of its own says what it waits for
    to `progress` (a line each time)."""
    token = _PROGRESS.set(progress)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2]


def _described(media: str, resp: Response) -> str:
    """How an answer that is no manifest is named: `200 with text/html (a login page or a proxy's
    portal?)`."""
    if not media:
        return f"{resp.status} without a Content-Type"
    guess = " (a login page or a proxy's portal?)" if media in ("text/html", "application/xhtml+xml") else ""
    return f"{resp.status} with {media}{guess}"


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


def _next_link(header: str) -> str | None:
    """The target of `<...>; rel="next"` in a Link header, if any."""
    for part in header.split(","):
        m = re.fullmatch(r"\s*<([^>]*)>\s*;(.*)", part)
        if m and re.search(r'rel="?next"?', m.group(2)):
            return m.group(1)
    return None


@record(frozen=True)
class Manifest:
    """A manifest as received: its digest (the sha256 of `body`), media type and parsed JSON."""

    digest: str
    media_type: str
    body: bytes
    doc: dict[str, Any]


class Unreachable(ExternalError):
    """The registry gave no usable answer at all: it could not be reached, its certificate was
    refused, or it stayed 429/5xx through the retries. Any other tag asked of it now would fail
    alike (`Session.digest` asks no more of it)."""


class Registry:
    """Answers "does image:tag exist, and what is its digest" against OCI registries.

    One instance keeps bearer tokens (per registry and scope), the auth scheme that worked and
    its connections, so asking about twenty tags costs twenty requests, not sixty.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 1.0,
        auth_file: Path | None = None,
        untrusted_dirs: Iterable[Path] = (),
        sleep: Callable[[float], None] = time.sleep,
        progress: Progress | None = None,
    ) -> None:
        """`untrusted_dirs`: directories (the config repository) no credential helper is ever
        taken from, besides the current directory and the git top-level around it. `progress`
        hears what `wait` waits for (else the callback `reporting` set, if any)."""
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self.progress = progress
        self._http = Http(
            timeout=timeout,
            deadline=DEADLINE,
            max_body=MAX_BODY,
            retry=Retrying(attempts=retries + 1, backoff=backoff, max_backoff=MAX_BACKOFF, max_wait=MAX_RETRY_AFTER),
            sleep=sleep,
        )
        self._store = CredentialStore(auth_file, untrusted_dirs)
        self._tokens: dict[tuple[str, str], str] = {}  # (registry, scope) -> bearer token
        self._scopes: dict[tuple[str, str], str] = {}  # (registry, repository) -> scope of its token
        self._basic: set[str] = set()  # registries that asked for Basic auth

    def __repr__(self) -> str:
        return f"Registry(timeout={self._timeout}, retries={self._retries}, backoff={self._backoff})"

    # --- public ---------------------------------------------------------------------------------

    def digest(self, image: str, tag: str) -> str | None:
        """The manifest digest (`sha256:…`) of image:tag, or None when the registry has no such tag.

        HEAD says whether there is anything (a 404 costs one request); the digest is then the
        sha256 of the manifest a GET returns, never a header's word alone."""
        ref = parse_image(image)
        check_reference(image, tag)
        by_digest = _DIGEST_REFERENCE.fullmatch(tag)
        if by_digest is not None and by_digest["algorithm"] != "sha256":
            raise UsageError(
                f"image {image}@{tag}: only sha256 digests can be pinned "
                f"(the tag names a {by_digest['algorithm']} digest)"
            )
        path = f"/v2/{ref.repository}/manifests/{tag}"
        progress = self.progress or _PROGRESS.get()
        if progress is not None:  # what a slow or unreachable registry keeps the command waiting for
            progress(f"asking registry {ref.registry} for {ref.repository}{'@' if ':' in tag else ':'}{tag}")
        resp = self._manifest(ref, "HEAD", path)
        if resp.status == 404:
            return None
        self._expect_ok(ref, "HEAD", path, resp)
        resp = self._manifest(ref, "GET", path)
        if resp.status == 404:
            return None
        self._expect_ok(ref, "GET", path, resp)
        return self._pin(ref, tag, path, resp)

    def _pin(self, ref: ImageRef, tag: str, path: str, resp: Response) -> str:
        """The sha256 of the manifest in `resp`, once it is known to be a manifest whose bytes
        match what the registry announces for them."""
        where = f"registry {ref.registry}: GET {path}"
        media = (resp.headers.get("content-type") or "").partition(";")[0].strip().lower()
        try:
            doc = json.loads(resp.body)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if not isinstance(doc, dict) or doc.get("schemaVersion") != 2:
            if media in MANIFEST_TYPES:
                raise ExternalError(
                    redact(
                        f"{where} answered {media} that is not a valid manifest "
                        f"({_plural(len(resp.body), 'byte')}; cut off, or a Content-Encoding it could not undo?)"
                    )
                )
            raise ExternalError(redact(f"{where} answered {_described(media, resp)}, not an image manifest"))
        declared = doc.get("mediaType")
        if media not in MANIFEST_TYPES and not (media in ("", "application/json") and declared in MANIFEST_TYPES):
            raise ExternalError(redact(f"{where} answered {_described(media, resp)}, not an image manifest"))
        computed = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        said = (resp.headers.get("Docker-Content-Digest") or "").strip()
        shown = f"{ref.repository}:{tag}" if ":" not in tag else f"{ref.repository}@{tag}"
        if _CONTENT_DIGEST.fullmatch(said):
            algorithm = said.partition(":")[0]
            received = (
                computed if algorithm == "sha256" else f"{algorithm}:{hashlib.new(algorithm, resp.body).hexdigest()}"
            )
            if said != received:
                raise ExternalError(
                    f"registry {ref.registry}: the manifest of {shown} does not match its digest "
                    f"({said} announced, {received} received)"
                )
            if algorithm != "sha256":
                raise Refused(
                    f"registry {ref.registry}: the manifest of {shown} has the digest {said}; "
                    "only sha256 digests can be pinned"
                )
        if ":" in tag and tag != computed:  # a digest reference: the answer must be that very manifest
            raise ExternalError(
                f"registry {ref.registry}: the manifest of {shown} does not match its digest "
                f"({tag} asked for, {computed} received)"
            )
        return computed

    # --- what signatures and attestations need (policy.trust) -------------------------------------

    def manifest(self, image: str, reference: str) -> Manifest | None:
        """The manifest image:reference (a tag, or a sha256 digest it must hash to), checked as
        `digest` checks it (a manifest, never a page; its bytes match its digest); None when the
        registry has none. One GET: the tags asked for here are usually missing, and a 404 is as
        cheap as a HEAD."""
        ref = parse_image(image)
        check_reference(image, reference)
        path = f"/v2/{ref.repository}/manifests/{reference}"
        resp = self._manifest(ref, "GET", path)
        if resp.status == 404:
            return None
        self._expect_ok(ref, "GET", path, resp)
        digest = self._pin(ref, reference, path, resp)
        doc = json.loads(resp.body)
        media = (resp.headers.get("content-type") or "").partition(";")[0].strip().lower()
        return Manifest(digest, media if media in MANIFEST_TYPES else str(doc.get("mediaType") or ""), resp.body, doc)

    def blob(self, image: str, digest: str) -> bytes:
        """The blob `digest` of image (at most MAX_BODY bytes), whose bytes must hash to it."""
        ref = parse_image(image)
        if not _SHA256.fullmatch(digest):
            raise ExternalError(
                f"registry {ref.registry}: {ref.repository} names the blob {digest[:80]!r}, not a sha256 digest"
            )
        path = f"/v2/{ref.repository}/blobs/{digest}"
        resp = self._manifest(ref, "GET", path, None)
        self._expect_ok(ref, "GET", path, resp)
        received = "sha256:" + hashlib.sha256(resp.body).hexdigest()
        if received != digest:
            raise ExternalError(
                f"registry {ref.registry}: the blob {digest} of {ref.repository} does not match its digest "
                f"({received} received)"
            )
        return resp.body

    def referrers(self, image: str, digest: str) -> list[dict[str, object]] | None:
        """The descriptors of the manifests that name `digest` as their subject, by the OCI 1.1
        Referrers API (`GET /v2/<name>/referrers/<digest>`, an image index; its `Link: rel="next"`
        pages followed, at most REFERRER_PAGES); None when the registry has no such API (404)."""
        ref = parse_image(image)
        if not _SHA256.fullmatch(digest):
            raise UsageError(f"image {image}@{digest}: only sha256 digests have referrers here")
        path = f"/v2/{ref.repository}/referrers/{digest}"
        out: list[dict[str, object]] = []
        for _ in range(REFERRER_PAGES):
            resp = self._manifest(ref, "GET", path, OCI_INDEX)
            if resp.status in (404, 405, 501) and not out:
                return None
            self._expect_ok(ref, "GET", path, resp)
            media = (resp.headers.get("content-type") or "").partition(";")[0].strip().lower()
            try:
                doc = json.loads(resp.body)
            except (ValueError, UnicodeDecodeError):
                doc = None
            if media != OCI_INDEX or not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list):
                raise ExternalError(
                    redact(
                        f"registry {ref.registry}: GET {path} answered {_described(media, resp)}, not an image index"
                    )
                )
            out += [d for d in doc["manifests"] if isinstance(d, dict)]
            following = _next_link(resp.headers.get("link") or "")
            if following is None:
                return out
            parts = urlsplit(following)
            if parts.netloc and parts.netloc != ref.registry:  # pages come from the registry itself
                raise ExternalError(
                    redact(f"registry {ref.registry}: GET {path} points its next page at {parts.netloc}")
                )
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if not path.startswith(f"/v2/{ref.repository}/referrers/"):
                raise ExternalError(redact(f"registry {ref.registry}: GET {path}: a next page outside the referrers"))
        return out

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
            progress = self.progress or _PROGRESS.get()
            if progress is not None:
                left = duration(max(int(remaining), 1))
                progress(f"waiting for image {image}:{tag} ({_plural(polls, 'check')} so far, {left} left)")
            self._sleep(max(min(interval, remaining), 0.0))

    # --- the auth dance -------------------------------------------------------------------------

    def _manifest(self, ref: ImageRef, method: str, path: str, accept: str | None = ACCEPT) -> Response:
        url = f"{scheme(ref.registry)}://{ref.registry}{path}"
        headers = {"Accept": accept} if accept else {}
        auth = self._known_auth(ref)
        fresh = False
        while True:
            resp = self._fetch(
                method, url, {**headers, **({"Authorization": auth} if auth else {})}, f"registry {ref.registry}"
            )
            if resp.status == 403:
                raise Refused(
                    redact(
                        f"registry {ref.registry} denied access to {ref.repository} (403): "
                        f"the account has no pull permission; {CREDENTIALS_HINT}"
                    )
                )
            if resp.status != 401:
                return resp
            if not same_origin(resp.url, url):
                # a redirect took the request elsewhere, and that host asks for credentials: they
                # are the registry's and go to no one else, whatever realm it names
                raise ExternalError(
                    redact(
                        f"registry {ref.registry}: {method} {path} was redirected to {_netloc(resp.url)}, which "
                        f"asks for credentials (401); promoter gives the credentials of {ref.registry} to no "
                        "other host"
                    )
                )
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

    def _authenticate(self, ref: ImageRef, resp: Response) -> str:
        """The Authorization header to answer a 401 with; Refused when there is none to give."""
        challenges = [c for value in resp.headers.get_all("www-authenticate") for c in parse_www_authenticate(value)]
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
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ExternalError(redact(f"registry {ref.registry}: invalid token realm {realm!r}"))
        if "@" in parts.netloc:
            raise ExternalError(f"registry {ref.registry}: invalid token realm (credentials in its URL)")
        query = [("service", service)] if service else []
        query.append(("scope", scope))
        sep = "&" if parts.query else "?"
        url = realm + sep + urlencode(query)
        headers: dict[str, str] = {}
        creds = self._credentials(ref)
        # credentials travel only over TLS, or to a host that is plain http on purpose
        if creds is not None and (parts.scheme == "https" or scheme(parts.netloc) == "http"):
            headers["Authorization"] = creds.basic()
        what = f"token service {parts.netloc} of registry {ref.registry}"
        resp = self._fetch("GET", url, headers, what)
        if resp.status == 401:
            raise self._unauthorized(ref)
        if resp.status == 403:
            raise Refused(
                redact(
                    f"registry {ref.registry} denied access to {ref.repository} (403 from {what}); {CREDENTIALS_HINT}"
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

    def _credentials(self, ref: ImageRef) -> Credentials | None:
        return self._store.lookup(ref)

    def _unauthorized(self, ref: ImageRef, detail: str = "") -> Refused:
        why = self._store.why_refused(ref)
        return Refused(
            redact(
                f"registry {ref.registry} refused access to {ref.repository} (401): {CREDENTIALS_HINT} ({why}){detail}"
            )
        )

    def _expect_ok(self, ref: ImageRef, method: str, path: str, resp: Response) -> None:
        if not 200 <= resp.status < 300:
            raise ExternalError(
                redact(f"registry {ref.registry}: {method} {path} answered {resp.status} {resp.reason}")
                + _error_code(resp.body)
            )

    # --- transport ------------------------------------------------------------------------------

    def _fetch(self, method: str, url: str, headers: dict[str, str], what: str) -> Response:
        """One request through promoter.http; its failures, and a retried answer that stayed a
        429 or 5xx, as messages that say what was asked of whom."""
        path = urlsplit(url).path
        host = urlsplit(url).netloc
        failure: ExternalError | None = None
        try:
            resp = self._http.request(method, url, headers=headers)
        except BadCertificate as exc:
            failure = Unreachable(f"{host}: {exc.detail}; if it is a plain-http registry, list it in {INSECURE_ENV}")
        except TooLarge as exc:
            failure = ExternalError(redact(f"{what}: {method} {path} {exc.detail}"))
        except WaitTooLong as exc:
            failure = Unreachable(redact(f"{what}: {method} {path} {exc.detail}"))
        except HttpError as exc:
            tries = _plural(exc.attempts, "try", "tries")
            failure = Unreachable(redact(f"{what}: {method} {path} {exc.detail} after {tries}"))
        if failure is not None:
            raise failure
        if resp.status == 429 or resp.status >= 500:  # retried until tries ran out
            tries = _plural(resp.attempts, "try", "tries")
            answered = f"answered {resp.status} {resp.reason}".rstrip() + _error_code(resp.body)
            raise Unreachable(redact(f"{what}: {method} {path} {answered} after {tries}"))
        return resp
