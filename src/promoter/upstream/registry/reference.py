"""Image references: where an image lives (registry host, repository), which tags are valid, and
whether a registry is spoken to over https or plain http."""

from __future__ import annotations

import os
import re

from promoter.errors import UsageError
from promoter.records import record

DOCKER_HUB = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", DOCKER_HUB})
LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]"})
INSECURE_ENV = "PROMOTER_INSECURE_REGISTRIES"

# docker/distribution reference grammar (reference/regexp.go), without tag and digest
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?")
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")


@record(frozen=True)
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
    if registry.lower() in DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    return ImageRef(registry, path)


def check_reference(image: str, tag: str) -> None:
    """UsageError unless `tag` is a valid tag or digest."""
    if not (_TAG.fullmatch(tag) or _DIGEST.fullmatch(tag)):
        raise UsageError(f"invalid image tag {tag!r} for {image}: letters, digits, '_', '.', '-' (at most 128)")


def scheme(registry: str) -> str:
    """ "http" for loopback hosts and those in $PROMOTER_INSECURE_REGISTRIES, else "https"."""
    host = host_of(registry)
    if host in LOOPBACK:
        return "http"
    for entry in os.environ.get(INSECURE_ENV, "").split(","):
        entry = entry.strip().lower()
        if entry and entry in (registry.lower(), host):
            return "http"
    return "https"


def host_of(hostport: str) -> str:
    """The host of host[:port], lowercased (an IPv6 literal keeps its brackets)."""
    hostport = hostport.lower()
    if hostport.startswith("["):
        return hostport[: hostport.index("]") + 1] if "]" in hostport else hostport
    return hostport.partition(":")[0]
