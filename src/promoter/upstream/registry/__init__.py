"""OCI registries: does an image tag exist, and what is its digest.

`reference` (image references, tags, http or https), `challenge` (WWW-Authenticate),
`credentials` (the auth file and docker credential helpers) and `client` (the `Registry`, on
top of `promoter.http`). Importing this package costs next to nothing: the network stack is
imported on the first request.
"""

from __future__ import annotations

from promoter.upstream.registry.challenge import Challenge, parse_www_authenticate
from promoter.upstream.registry.client import (
    ACCEPT,
    MANIFEST_TYPES,
    MAX_BODY,
    MAX_RETRY_AFTER,
    Registry,
)
from promoter.upstream.registry.credentials import AUTH_FILE_ENV, DEFAULT_AUTH_FILE, HELPER_TIMEOUT, Credentials
from promoter.upstream.registry.reference import DOCKER_HUB, INSECURE_ENV, ImageRef, parse_image, scheme

__all__ = [
    "ACCEPT",
    "AUTH_FILE_ENV",
    "DEFAULT_AUTH_FILE",
    "DOCKER_HUB",
    "HELPER_TIMEOUT",
    "INSECURE_ENV",
    "MANIFEST_TYPES",
    "MAX_BODY",
    "MAX_RETRY_AFTER",
    "Challenge",
    "Credentials",
    "ImageRef",
    "Registry",
    "parse_image",
    "parse_www_authenticate",
    "scheme",
]
