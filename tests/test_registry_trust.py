"""The image gate trusts only the registry and only a manifest: credentials answer a 401 only from
the registry's own origin, a 200 that is no manifest (a login page) is no image, and a digest is
the sha256 of the manifest bytes received, checked against what the registry announces.

Against fault servers on 127.0.0.1 whose behaviours (what a misbehaving registry does) are named
in tests/registry_fixtures.py, and the real docker-registry for the digests it computes itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from promoter.errors import ExternalError, Refused, UsageError
from promoter.upstream.registry import Registry
from tests.registry_fixtures import (
    DOCKER_MANIFEST,
    LOGIN_PAGE,
    MANIFEST,
    MANIFEST_DIGEST,
    RunningRegistry,
    Server,
    TokenFront,
    asking_for_credentials,
    login_page,
    redirecting_to,
    reply,
    serve_manifest,
    serves_manifest,
)

StartServer = Callable[..., Server]
StartFront = Callable[..., TokenFront]
PASSWORD = "Registry-Tru5t-pw"


@pytest.fixture(autouse=True)
def _no_user_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real ~/.docker and REGISTRY_AUTH_FILE are never read."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("PROMOTER_INSECURE_REGISTRIES", raising=False)


def credentials_for(tmp_path: Path, host: str) -> Path:
    path = tmp_path / "auth.json"
    token = base64.b64encode(f"robot:{PASSWORD}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}))
    return path


# --- credentials only to their origin -------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_a_401_from_where_a_redirect_led_gets_no_credentials(
    fault_server: StartServer, tmp_path: Path, scheme: str
) -> None:
    """The registry redirects the manifest request to another host, which answers 401 with a
    challenge of its own (a Basic realm, or a Bearer realm on itself): neither that host nor its
    token realm nor the registry ever sees the registry's password; the run ends naming both."""
    thief = fault_server(asking_for_credentials(scheme))
    registry = fault_server(redirecting_to(f"http://{thief.host}"))
    reg = Registry(auth_file=credentials_for(tmp_path, registry.host))
    with pytest.raises(ExternalError) as err:
        reg.digest(f"{registry.host}/team/app", "v1")
    assert not isinstance(err.value, UsageError) and err.value.exit_code in (3, 4)
    assert str(err.value) == (
        f"registry {registry.host}: HEAD /v2/team/app/manifests/v1 was redirected to {thief.host}, which asks "
        f"for credentials (401); promoter gives the credentials of {registry.host} to no other host"
    )
    sent = [h.get("authorization") for s in (registry, thief) for _, _, h in s.requests]
    assert sent and all(a is None for a in sent), sent
    assert [p for _, p, _ in thief.requests] == ["/v2/team/app/manifests/v1"]  # its /token never asked
    assert PASSWORD not in str(err.value)


def test_a_token_realm_on_another_host_named_by_the_registry_itself_still_gets_them(
    fault_server: StartServer, tmp_path: Path
) -> None:
    """As Docker Hub does (registry-1.docker.io, realm auth.docker.io): the registry's own 401
    names a token service elsewhere, which is given the credentials."""
    tokens = fault_server(lambda req: reply(req, 200, {}, b'{"token": "t-9"}'))

    def registry_behaviour(req: BaseHTTPRequestHandler) -> None:
        if req.headers.get("Authorization") == "Bearer t-9":
            serve_manifest(req)
        else:
            reply(req, 401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token",service="hub"'})

    registry = fault_server(registry_behaviour)
    reg = Registry(auth_file=credentials_for(tmp_path, registry.host))
    assert reg.digest(f"{registry.host}/team/app", "v1") == MANIFEST_DIGEST
    expected = "Basic " + base64.b64encode(f"robot:{PASSWORD}".encode()).decode()
    assert [h.get("authorization") for _, _, h in tokens.requests] == [expected]


# --- only a manifest ----------------------------------------------------------------------------


def test_a_login_page_is_no_image(fault_server: StartServer) -> None:
    """A captive portal or a single-sign-on front answering 200 text/html: an error, never the
    sha256 of a web page pinned as an image."""
    server = fault_server(login_page)
    with pytest.raises(ExternalError) as err:
        Registry().digest(f"{server.host}/team/app", "v1")
    assert str(err.value) == (
        f"registry {server.host}: GET /v2/team/app/manifests/v1 answered 200 with text/html "
        "(a login page or a proxy's portal?), not an image manifest"
    )
    assert err.value.exit_code == 4
    assert "sha256:" + hashlib.sha256(LOGIN_PAGE).hexdigest() not in str(err.value)


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        (serves_manifest(b'{"hello": "world"}', content_type="application/json"), "200 with application/json"),
        (serves_manifest(MANIFEST, content_type=None, digest=None), None),  # no type: the body's mediaType says
        (serves_manifest(b"{}", content_type=None), "200 without a Content-Type"),
        (serves_manifest(b'{"schemaVersion": 1, "name": "x"}', content_type="application/json"), "application/json"),
        (serves_manifest(b"<html>", content_type=DOCKER_MANIFEST), "that is not a valid manifest"),
    ],
)
def test_only_a_manifest_is_an_image(fault_server: StartServer, behaviour: Callable[..., None], said: str) -> None:
    server = fault_server(behaviour)
    if said is None:
        assert Registry().digest(f"{server.host}/a/b", "v1") == MANIFEST_DIGEST
        return
    with pytest.raises(ExternalError, match=r"not an image manifest|not a valid manifest") as err:
        Registry().digest(f"{server.host}/a/b", "v1")
    assert said in str(err.value)


def test_the_digest_is_the_manifests_own_never_a_head_answers_word(fault_server: StartServer) -> None:
    """HEAD announces a digest that is not the manifest's; GET announces none: the sha256 of the
    bytes received is the digest."""
    server = fault_server(serves_manifest(digest=None, head_digest="sha256:" + "ab" * 32))
    assert Registry().digest(f"{server.host}/a/b", "v1") == MANIFEST_DIGEST
    assert [m for m, _, _ in server.requests] == ["HEAD", "GET"]


def test_a_digest_announced_with_the_manifest_must_match_it(fault_server: StartServer) -> None:
    server = fault_server(serves_manifest(digest="sha256:" + "ab" * 32))
    with pytest.raises(ExternalError, match=r"does not match its digest \(sha256:abab.* announced, sha256:"):
        Registry().digest(f"{server.host}/a/b", "v1")


def test_a_gzip_encoded_manifest_is_pinned_by_its_own_bytes(fault_server: StartServer) -> None:
    """promoter asks for `identity`; a server that gzips anyway: the digest is of the manifest,
    not of its compressed form. An encoding that cannot be undone is no manifest."""
    server = fault_server(serves_manifest(encoding="gzip"))
    assert Registry().digest(f"{server.host}/a/b", "v1") == MANIFEST_DIGEST
    server = fault_server(serves_manifest(encoding="x-unknown", digest=None))
    with pytest.raises(ExternalError, match="that is not a valid manifest"):
        Registry().digest(f"{server.host}/a/b", "v1")


def test_a_digest_reference_must_be_answered_by_that_very_manifest(fault_server: StartServer) -> None:
    server = fault_server(serves_manifest(digest=None))
    assert Registry().digest(f"{server.host}/a/b", MANIFEST_DIGEST) == MANIFEST_DIGEST
    other = "sha256:" + "0" * 64
    with pytest.raises(ExternalError, match=rf"does not match its digest \({other} asked for, {MANIFEST_DIGEST}"):
        Registry().digest(f"{server.host}/a/b", other)


def test_only_sha256_can_be_pinned(fault_server: StartServer) -> None:
    sha512 = "sha512:" + hashlib.sha512(MANIFEST).hexdigest()
    server = fault_server(serves_manifest(digest=sha512))
    with pytest.raises(Refused) as err:
        Registry().digest(f"{server.host}/a/b", "v1")
    assert str(err.value) == (
        f"registry {server.host}: the manifest of a/b:v1 has the digest {sha512}; only sha256 digests can be pinned"
    )
    with pytest.raises(UsageError, match=r"only sha256 digests can be pinned \(the tag names a sha512 digest\)"):
        Registry().digest(f"{server.host}/a/b", sha512)
    assert len(server.requests) == 2  # the digest tag never reached the registry
    server = fault_server(serves_manifest(digest="sha512:" + "ab" * 64))  # and announced, it must match
    with pytest.raises(ExternalError, match="does not match its digest"):
        Registry().digest(f"{server.host}/a/b", "v1")


def test_the_real_registry_digests_are_the_manifests(registry: RunningRegistry) -> None:
    """docker-registry's own Docker-Content-Digest agrees with the bytes: both manifest kinds."""
    oci = registry.push_image("trust/app", "oci", "oci")
    docker = registry.push_image("trust/app", "docker", "docker")
    reg = Registry()
    assert reg.digest(f"{registry.host}/trust/app", "oci") == oci
    assert reg.digest(f"{registry.host}/trust/app", "docker") == docker
    assert reg.digest(f"{registry.host}/trust/app", oci) == oci
