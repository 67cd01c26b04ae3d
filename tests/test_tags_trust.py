"""The trust gate (`trust:`) of a component pinned by release tags, against Debian's docker-registry
on 127.0.0.1 (the full tier): the image verified is the release's (tagged `v1.5.0`), a refusal
names it by that tag, an unsigned higher release is passed over by its tag, and the promotion
commit carries the evidence beside `Promoted-Tag:`. Signatures and provenance are made here in
cosign's layout (tests/trust_fixtures.py); the upstream and config repository are
tests/tags_fixture.py's."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import tags_fixture as t
from tests.conftest import RunResult, git
from tests.registry_fixtures import RunningRegistry
from tests.trust_fixtures import attest_image, fingerprint, new_key, provenance, public_pem, sign_image

Run = Callable[..., RunResult]
TRUST = {"signature": {"key": "keys/app.pub"}, "provenance": True, "tlog": "ignore"}


@pytest.fixture(autouse=True)
def _no_user_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("PROMOTER_INSECURE_REGISTRIES", raising=False)


def test_the_image_of_a_release_is_verified_and_named_by_its_tag(
    tmp_path: Path, run: Run, registry: RunningRegistry
) -> None:
    name = f"tags/app-{secrets.token_hex(4)}"  # one repository per test: the registry is shared
    image = f"{registry.host}/{name}"
    up, repo, shas = t.build(tmp_path, image=image, trust=TRUST)
    key = new_key()
    (repo / "keys").mkdir()
    (repo / "keys" / "app.pub").write_text(public_pem(key))
    git(repo, "add", "keys")
    git(repo, "commit", "-qm", "the signing key")
    digests = {tag: registry.push_image(name, tag) for tag in ("v1.5.0", "v1.10.0")}
    sign_image(registry, name, digests["v1.5.0"], key)
    attest_image(registry, name, digests["v1.5.0"], key, provenance(image, digests["v1.5.0"], shas[3], source=t.URL))

    code, out, err = run("-C", repo, "plan", "app", "v1.10.0")  # unsigned: refused, said by its image tag
    assert code == 3, out + err
    assert f"app: image {image}:v1.10.0 ({digests['v1.10.0'][:19]}…) has no valid signature" in err, err

    code, out, err = run("-C", repo, "status")
    assert code == 0, out + err
    assert f"to v1.5.0 ({shas[3][:7]}) (signed by key {fingerprint(key)}" in out, out

    code, out, err = run("-C", repo, "promote", "app", "--yes", "--commit")  # v1.10.0 passed over by its tag
    assert code == 0, out + err
    assert f"note: skipped v1.10.0: app: image {image}:v1.10.0 (" in err, err
    assert "argo [staging] argocd/app-staging.yaml: v1.4.2 -> v1.5.0 (1 place)" in out
    trailers = dict(line.split(": ", 1) for line in git(repo, "log", "-1", "--format=%(trailers:only)").splitlines())
    assert trailers["Promoted-From"] == shas[1] and trailers["Promoted-To"] == shas[3]
    assert trailers["Promoted-Tag"] == f"v1.5.0 {shas[3]}"
    assert trailers["Trusted-Digest"] == digests["v1.5.0"]
    assert trailers["Trusted-Source"] == f"{t.URL}@{shas[3]}"
