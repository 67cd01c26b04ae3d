"""promoter.upstream.registry against a real docker-registry (anonymous and htpasswd), a bearer-token front
for it, and fault servers on 127.0.0.1. Every wait is bounded; sleeps and clocks are fakes."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from promoter.errors import ExternalError, PromoterError, Refused, UsageError
from promoter.upstream.registry import (
    DOCKER_HUB,
    MAX_RETRY_AFTER,
    Challenge,
    ImageRef,
    Registry,
    parse_image,
    parse_www_authenticate,
    scheme,
)
from promoter.upstream.registry import credentials as credentials_module
from tests.registry_fixtures import (
    MANIFEST_DIGEST,
    REG_PASSWORD,
    REG_USER,
    Proxy,
    RunningRegistry,
    Server,
    TokenFront,
    basic,
    error_body,
    free_port,
    reply,
    self_signed,
    serve_manifest,
    server_tls,
    serves_manifest,
)

DIGEST = MANIFEST_DIGEST  # what serve_manifest serves
StartFront = Callable[..., TokenFront]
StartServer = Callable[..., Server]


class Sleeps(list[float]):
    """A fake `sleep` that records what it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def _no_user_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real ~/.docker and REGISTRY_AUTH_FILE are never read."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("PROMOTER_INSECURE_REGISTRIES", raising=False)


def auth_file(path: Path, auths: dict[str, dict[str, str]]) -> Path:
    path.write_text(json.dumps({"auths": auths}))
    return path


def b64(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


# --- references, schemes, challenges, auth files ---------------------------------------------------


@pytest.mark.parametrize(
    ("image", "registry", "repository"),
    [
        ("quay.io/app-sre/qontract-reconcile", "quay.io", "app-sre/qontract-reconcile"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b"),
        ("localhost/a", "localhost", "a"),
        ("localhost:5000/a.b/c_d/e--f", "localhost:5000", "a.b/c_d/e--f"),
        ("[::1]:5000/a/b", "[::1]:5000", "a/b"),
        ("x", DOCKER_HUB, "library/x"),
        ("org/x", DOCKER_HUB, "org/x"),
        ("docker.io/x", DOCKER_HUB, "library/x"),
        ("index.docker.io/org/x", DOCKER_HUB, "org/x"),
        ("registry.example.com:443/team/app", "registry.example.com:443", "team/app"),
    ],
)
def test_parse_image(image: str, registry: str, repository: str) -> None:
    assert parse_image(image) == ImageRef(registry, repository)


@pytest.mark.parametrize(
    "image",
    [
        "",
        " quay.io/a",
        "quay.io/App",
        "quay.io/a:latest",
        "quay.io/a@sha256:" + "0" * 64,
        "https://quay.io/a",
        "quay.io/",
        "quay.io//a",
        "quay.io/a/",
        "-bad.io/a",
        "quay.io:port/a",
        "a_/b",
    ],
)
def test_parse_image_malformed(image: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_image(image)
    assert repr(image) in str(err.value)


def test_tag_is_checked() -> None:
    with pytest.raises(UsageError, match=r"invalid image tag '\.\./x'"):
        Registry().digest("127.0.0.1:1/a", "../x")


def test_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    assert scheme("localhost") == scheme("localhost:5000") == "http"
    assert scheme("127.0.0.1:5000") == scheme("[::1]:5000") == scheme("[::1]") == "http"
    assert scheme("quay.io") == scheme("127.0.0.2:5000") == scheme("localhost.example.com") == "https"
    monkeypatch.setenv("PROMOTER_INSECURE_REGISTRIES", " reg.test:5000 , other.test,")
    assert scheme("reg.test:5000") == scheme("other.test") == scheme("other.test:1234") == "http"
    assert scheme("reg.test:6000") == scheme("reg.test") == scheme("quay.io") == "https"


def test_parse_www_authenticate_several_challenges() -> None:
    header = (
        'Bearer realm="https://quay.io/v2/auth",service="quay.io",scope="repository:x:pull", '
        'Basic realm="a, b=c \\"quoted\\""'
    )
    assert parse_www_authenticate(header) == [
        Challenge("bearer", {"realm": "https://quay.io/v2/auth", "service": "quay.io", "scope": "repository:x:pull"}),
        Challenge("basic", {"realm": 'a, b=c "quoted"'}),
    ]


def test_parse_www_authenticate_forms() -> None:
    assert parse_www_authenticate('BASIC Realm = "r" , charset=UTF-8') == [
        Challenge("basic", {"realm": "r", "charset": "UTF-8"})
    ]
    assert parse_www_authenticate("Negotiate abc+/==, Bearer realm=tok,service=s") == [
        Challenge("negotiate", token68="abc+/=="),
        Challenge("bearer", {"realm": "tok", "service": "s"}),
    ]
    assert parse_www_authenticate('Bearer realm="x,y", error="insufficient_scope"') == [
        Challenge("bearer", {"realm": "x,y", "error": "insufficient_scope"})
    ]
    assert parse_www_authenticate("Basic") == [Challenge("basic")]
    assert parse_www_authenticate("") == []
    assert parse_www_authenticate('Bearer realm="unterminated') == [Challenge("bearer", {"realm": "unterminated"})]
    # garbage is skipped, not guessed at
    assert parse_www_authenticate('=oops, Basic realm="r"') == [Challenge("basic", {"realm": "r"})]


def test_auth_file_invalid_json_names_the_file_not_its_content(tmp_path: Path) -> None:
    path = tmp_path / "auth.json"
    path.write_text('{"auths": {"quay.io": {"auth": "c2VjcmV0')
    with pytest.raises(UsageError) as err:
        Registry(auth_file=path)._credentials(parse_image("quay.io/a"))
    assert str(path) in str(err.value) and "not valid JSON" in str(err.value)
    assert "c2VjcmV0" not in str(err.value)


def test_auth_file_bad_base64(tmp_path: Path) -> None:
    path = auth_file(tmp_path / "auth.json", {"quay.io": {"auth": "bm8tY29sb24="}})  # "no-colon"
    with pytest.raises(UsageError, match="not base64 of 'user:password'"):
        Registry(auth_file=path)._credentials(parse_image("quay.io/a"))


def test_auth_file_keys(tmp_path: Path) -> None:
    path = auth_file(
        tmp_path / "auth.json",
        {
            "https://index.docker.io/v1/": {"auth": b64("hub", "p1")},
            "https://quay.io": {"username": "quay", "password": "p2"},
            "quay.io/special/repo": {"auth": b64("special", "p3")},
            "127.0.0.1:5000": {"auth": b64("local", "p:with:colons")},
            "ghcr.io": {"identitytoken": "ignored"},
        },
    )
    reg = Registry(auth_file=path)

    def who(image: str) -> tuple[str, str] | None:
        c = reg._credentials(parse_image(image))
        return None if c is None else (c.username, c.password)

    assert who("nginx") == ("hub", "p1")
    assert who("quay.io/app-sre/x") == ("quay", "p2")
    assert who("quay.io/special/repo") == ("special", "p3")
    assert who("quay.io/special/other") == ("quay", "p2")
    assert who("127.0.0.1:5000/a") == ("local", "p:with:colons")
    assert who("127.0.0.1:5001/a") is None
    assert who("ghcr.io/a") is None
    c = reg._credentials(parse_image("quay.io/a"))
    assert "p2" not in repr(c) and "p2" not in str(c)


# --- a real registry -------------------------------------------------------------------------------


def test_digest_of_oci_and_docker_manifests(registry: RunningRegistry) -> None:
    oci = registry.push_image("app/oci", "v1", "oci")
    docker = registry.push_image("app/docker", "v1", "docker")
    index = registry.push_index("app/oci", "multi", [(oci, registry.manifest_size("app/oci", oci))], "oci")
    mlist = registry.push_index(
        "app/docker", "multi", [(docker, registry.manifest_size("app/docker", docker))], "docker"
    )
    reg = Registry()
    assert reg.digest(f"{registry.host}/app/oci", "v1") == oci
    assert reg.digest(f"{registry.host}/app/docker", "v1") == docker
    assert reg.digest(f"{registry.host}/app/oci", "multi") == index
    assert reg.digest(f"{registry.host}/app/docker", "multi") == mlist
    assert reg.digest(f"{registry.host}/app/oci", oci) == oci  # a digest works as the reference too
    assert len({oci, docker, index, mlist}) == 4
    assert reg.exists(f"{registry.host}/app/oci", "v1")


def test_missing_tag_and_repository(registry: RunningRegistry) -> None:
    registry.push_image("app/present", "v1")
    reg = Registry(sleep=Sleeps())
    assert reg.digest(f"{registry.host}/app/present", "v2") is None
    assert not reg.exists(f"{registry.host}/app/present", "v2")
    assert reg.digest(f"{registry.host}/app/absent", "v1") is None


def test_localhost_name_uses_http(registry: RunningRegistry) -> None:
    digest = registry.push_image("app/localhost", "v1")
    port = registry.host.rpartition(":")[2]
    assert Registry().digest(f"localhost:{port}/app/localhost", "v1") == digest


def test_basic_auth_from_auth_file(auth_registry: RunningRegistry, tmp_path: Path) -> None:
    digest = auth_registry.push_image("team/app", "v1")
    path = auth_file(tmp_path / "auth.json", {auth_registry.host: {"auth": b64(REG_USER, REG_PASSWORD)}})
    reg = Registry(auth_file=path)
    assert reg.digest(f"{auth_registry.host}/team/app", "v1") == digest
    assert reg.digest(f"{auth_registry.host}/team/app", "nope") is None
    assert reg._basic == {auth_registry.host}  # the scheme that worked is sent up front from now on


def test_basic_auth_from_registry_auth_file_env(
    auth_registry: RunningRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = auth_registry.push_image("team/env", "v1")
    path = auth_file(
        tmp_path / "containers-auth.json",
        {f"https://{auth_registry.host}": {"username": REG_USER, "password": REG_PASSWORD}},
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(path))
    assert Registry().digest(f"{auth_registry.host}/team/env", "v1") == digest


def test_basic_auth_from_docker_config(auth_registry: RunningRegistry, tmp_path: Path) -> None:
    digest = auth_registry.push_image("team/home", "v1")
    home = tmp_path / "home"  # HOME, set by the autouse fixture
    (home / ".docker").mkdir(parents=True)
    auth_file(home / ".docker" / "config.json", {auth_registry.host: {"auth": b64(REG_USER, REG_PASSWORD)}})
    assert Registry().digest(f"{auth_registry.host}/team/home", "v1") == digest


def test_basic_auth_without_credentials_is_refused(auth_registry: RunningRegistry) -> None:
    with pytest.raises(Refused) as err:
        Registry().digest(f"{auth_registry.host}/team/app", "v1")
    assert str(err.value).startswith(
        f"registry {auth_registry.host} refused access to team/app (401): "
        "check credentials in ~/.docker/config.json or REGISTRY_AUTH_FILE"
    )
    assert "no credentials for" in str(err.value)


HELPER = """#!{python}
# a docker credential helper (the docker-credential-helpers protocol): `get` reads a server URL
import json, os, sys, time
server = sys.stdin.read()
with open(os.environ["HELPER_LOG"], "a") as log:
    log.write(sys.argv[0].rsplit("-", 1)[-1] + " " + " ".join(sys.argv[1:]) + " " + server + "\\n")
known = json.loads(os.environ["HELPER_KNOWS"])
if os.environ.get("HELPER_HANGS"):
    time.sleep(30)
if sys.argv[1:] != ["get"] or server not in known:
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps({{"ServerURL": server, "Username": known[server][0], "Secret": known[server][1]}}))
"""


@pytest.fixture
def helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Installs docker-credential-<name> helpers on PATH that know `knows` (server -> user, secret);
    returns their log: one line per call, "<name> get <server>"."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helper.log"
    log.touch()
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HELPER_LOG", str(log))

    def install(*names: str, knows: dict[str, tuple[str, str]]) -> Path:
        monkeypatch.setenv("HELPER_KNOWS", json.dumps(knows))
        for name in names:
            exe = bindir / f"docker-credential-{name}"
            exe.write_text(HELPER.format(python=sys.executable))
            exe.chmod(0o755)
        return log

    return install


def docker_config(tmp_path: Path, config: dict[str, object]) -> None:
    (tmp_path / "home" / ".docker").mkdir(parents=True)  # HOME, set by the autouse fixture
    (tmp_path / "home" / ".docker" / "config.json").write_text(json.dumps(config))


def test_creds_store_helper_is_asked_once(
    auth_registry: RunningRegistry, tmp_path: Path, helpers: Callable[..., Path]
) -> None:
    digest = auth_registry.push_image("team/store", "v1")
    log = helpers("store", knows={auth_registry.host: (REG_USER, REG_PASSWORD)})
    docker_config(tmp_path, {"auths": {auth_registry.host: {}}, "credsStore": "store"})
    reg = Registry()
    assert reg.digest(f"{auth_registry.host}/team/store", "v1") == digest
    assert reg.digest(f"{auth_registry.host}/team/store", "v1") == digest
    assert log.read_text() == f"store get {auth_registry.host}\n"


def test_cred_helpers_entry_wins_over_auths(
    auth_registry: RunningRegistry, tmp_path: Path, helpers: Callable[..., Path]
) -> None:
    digest = auth_registry.push_image("team/helper", "v1")
    log = helpers("one", "store", knows={auth_registry.host: (REG_USER, REG_PASSWORD)})
    docker_config(
        tmp_path,
        {
            "auths": {auth_registry.host: {"auth": b64(REG_USER, "stale-password")}},
            "credHelpers": {f"https://{auth_registry.host}": "one"},
            "credsStore": "store",
        },
    )
    assert Registry().digest(f"{auth_registry.host}/team/helper", "v1") == digest
    assert log.read_text() == f"one get {auth_registry.host}\n"


def test_helper_without_credentials_is_named(
    auth_registry: RunningRegistry, tmp_path: Path, helpers: Callable[..., Path]
) -> None:
    helpers("store", knows={})
    docker_config(tmp_path, {"credsStore": "store"})
    with pytest.raises(Refused) as err:
        Registry().digest(f"{auth_registry.host}/team/app", "v1")
    assert str(err.value) == (
        f"registry {auth_registry.host} refused access to team/app (401): check credentials in "
        f"~/.docker/config.json or REGISTRY_AUTH_FILE (no credentials for {auth_registry.host} in "
        "docker-credential-store (named in ~/.docker/config.json))"
    )


def test_wrong_password_from_a_helper_is_refused_without_showing_it(
    auth_registry: RunningRegistry, tmp_path: Path, helpers: Callable[..., Path]
) -> None:
    helpers("store", knows={auth_registry.host: (REG_USER, "helper-Wr0ng-secret")})
    docker_config(tmp_path, {"credsStore": "store"})
    with pytest.raises(Refused) as err:
        Registry().digest(f"{auth_registry.host}/team/app", "v1")
    assert "the credentials of 'promoter-user' from docker-credential-store (named in ~/.docker/config.json)" in str(
        err.value
    )
    assert "helper-Wr0ng-secret" not in str(err.value) + repr(err.value)


def test_missing_hanging_and_bad_helpers(
    auth_registry: RunningRegistry, tmp_path: Path, helpers: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    image = f"{auth_registry.host}/team/app"
    docker_config(tmp_path, {"credsStore": "nope"})
    with pytest.raises(
        UsageError,
        match=r"^~/\.docker/config\.json names the credential helper docker-credential-nope, which is not installed$",
    ):
        Registry().digest(image, "v1")

    helpers("slow", knows={auth_registry.host: (REG_USER, REG_PASSWORD)})
    monkeypatch.setenv("HELPER_HANGS", "1")
    monkeypatch.setattr(credentials_module, "HELPER_TIMEOUT", 0.5)
    path = auth_file(tmp_path / "slow.json", {})
    path.write_text(json.dumps({"credsStore": "slow"}))
    with pytest.raises(
        ExternalError,
        match=rf"^docker-credential-slow get: no answer for {re.escape(auth_registry.host)} within 0.5 s$",
    ):
        Registry(auth_file=path).digest(image, "v1")

    for bad in ("../bin/sh", "-x", ""):
        path.write_text(json.dumps({"credsStore": bad}))
        with pytest.raises(UsageError, match="`credsStore` must name a credential helper"):
            Registry(auth_file=path).digest(image, "v1")


def test_basic_auth_wrong_password_is_refused(auth_registry: RunningRegistry, tmp_path: Path) -> None:
    wrong = "wr0ng-Pa55word"
    path = auth_file(tmp_path / "auth.json", {auth_registry.host: {"auth": b64(REG_USER, wrong)}})
    with pytest.raises(Refused) as err:
        Registry(auth_file=path).digest(f"{auth_registry.host}/team/app", "v1")
    text = str(err.value)
    assert "refused access to team/app (401)" in text and "were not accepted" in text
    assert wrong not in text and b64(REG_USER, wrong) not in text


# --- bearer tokens -----------------------------------------------------------------------------------


def test_anonymous_bearer_token(registry: RunningRegistry, token_front: StartFront) -> None:
    digest = registry.push_image("team/bearer", "v1")
    front = token_front()
    reg = Registry()
    image = f"{front.host}/team/bearer"
    assert reg.digest(image, "v1") == digest
    assert reg.digest(image, "missing") is None
    assert reg.exists(image, "v1")
    # one token for the repository, fetched once, with the challenge's service and scope
    assert front.token_requests == [{"service": ["test"], "scope": ["repository:team/bearer:pull"]}]
    assert front.server is not None
    manifests = [(r[0], r[2].get("authorization")) for r in front.server.requests if "/manifests/" in r[1]]
    token = f"Bearer {front.tokens[-1]}"
    # 401, then with the cached token: HEAD and GET of v1, HEAD of the missing tag, HEAD and GET of v1
    v1 = [("HEAD", token), ("GET", token)]
    assert manifests == [("HEAD", None), *v1, ("HEAD", token), *v1]


def test_bearer_token_per_repository_and_refreshed(registry: RunningRegistry, token_front: StartFront) -> None:
    one = registry.push_image("team/one", "v1")
    two = registry.push_image("team/two", "v1")
    front = token_front()
    reg = Registry()
    assert reg.digest(f"{front.host}/team/one", "v1") == one
    assert reg.digest(f"{front.host}/team/two", "v1") == two
    assert [q["scope"] for q in front.token_requests] == [["repository:team/one:pull"], ["repository:team/two:pull"]]
    front.rotate()  # every issued token expires: the next request gets a 401 and a new token
    assert reg.digest(f"{front.host}/team/one", "v1") == one
    assert len(front.token_requests) == 3


def test_bearer_token_with_basic_credentials(
    registry: RunningRegistry, token_front: StartFront, tmp_path: Path
) -> None:
    digest = registry.push_image("team/private", "v1")
    front = token_front(require=basic(REG_USER, REG_PASSWORD))
    path = auth_file(tmp_path / "auth.json", {front.host: {"auth": b64(REG_USER, REG_PASSWORD)}})
    assert Registry(auth_file=path).digest(f"{front.host}/team/private", "v1") == digest
    with pytest.raises(Refused) as err:
        Registry().digest(f"{front.host}/team/private", "v1")
    assert str(err.value).startswith(f"registry {front.host} refused access to team/private (401): check credentials")


def test_digest_without_a_digest_header_is_the_manifests_own(
    registry: RunningRegistry, token_front: StartFront
) -> None:
    oci = registry.push_image("team/nodigest", "v1", "oci")
    docker = registry.push_image("team/nodigest", "v2", "docker")
    front = token_front(strip_digest=True)
    reg = Registry()
    assert reg.digest(f"{front.host}/team/nodigest", "v1") == oci
    assert reg.digest(f"{front.host}/team/nodigest", "v2") == docker
    assert reg.digest(f"{front.host}/team/nodigest", "v3") is None
    assert front.server is not None
    methods = [r[0] for r in front.server.requests if "/manifests/" in r[1] and "authorization" in r[2]]
    assert methods == ["HEAD", "GET", "HEAD", "GET", "HEAD"]


def test_truncated_token_json(registry: RunningRegistry, token_front: StartFront) -> None:
    front = token_front(token_body=lambda token: f'{{"token": "{token}'.encode())
    with pytest.raises(ExternalError) as err:
        Registry().digest(f"{front.host}/team/app", "v1")
    text = str(err.value)
    assert "not valid JSON" in text and f"token service {front.host}" in text
    assert front.tokens[-1] not in text and "tok-" not in text


def test_token_answer_without_token(registry: RunningRegistry, token_front: StartFront) -> None:
    front = token_front(token_body=lambda token: b'{"expires_in": 60}')
    with pytest.raises(ExternalError, match="has no `token` or `access_token`"):
        Registry().digest(f"{front.host}/team/app", "v1")


def test_access_token_field(fault_server: StartServer) -> None:
    def behaviour(req: BaseHTTPRequestHandler) -> None:
        if req.path.startswith("/token?"):
            reply(req, 200, {}, b'{"access_token": "at-123"}')
        elif req.headers.get("Authorization") == "Bearer at-123":
            serve_manifest(req)
        else:
            host = req.headers["Host"]
            reply(req, 401, {"WWW-Authenticate": f'Bearer realm="http://{host}/token?x=1"'})

    server = fault_server(behaviour)
    assert Registry().digest(f"{server.host}/a/b", "v1") == DIGEST
    token_path = next(path for _, path, _ in server.requests if path.startswith("/token"))
    assert token_path == "/token?x=1&scope=repository%3Aa%2Fb%3Apull"  # scope of our own when none is given


def test_challenges_in_separate_headers(fault_server: StartServer) -> None:
    """Two WWW-Authenticate headers (Basic first): each is read, the Bearer one is used."""

    def behaviour(req: BaseHTTPRequestHandler) -> None:
        if req.path.startswith("/token?"):
            reply(req, 200, {}, b'{"token": "t-1"}')
        elif req.headers.get("Authorization") == "Bearer t-1":
            serve_manifest(req)
        else:
            req.send_response(401)
            req.send_header("WWW-Authenticate", 'Basic realm="r, with a comma"')
            req.send_header("WWW-Authenticate", f'Bearer realm="http://{req.headers["Host"]}/token",service="s"')
            req.send_header("Content-Length", "0")
            req.end_headers()

    server = fault_server(behaviour)
    assert Registry().digest(f"{server.host}/a/b", "v1") == DIGEST
    assert [(m, p) for m, p, _ in server.requests] == [
        ("HEAD", "/v2/a/b/manifests/v1"),
        ("GET", "/token?service=s&scope=repository%3Aa%2Fb%3Apull"),
        ("HEAD", "/v2/a/b/manifests/v1"),
        ("GET", "/v2/a/b/manifests/v1"),
    ]


# --- faults --------------------------------------------------------------------------------------------


def test_503_is_retried_then_external_error(fault_server: StartServer) -> None:
    server = fault_server(lambda req: reply(req, 503, {}, error_body("UNAVAILABLE", "down for maintenance")))
    sleeps = Sleeps()
    with pytest.raises(ExternalError) as err:
        Registry(retries=3, backoff=0.5, sleep=sleeps).digest(f"{server.host}/a/b", "v1")
    assert len(server.requests) == 4  # the first try and 3 retries
    assert sleeps == [0.5, 1.0, 2.0]
    text = str(err.value)
    assert f"registry {server.host}" in text and "503" in text and "after 4 tries" in text
    assert "HEAD /v2/a/b/manifests/v1" in text


def test_no_retries(fault_server: StartServer) -> None:
    server = fault_server(lambda req: reply(req, 502))
    sleeps = Sleeps()
    with pytest.raises(ExternalError, match=r"502 Bad Gateway after 1 try$"):
        Registry(retries=0, sleep=sleeps).digest(f"{server.host}/a/b", "v1")
    assert len(server.requests) == 1 and sleeps == []


def test_429_honours_retry_after(fault_server: StartServer) -> None:
    answers = iter([(429, {"Retry-After": "7"}), (429, {"Retry-After": "soon"})])
    server = fault_server(lambda req: reply(req, *answer) if (answer := next(answers, None)) else serve_manifest(req))
    sleeps = Sleeps()
    assert Registry(sleep=sleeps).digest(f"{server.host}/a/b", "v1") == DIGEST
    assert sleeps == [7.0, 2.0]  # what the registry asked, then the back-off for a malformed value
    assert [m for m, _, _ in server.requests] == ["HEAD", "HEAD", "HEAD", "GET"]


def test_retry_after_longer_than_the_cap_ends_at_once(fault_server: StartServer) -> None:
    server = fault_server(lambda req: reply(req, 429, {"Retry-After": "100000"}))
    sleeps = Sleeps()
    with pytest.raises(ExternalError) as err:
        Registry(sleep=sleeps).digest(f"{server.host}/a/b", "v1")
    assert MAX_RETRY_AFTER == 60
    assert str(err.value) == (
        f"registry {server.host}: HEAD /v2/a/b/manifests/v1 answered 429 Too Many Requests and asks to wait "
        "1d3h46m40s before another try, longer than promoter waits (1m): try again later"
    )
    assert sleeps == [] and len(server.requests) == 1


def test_timeout(fault_server: StartServer) -> None:
    def slow(req: BaseHTTPRequestHandler) -> None:
        assert isinstance(req.server, Server)
        req.server.stopping.wait(3)  # never answers in time; released when the test ends

    server = fault_server(slow)
    sleeps = Sleeps()
    with pytest.raises(ExternalError) as err:
        Registry(timeout=0.5, retries=1, sleep=sleeps).digest(f"{server.host}/a/b", "v1")
    assert "timed out (no answer within 0.5s) after 2 tries" in str(err.value)
    assert sleeps == [1.0]


def test_registry_down(fault_server: StartServer) -> None:
    port = free_port()  # nothing listens there
    sleeps = Sleeps()
    with pytest.raises(ExternalError) as err:
        Registry(retries=2, sleep=sleeps).digest(f"127.0.0.1:{port}/a/b", "v1")
    assert str(err.value) == (
        f"registry 127.0.0.1:{port}: HEAD /v2/a/b/manifests/v1 cannot connect (connection refused) after 3 tries"
    )
    assert sleeps == [1.0, 2.0]


def test_403_is_refused(fault_server: StartServer) -> None:
    server = fault_server(lambda req: reply(req, 403, {}, error_body("DENIED", "requested access is denied")))
    with pytest.raises(Refused, match=rf"registry {server.host} denied access to a/b \(403\)"):
        Registry(sleep=Sleeps()).digest(f"{server.host}/a/b", "v1")
    assert len(server.requests) == 1


def test_other_4xx_is_external_error(fault_server: StartServer) -> None:
    server = fault_server(lambda req: reply(req, 400, {}, error_body("MANIFEST_INVALID", "manifest invalid")))
    with pytest.raises(ExternalError) as err:
        Registry(sleep=Sleeps()).digest(f"{server.host}/a/b", "v1")
    assert not isinstance(err.value, Refused)
    assert str(err.value) == f"registry {server.host}: HEAD /v2/a/b/manifests/v1 answered 400 Bad Request"
    assert len(server.requests) == 1


def test_401_without_a_usable_challenge(fault_server: StartServer) -> None:
    server = fault_server(lambda req: reply(req, 401, {"WWW-Authenticate": 'Digest realm="x", nonce="y"'}))
    with pytest.raises(Refused, match=r"refused access to a/b \(401\).*offered no Bearer or Basic"):
        Registry().digest(f"{server.host}/a/b", "v1")


def test_digest_mismatch_on_get(fault_server: StartServer) -> None:
    server = fault_server(serves_manifest(digest="sha256:" + "ab" * 32))
    with pytest.raises(ExternalError) as err:
        Registry().digest(f"{server.host}/a/b", "v1")
    assert str(err.value) == (
        f"registry {server.host}: the manifest of a/b:v1 does not match its digest "
        f"(sha256:{'ab' * 32} announced, {MANIFEST_DIGEST} received)"
    )


def test_redirect_is_followed(fault_server: StartServer) -> None:
    def behaviour(req: BaseHTTPRequestHandler) -> None:
        if req.path.startswith("/v2/"):
            reply(req, 307, {"Location": "/elsewhere"})
        else:
            serve_manifest(req)

    server = fault_server(behaviour)
    assert Registry().digest(f"{server.host}/a/b", "v1") == DIGEST
    assert [(m, p) for m, p, _ in server.requests] == [
        ("HEAD", "/v2/a/b/manifests/v1"),
        ("HEAD", "/elsewhere"),
        ("GET", "/v2/a/b/manifests/v1"),
        ("GET", "/elsewhere"),
    ]


def test_https_certificate_is_verified(
    fault_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """127.0.0.2 is not a plain-http host: TLS, verified, not retried when the certificate is bad."""
    key, cert = self_signed(tmp_path, "127.0.0.2", "IP:127.0.0.2")
    server = fault_server(serve_manifest, host="127.0.0.2")
    server.socket = server_tls(key, cert).wrap_socket(server.socket, server_side=True)
    sleeps = Sleeps()
    with pytest.raises(ExternalError, match="TLS certificate verification failed"):
        Registry(sleep=sleeps).digest(f"{server.host}/a/b", "v1")
    assert sleeps == []  # not retried
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert Registry().digest(f"{server.host}/a/b", "v1") == DIGEST
    # and listed as insecure, it is spoken to in plain http (which this TLS server cannot answer)
    monkeypatch.setenv("PROMOTER_INSECURE_REGISTRIES", server.host)
    with pytest.raises(ExternalError, match="after 1 try"):
        Registry(retries=0, timeout=2).digest(f"{server.host}/a/b", "v1")


# --- proxies --------------------------------------------------------------------------------------------

NAME = "registry.example.test"  # only the proxy can resolve it


@pytest.fixture
def tls_registry(fault_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Server:
    """A TLS registry front on 127.0.0.1 whose certificate names registry.example.test."""
    key, cert = self_signed(tmp_path / "registry-tls", NAME, f"DNS:{NAME}")
    server = fault_server(serve_manifest)
    server.socket = server_tls(key, cert).wrap_socket(server.socket, server_side=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return server


@pytest.fixture
def proxy() -> Iterator[Proxy]:
    with Proxy({NAME: "127.0.0.1"}) as running:
        yield running


def test_https_registry_through_a_connect_proxy(
    tls_registry: Server, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = tls_registry.server_address[1]
    monkeypatch.setenv("https_proxy", proxy.url)
    assert Registry().digest(f"{NAME}:{port}/a/b", "v1") == DIGEST
    assert proxy.seen == [("CONNECT", f"{NAME}:{port}", None)] * 2  # the registry closes each connection
    assert [(m, p) for m, p, _ in tls_registry.requests] == [
        ("HEAD", "/v2/a/b/manifests/v1"),
        ("GET", "/v2/a/b/manifests/v1"),
    ]


def test_plain_http_registry_through_a_proxy(
    fault_server: StartServer, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = fault_server(serve_manifest)
    image = f"{NAME}:{server.server_address[1]}/a/b"
    monkeypatch.setenv("PROMOTER_INSECURE_REGISTRIES", image.split("/")[0])
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    assert Registry().digest(image, "v1") == DIGEST
    assert proxy.seen == [(m, f"http://{image.split('/')[0]}/v2/a/b/manifests/v1", None) for m in ("HEAD", "GET")]


def test_proxy_credentials_are_sent_and_never_shown(tls_registry: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    port = tls_registry.server_address[1]
    with Proxy({NAME: "127.0.0.1"}, password="pr0xy-S3cret") as proxy:
        monkeypatch.setenv("https_proxy", f"http://proxy-user:pr0xy-S3cret@{proxy.url[7:]}")
        assert Registry().digest(f"{NAME}:{port}/a/b", "v1") == DIGEST
        monkeypatch.setenv("https_proxy", f"http://proxy-user:wr0ng-S3cret@{proxy.url[7:]}")
        sleeps = Sleeps()
        with pytest.raises(ExternalError) as err:
            Registry(retries=1, sleep=sleeps).digest(f"{NAME}:{port}/a/b", "v1")
    assert str(err.value) == (
        f"registry {NAME}:{port}: HEAD /v2/a/b/manifests/v1 cannot connect through the proxy "
        f"{proxy.url[7:]} (Tunnel connection failed: 407 Proxy Authentication Required) after 2 tries"
    )
    assert "S3cret" not in str(err.value) + repr(err.value)
    right, wrong = ("Basic " + b64("proxy-user", pw) for pw in ("pr0xy-S3cret", "wr0ng-S3cret"))
    assert proxy.seen == [("CONNECT", f"{NAME}:{port}", right)] * 2 + [("CONNECT", f"{NAME}:{port}", wrong)] * 2


def test_no_proxy_and_loopback_go_direct(
    registry: RunningRegistry, tls_registry: Server, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = registry.push_image("team/direct", "v1")
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("http_proxy", proxy.url)
    assert Registry().digest(f"{registry.host}/team/direct", "v1") == digest  # 127.0.0.1: never proxied
    monkeypatch.setenv("no_proxy", "example.com,.example.test")
    with pytest.raises(ExternalError, match=rf"registry {NAME}:\d+: HEAD /v2/a/b/manifests/v1 cannot connect \("):
        Registry(retries=0).digest(f"{NAME}:{tls_registry.server_address[1]}/a/b", "v1")  # direct: unresolvable
    assert proxy.seen == []


def test_https_proxy(
    tls_registry: Server, fault_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An https:// proxy URL: TLS to the proxy itself (its certificate verified), then a CONNECT
    tunnel with TLS to the https registry inside it, or an absolute-form request for a plain-http
    registry; Proxy-Authorization from the URL, never shown."""
    registry_cert = Path(os.environ["SSL_CERT_FILE"])  # set by tls_registry
    key, cert = self_signed(tmp_path / "proxy-tls", "127.0.0.1", "IP:127.0.0.1")
    port = tls_registry.server_address[1]
    plain = fault_server(serve_manifest)
    plain_host = f"{NAME}:{plain.server_address[1]}"
    monkeypatch.setenv("PROMOTER_INSECURE_REGISTRIES", plain_host)
    with Proxy({NAME: "127.0.0.1"}, password="pr0xy-S3cret", tls=server_tls(key, cert)) as proxy:
        assert proxy.url.startswith("https://127.0.0.1:")
        secret_url = f"https://proxy-user:pr0xy-S3cret@{proxy.host}"
        monkeypatch.setenv("https_proxy", secret_url)
        monkeypatch.setenv("http_proxy", secret_url)
        # the proxy's certificate is not trusted yet: TLS to the proxy is really spoken, and checked
        # (for the tunnel to an https registry and for plain-http requests handed to the proxy)
        for image in (f"{NAME}:{port}/a/b", f"{plain_host}/a/b"):
            with pytest.raises(ExternalError, match="TLS certificate verification failed") as err:
                Registry(retries=0).digest(image, "v1")
            assert "S3cret" not in str(err.value) + repr(err.value)
        assert proxy.seen == []
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(registry_cert.read_bytes() + cert.read_bytes())
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        assert Registry().digest(f"{NAME}:{port}/a/b", "v1") == DIGEST
        assert Registry().digest(f"{plain_host}/a/b", "v1") == DIGEST
    right = "Basic " + b64("proxy-user", "pr0xy-S3cret")
    assert proxy.seen == [
        ("CONNECT", f"{NAME}:{port}", right),
        ("CONNECT", f"{NAME}:{port}", right),
        ("HEAD", f"http://{plain_host}/v2/a/b/manifests/v1", right),
        ("GET", f"http://{plain_host}/v2/a/b/manifests/v1", right),
    ]
    both = [("HEAD", "/v2/a/b/manifests/v1"), ("GET", "/v2/a/b/manifests/v1")]
    assert [(m, p) for m, p, _ in tls_registry.requests] == both
    assert [(m, p) for m, p, _ in plain.requests] == both


def test_unsupported_proxy_scheme_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "socks5://user:pw@proxy.example.test:1080")
    with pytest.raises(UsageError) as err:
        Registry().digest(f"{NAME}/a/b", "v1")
    assert str(err.value) == (
        "https_proxy: cannot use the proxy socks5://***@proxy.example.test:1080: only http:// and https:// proxies"
    )


# --- wait ------------------------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[int], None] = lambda n: None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(len(self.sleeps))


def test_wait_until_pushed(registry: RunningRegistry) -> None:
    fake = FakeTime()
    pushed: list[str] = []

    def push_before_third_poll(n: int) -> None:
        if n == 2:
            pushed.append(registry.push_image("team/late", "v1"))

    fake.on_sleep = push_before_third_poll
    reg = Registry(sleep=fake.sleep)
    found = reg.wait(f"{registry.host}/team/late", "v1", timeout=600, interval=15, clock=fake.clock)
    assert found == pushed[0]
    assert fake.sleeps == [15, 15]  # polls: missing, missing, found


def test_wait_gives_up(registry: RunningRegistry) -> None:
    fake = FakeTime()
    reg = Registry(sleep=fake.sleep)
    with pytest.raises(Refused) as err:
        reg.wait(f"{registry.host}/team/never", "v1", timeout=40, interval=15, clock=fake.clock)
    assert str(err.value).startswith(f"image {registry.host}/team/never:v1 did not appear within 40s")
    assert fake.sleeps == [15, 15, 10]  # the last sleep stops at the deadline
    with pytest.raises(Refused, match="did not appear within 10m"):
        reg.wait(f"{registry.host}/team/never", "v1", timeout=600, clock=fake.clock)


# --- secrets --------------------------------------------------------------------------------------------


def test_secrets_never_in_messages(
    auth_registry: RunningRegistry, token_front: StartFront, fault_server: StartServer, tmp_path: Path
) -> None:
    password = "Very-S3cret-pw"
    messages: list[str] = []

    def failure(call: Callable[[], object]) -> None:
        with pytest.raises(PromoterError) as err:
            call()
        messages.append(str(err.value))
        messages.append(repr(err.value))

    # wrong password against htpasswd
    path = auth_file(tmp_path / "a.json", {auth_registry.host: {"auth": b64(REG_USER, password)}})
    reg = Registry(auth_file=path, sleep=Sleeps())
    failure(lambda: reg.digest(f"{auth_registry.host}/team/app", "v1"))
    # a token service demanding other credentials
    front = token_front(require=basic(REG_USER, REG_PASSWORD))
    path2 = auth_file(tmp_path / "b.json", {front.host: {"username": REG_USER, "password": password}})
    reg2 = Registry(auth_file=path2, sleep=Sleeps())
    failure(lambda: reg2.digest(f"{front.host}/team/app", "v1"))
    # a token that is then refused (403) and one cut short
    issued: list[str] = []

    def forbidding(req: BaseHTTPRequestHandler) -> None:
        host = req.headers["Host"]
        if req.path.startswith("/token"):
            issued.append("tok-very-secret-token")
            reply(req, 200, {}, json.dumps({"token": issued[-1]}).encode())
        elif req.headers.get("Authorization"):
            reply(req, 403, {}, error_body("DENIED", f"token {req.headers['Authorization']} lacks pull"))
        else:
            reply(req, 401, {"WWW-Authenticate": f'Bearer realm="http://{host}/token",service="s"'})

    server = fault_server(forbidding)
    path3 = auth_file(tmp_path / "c.json", {server.host: {"auth": b64(REG_USER, password)}})
    reg3 = Registry(auth_file=path3, sleep=Sleeps())
    failure(lambda: reg3.digest(f"{server.host}/team/app", "v1"))
    cut = token_front(token_body=lambda token: f'{{"token": "{token}'.encode())
    reg4 = Registry(auth_file=auth_file(tmp_path / "d.json", {cut.host: {"auth": b64(REG_USER, password)}}))
    failure(lambda: reg4.digest(f"{cut.host}/team/app", "v1"))

    assert issued and cut.tokens
    secrets_ = [password, b64(REG_USER, password), "tok-very-secret-token", *cut.tokens]
    for text in [*messages, *(repr(r) for r in (reg, reg2, reg3, reg4))]:
        for secret in secrets_:
            assert secret not in text, (secret, text)
    for r in (reg, reg2, reg3, reg4):
        creds = r._credentials(parse_image(f"{auth_registry.host}/team/app")) or r._credentials(
            parse_image(f"{server.host}/x")
        )
        assert password not in repr(creds)


def test_registry_tests_fail_without_the_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without docker-registry the fixtures fail loudly (never skip), saying how to install it."""
    from tests import registry_fixtures

    monkeypatch.setattr(registry_fixtures, "REGISTRY_BIN", str(tmp_path / "no-such-registry"))
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y docker-registry apache2-utils"):
        registry_fixtures.start_registry(tmp_path)


def test_module_import_is_cheap() -> None:
    """The CLI imports the package lazily, but it should not drag the network stack in by itself:
    requests, urllib3, http.client and ssl come with the first request."""
    network = ("requests", "urllib3", "http.client", "ssl", "socket")
    code = (
        "import sys, promoter.upstream.registry, promoter.http;"
        f"print(sorted(m for m in {network!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    code = f"import sys, promoter.http; promoter.http.Http().request('GET', 'http://127.0.0.1:{free_port()}/');"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "cannot connect (connection refused)" in proc.stderr  # the check above can see them once used
