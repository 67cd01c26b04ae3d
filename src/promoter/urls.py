"""URLs from outside, handled in one place: what a git location is, which forge project a URL
names, and the credentials that must never reach a message or a link."""

from __future__ import annotations

import re

from promoter.errors import UsageError
from promoter.records import record

# user[:password]@ of a URL, up to the last @ before the path (a password may hold an @)
_CREDENTIALS = r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s]*@"
# tokens in a query: ?private_token=…, &access_token=…, ?token=…, ?password=…
_QUERY_SECRET = (  # patterns as text: re compiles (and caches) each on its first use, not at import
    r"(?i)(?P<key>[?&;](?:private_token|access_token|refresh_token|id_token|token|password|passwd|secret|"
    r"api_key|apikey|key|sig|signature|X-Amz-Signature|X-Amz-Credential)=)[^&;#\s'\"]+"
)


def redact(text: str) -> str:
    """`text` with every URL's user:password part and every token in a query blanked out."""
    return re.sub(_QUERY_SECRET, r"\g<key>***", re.sub(_CREDENTIALS, r"\g<scheme>***@", text))


def without_credentials(url: str) -> str:
    """`url` with its user:password@ part removed (for links)."""
    return re.sub(_CREDENTIALS, r"\g<scheme>", url)


def is_url(location: str) -> bool:
    """A URL (`scheme://...`) or scp-like `user@host:path`, as git reads remote locations."""
    return "://" in location or re.match(r"[\w.-]+@[\w.-]+:", location) is not None


@record(frozen=True)
class RepoRef:
    """A repository on a forge, as told by its clone or web URL."""

    scheme: str  # http or https: the scheme of the forge's web/API server
    host: str  # host, with ":port" for an http(s) URL that names one
    path: tuple[str, ...]  # namespace segments then the project name


_SCP = r"(?:[^@/:\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?!//)(?P<path>\S+)"


def parse_repo_url(repo_url: str) -> RepoRef:
    """`https://host/group/sub/proj(.git)`, `ssh://git@host:22/group/proj.git`, `git@host:group/proj`.

    Credentials in the URL are dropped; a web URL's `/-/...` tail (GitLab pages) is ignored.
    """
    from urllib.parse import urlsplit

    url = repo_url.strip()
    shown = redact(url)
    scp = re.fullmatch(_SCP, url) if "://" not in url else None
    if scp is not None:
        scheme, host, path = "https", scp["host"].lower(), scp["path"]
    else:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise UsageError(f"cannot tell the forge project from the remote URL {shown}") from None
        if parts.scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git") or not parts.hostname:
            raise UsageError(
                f"cannot tell the forge project from the remote URL {shown}: "
                "need an https or ssh URL of a GitLab or GitHub repository"
            )
        scheme = parts.scheme if parts.scheme in ("http", "https") else "https"
        host = parts.hostname.lower()
        if port is not None and parts.scheme in ("http", "https"):
            host = f"{host}:{port}"
        path = parts.path
    if host == "www.github.com":
        host = "github.com"
    path = path.split("/-/", 1)[0].strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    segments = tuple(s for s in path.split("/") if s)
    if len(segments) < 2 or any(s in (".", "..") for s in segments):
        raise UsageError(f"cannot tell the forge project from the remote URL {shown}: no namespace/project in it")
    return RepoRef(scheme, host, segments)
