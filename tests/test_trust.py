"""The trust gate (`trust:`) against the real docker-registry: signatures and attestations made
here with `cryptography` in cosign's exact storage layout (tests/trust_fixtures.py), found under
the legacy tags, the referrers tag schema, or a Referrers API (a small front following the OCI
distribution spec's contract: the Debian registry has none)."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, make_repo
from tests.registry_fixtures import RunningRegistry
from tests.trust_fixtures import (
    BUILDER,
    PrivateKey,
    ReferrersFront,
    attest_image,
    fingerprint,
    new_key,
    provenance,
    public_pem,
    referrers_front,  # noqa: F401  (a fixture)
    sign_image,
)

NOW = int(time.time())
SOURCE = "https://github.com/example/app"


@pytest.fixture(autouse=True)
def _no_user_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("PROMOTER_INSECURE_REGISTRIES", raising=False)


class World:
    """An upstream of three commits (c[0] runs), a config repository pinning it in `.env` (short)
    and `digest.env` (format digest), an image per commit in the registry, a trusted key."""

    def __init__(
        self,
        tmp_path: Path,
        reg: RunningRegistry,
        host: str | None = None,
        trust: str | None = None,
        files: dict[str, str | bytes] | None = None,
    ) -> None:
        self.reg = reg
        self.name = f"trust/app-{secrets.token_hex(4)}"  # one repository per test: the registry is shared
        self.image = f"{host or reg.host}/{self.name}"
        up = tmp_path / "app"
        up.mkdir()
        git(up, "init", "-q", "-b", "main")
        self.c: list[str] = []
        for i in range(3):
            (up / "f").write_text(f"{i}\n")
            git(up, "add", "f")
            when = f"@{NOW - (30 - i) * 3600} +0000"
            git(up, "commit", "-q", "-m", f"c{i}", env={"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when})
            self.c.append(git(up, "rev-parse", "HEAD"))
        self.digests = {sha: reg.push_image(self.name, sha[:7]) for sha in self.c}
        self.key = new_key()
        trust = trust or "      signature: {key: keys/app.pub}\n      provenance: true\n      tlog: ignore\n"
        config = (
            f"version: 1\ncomponents:\n  app:\n    repo: {SOURCE}\n    fetch: {up}\n    branch: main\n"
            f"    image: {self.image}\n    trust:\n{trust}"
            "    targets:\n"
            "      - {name: ci, file: .env, env: APP_TAG}\n"
            "      - {name: ci-digest, environment: ci, file: digest.env, env: APP_DIGEST, format: digest}\n"
        )
        self.repo = make_repo(
            tmp_path / "config",
            {
                "promotion.yaml": config,
                ".env": f"APP_TAG={self.c[0][:7]}\n",
                "digest.env": f"APP_DIGEST={self.digests[self.c[0]]}\n",
                "keys/app.pub": public_pem(self.key),
                **(files or {}),
            },
        )

    def sign(self, sha: str, key: PrivateKey | None = None, layout: str = "legacy", **kw: Any) -> None:
        sign_image(self.reg, self.name, self.digests[sha], key or self.key, layout, **kw)

    def attest(self, sha: str, key: PrivateKey | None = None, layout: str = "legacy", **kw: Any) -> None:
        statement = provenance(self.image, kw.pop("subject", self.digests[sha]), kw.pop("commit", sha), **kw)
        attest_image(self.reg, self.name, self.digests[sha], key or self.key, statement, layout)

    def trusted(self, sha: str, layout: str = "legacy", version: str = "v1") -> None:
        self.sign(sha, layout=layout)
        self.attest(sha, layout=layout, version=version)


@pytest.fixture
def world(tmp_path: Path, registry: RunningRegistry) -> World:
    return World(tmp_path, registry)


def refused(run: Any, w: World, sha: str, *extra: str) -> str:
    code, out, err = run("-C", w.repo, "plan", "app", sha, *extra)
    assert code == 3, (out, err)
    assert "--ignore-trust" in err
    return str(err)


# -- what is refused ---------------------------------------------------------------------------------


def test_an_unsigned_image_is_refused_saying_where_it_looked(world: World, run: Any) -> None:
    err = refused(run, world, world.c[2])
    hexd = world.digests[world.c[2]].replace(":", "-")
    assert f"app: image {world.image}:{world.c[2][:7]} " in err and "has no valid signature" in err
    assert f"the referrers tag {hexd}" in err and f"the tag {hexd}.sig" in err


def test_an_image_signed_by_another_key_is_refused(world: World, run: Any) -> None:
    world.sign(world.c[2], key=new_key())
    world.attest(world.c[2])
    err = refused(run, world, world.c[2])
    assert f"the signature does not verify with key {fingerprint(world.key)}" in err


def test_a_signature_for_another_digest_is_refused(world: World, run: Any) -> None:
    world.sign(world.c[2], signed_digest=world.digests[world.c[1]])  # c1's signature copied to c2's image
    world.attest(world.c[2])
    err = refused(run, world, world.c[2])
    assert f"signed for another image, {world.digests[world.c[1]]}" in err


def test_a_tampered_payload_is_refused(world: World, run: Any) -> None:
    from tests.trust_fixtures import simple_signing

    # signed for this digest, but the stored payload changed since (an identity rewritten)
    changed = simple_signing("evil.example/app", world.digests[world.c[2]])
    world.sign(world.c[2], payload=changed)
    world.attest(world.c[2])
    err = refused(run, world, world.c[2])
    assert "the payload was changed after signing" in err


def test_provenance_of_another_commit_is_refused(world: World, run: Any) -> None:
    world.sign(world.c[2])
    world.attest(world.c[2], commit=world.c[1])
    err = refused(run, world, world.c[2])
    assert "has no valid provenance" in err
    assert f"built from another commit of {SOURCE} ({world.c[1][:12]}), not {world.c[2][:12]}" in err


@pytest.mark.parametrize("version", ["v1", "v0.2"])
def test_provenance_of_another_repository_is_refused(world: World, run: Any, version: str) -> None:
    world.sign(world.c[2])
    world.attest(world.c[2], source="https://github.com/attacker/app", version=version)
    err = refused(run, world, world.c[2])
    assert "built from another repository (git+https://github.com/attacker/app" in err and f"not {SOURCE}" in err


def test_provenance_whose_subject_is_another_image_is_refused(world: World, run: Any) -> None:
    world.sign(world.c[2])
    world.attest(world.c[2], subject=world.digests[world.c[1]])
    err = refused(run, world, world.c[2])
    assert "the attestation's subject digest differs" in err


def test_an_attestation_of_another_predicate_type_is_refused(world: World, run: Any) -> None:
    world.sign(world.c[2])
    world.attest(world.c[2], predicate_type="https://spdx.dev/Document")
    err = refused(run, world, world.c[2])
    assert "predicate type https://spdx.dev/Document, not SLSA provenance (v0.2 or v1)" in err


def test_an_attestation_signed_by_another_key_is_refused(world: World, run: Any) -> None:
    world.sign(world.c[2])
    world.attest(world.c[2], key=new_key())
    err = refused(run, world, world.c[2])
    assert f"the attestation's signature does not verify with key {fingerprint(world.key)}" in err


# -- what is accepted, and what it records ----------------------------------------------------------


@pytest.mark.parametrize(("layout", "version"), [("legacy", "v1"), ("tag-schema", "v0.2"), ("legacy", "v0.2")])
def test_a_valid_pair_is_accepted_and_its_evidence_recorded(world: World, run: Any, layout: str, version: str) -> None:
    sha = world.c[2]
    world.trusted(sha, layout, version)
    code, out, err = run("-C", world.repo, "promote", "app", sha, "--yes", "--commit")
    assert code == 0, err
    assert (world.repo / "digest.env").read_text() == f"APP_DIGEST={world.digests[sha]}\n"  # the digest verified
    message = git(world.repo, "log", "-1", "--format=%B")
    trailers = dict(
        line.split(": ", 1) for line in git(world.repo, "log", "-1", "--format=%(trailers:only)").splitlines()
    )
    assert trailers["Trusted-Digest"] == world.digests[sha]
    assert trailers["Trusted-Signer"] == f"key {fingerprint(world.key)}"
    assert trailers["Trusted-Source"] == f"{SOURCE}@{sha}"
    assert trailers["Trusted-Builder"] == (BUILDER if version == "v1" else "https://tekton.dev/chains/v2")
    assert trailers["Trusted-Tlog"] == "ignored"
    assert "Promoted-To: " + sha in message
    code, out, err = run("-C", world.repo, "history", "app", "-o", "json")  # the evidence, read back
    assert code == 0, err
    changes = json.loads(out)["changes"]
    (change,) = [c for c in changes if c["new"][0]["sha"] == sha]
    assert change["trust"] == {
        "digest": world.digests[sha],
        "signer": f"key {fingerprint(world.key)}",
        "builder": trailers["Trusted-Builder"],
        "source": f"{SOURCE}@{sha}",
        "tlog": "ignored",
    }
    assert len(changes) == 2 and all(c["trust"] is None for c in changes if c is not change)  # the initial pins


def test_the_referrers_api_is_asked_first(tmp_path: Path, registry: RunningRegistry, run: Any) -> None:
    front = ReferrersFront(registry, page_size=1)  # one referrer a page: the Link pages are followed
    with front.server:
        w = World(tmp_path, registry, host=front.host)
        w.trusted(w.c[2], "referrers")
        code, out, err = run("-C", w.repo, "plan", "app", w.c[2], "-o", "json")
        assert code == 0, err
        assert front.asked[0] == f"/v2/{w.name}/referrers/{w.digests[w.c[2]]}" and len(front.asked) == 2
        # cosign's legacy tags were never needed
        assert not [p for _, p, _ in front.server.requests if p.endswith((".sig", ".att"))]


def test_the_referrers_api_for_an_unsigned_image_is_an_empty_list(
    tmp_path: Path, registry: RunningRegistry, run: Any
) -> None:
    front = ReferrersFront(registry)
    with front.server:
        w = World(tmp_path, registry, host=front.host)
        code, out, err = run("-C", w.repo, "plan", "app", w.c[2])
        assert code == 3
        assert "the Referrers API" in err and "has no valid signature" in err


def test_the_newest_signed_commit_is_chosen_when_the_newest_is_unsigned(world: World, run: Any) -> None:
    world.trusted(world.c[1])
    code, out, err = run("-C", world.repo, "plan", "app")
    assert code == 0, err
    assert f"note: skipped {world.c[2][:7]}: app: image {world.image}:{world.c[2][:7]}" in err
    assert "has no valid signature" in err
    assert f"{world.c[0][:7]} -> {world.c[1][:7]}" in out


def test_ignore_trust_lifts_the_gate_but_never_blocked(world: World, run: Any) -> None:
    code, out, err = run("-C", world.repo, "plan", "app", world.c[2], "--ignore-trust")
    assert code == 0, err
    assert f"signatures and provenance of {world.c[2][:7]} not verified (--ignore-trust)" in err
    text = (
        (world.repo / "promotion.yaml")
        .read_text()
        .replace("    trust:\n", f"    blocked: [{world.c[2][:7]}]\n    trust:\n")
    )
    (world.repo / "promotion.yaml").write_text(text)
    code, out, err = run("-C", world.repo, "plan", "app", world.c[2], "--ignore-trust")
    assert code == 3 and "is blocked" in err and "no option lifts it" in err


def test_reconcile_and_status_say_untrusted(world: World, run: Any) -> None:
    code, out, err = run("-C", world.repo, "reconcile", "-o", "json")
    env = json.loads(out)["components"][0]["environments"][0]
    assert env["action"] == "untrusted", out
    assert "has no valid signature" in env["reason"]
    code, out, err = run("-C", world.repo, "status", "-o", "json")
    nxt = json.loads(out)["components"][0]["environments"][0]["next"]
    assert nxt["action"] == "untrusted"
    world.trusted(world.c[2])
    code, out, err = run("-C", world.repo, "reconcile", "-o", "json")
    env = json.loads(out)["components"][0]["environments"][0]
    assert env["action"] == "promote"
    assert f"signed by key {fingerprint(world.key)}" in env["reason"] and f"built by {BUILDER}" in env["reason"]


@pytest.mark.parametrize("kind", ["p384", "ed25519", "rsa"])
def test_every_kind_of_key_verifies(tmp_path: Path, registry: RunningRegistry, run: Any, kind: str) -> None:
    w = World(tmp_path, registry)
    w.key = new_key(kind)
    (w.repo / "keys/app.pub").write_text(public_pem(w.key))
    git(w.repo, "commit", "-qam", "key")
    w.trusted(w.c[2])
    code, out, err = run("-C", w.repo, "plan", "app", w.c[2])
    assert code == 0, err


def test_the_merge_request_says_what_was_verified(world: World) -> None:
    from promoter.pipeline import core
    from promoter.ship import describe
    from promoter.ship.session import Options, Session

    world.trusted(world.c[2])
    repo = core.open_repo(world.repo)
    prepared = Session(repo, Options()).prepare(core.component(repo.config, "app"), world.c[2])
    text = describe.merge_request_description(prepared.plan, prepared.changelog)
    assert f"the image `{world.digests[world.c[2]]}` is signed by key {fingerprint(world.key)}" in text
    assert "no transparency log entry checked" in text
    assert f"from `{world.c[2]}` of {SOURCE}" in text


def test_a_keyless_bundle_is_found_among_the_referrers_and_verified(
    tmp_path: Path, registry: RunningRegistry, run: Any
) -> None:
    """A real Sigstore bundle (tests/data/sigstore) attached as a referrer, as cosign's new bundle
    format attaches it: found through the referrers tag schema, verified against the trusted root
    given (staging's), and held to the commit promoted (its certificate names another)."""
    data = Path(__file__).parent / "data" / "sigstore"
    beacon = (
        "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
        "extremely-dangerous-oidc-beacon.yml@refs/heads/main"
    )
    trust = (
        f"      signature:\n        identity: {beacon}\n"
        "        issuer: https://token.actions.githubusercontent.com\n"
        "        trusted_root: sigstore/staging.json\n"
    )
    w = World(
        tmp_path,
        registry,
        trust=trust,
        files={"sigstore/staging.json": (data / "staging_trusted_root.json").read_bytes()},
    )
    from tests.trust_fixtures import attach_bundle

    attach_bundle(
        registry,
        w.name,
        w.digests[w.c[2]],
        (data / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes(),
        "tag-schema",
    )
    err = refused(run, w, w.c[2])
    assert "has no valid keyless signature: referrer sha256:" in err
    assert f"its certificate says it was built from commit 977e8d08554c, not {w.c[2][:12]}" in err


# -- the transparency log in key mode (tlog: required) ----------------------------------------------
TLOG = "      signature: {key: keys/app.pub}\n      tlog_key: keys/rekor.pub\n"


@pytest.fixture
def logged(tmp_path: Path, registry: RunningRegistry) -> tuple[World, PrivateKey]:
    """A world whose trust wants the signature entered in a Rekor log of its own (`tlog_key:`)."""
    rekor = new_key()
    return World(tmp_path, registry, trust=TLOG, files={"keys/rekor.pub": public_pem(rekor)}), rekor


def test_a_signature_entered_in_the_trusted_log_is_accepted(logged: tuple[World, PrivateKey]) -> None:
    from promoter.pipeline import core
    from promoter.ship import describe
    from promoter.ship.session import Options, Session

    w, rekor = logged
    w.sign(w.c[2], rekor=rekor)
    repo = core.open_repo(w.repo)
    prepared = Session(repo, Options()).prepare(core.component(repo.config, "app"), w.c[2])
    assert prepared.plan.evidence is not None and prepared.plan.evidence.tlog is True
    subject, message = describe.commit_message(prepared.plan, [], None)
    assert "\nTrusted-Tlog: verified\n" in message
    assert "no transparency log" not in describe.merge_request_description(prepared.plan, None)


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ({"rekor": None}, "no transparency log entry (no dev.sigstore.cosign/bundle annotation"),
        ({"rekor": "another log"}, "its log entry is from a log whose key is not trusted"),
        ({"integrated_time": 1}, "its transparency log entry's signed timestamp does not verify with the log's key"),
        ({"logged_signature": b"another"}, "its transparency log entry holds another signature"),
    ],
)
def test_a_signature_the_log_does_not_vouch_for_is_refused(
    logged: tuple[World, PrivateKey], run: Any, how: dict[str, Any], said: str
) -> None:
    w, rekor = logged
    kw = dict(how)
    kw["rekor"] = new_key() if kw.get("rekor") == "another log" else kw.get("rekor", rekor)
    w.sign(w.c[2], **kw)
    err = refused(run, w, w.c[2])
    assert "has no valid signature" in err and said in err


def test_the_public_good_log_is_trusted_by_default(tmp_path: Path, registry: RunningRegistry, run: Any) -> None:
    """Without `tlog_key:`, the public-good Rekor's keys (the sigstore package's embedded trust
    root): a log of one's own is not one of them."""
    w = World(tmp_path, registry, trust="      signature: {key: keys/app.pub}\n")
    w.sign(w.c[2], rekor=new_key())
    err = refused(run, w, w.c[2])
    assert "its log entry is from a log whose key is not trusted" in err


def test_a_rollback_is_held_to_trust_unless_told(world: World, run: Any) -> None:
    """The image a rollback returns to is as much a promotion's as any: an unsigned one is refused
    (the gate is lifted by rollback's own --ignore-trust), however urgent."""
    world.trusted(world.c[2])
    code, out, err = run("-C", world.repo, "promote", "app", world.c[2], "--yes")
    assert code == 0, err
    git(world.repo, "commit", "-qam", "promoted c2")
    code, out, err = run("-C", world.repo, "rollback", "app", "--to", world.c[0], "--reason", "c2 breaks logins")
    assert code == 3 and "has no valid signature" in err and "--ignore-trust" in err, err
    assert (world.repo / ".env").read_text() == f"APP_TAG={world.c[2][:7]}\n"
    code, out, err = run(
        "-C", world.repo, "rollback", "app", "--to", world.c[0], "--reason", "c2 breaks logins", "--ignore-trust"
    )
    assert code == 0, err
    assert (world.repo / ".env").read_text() == f"APP_TAG={world.c[0][:7]}\n"


def test_an_image_with_endless_signatures_is_refused_after_a_bounded_read(world: World, run: Any) -> None:
    """Five referrers of sixteen signature layers each (one blob, named sixteen times): promoter
    reads 64 blobs, then stops."""
    from tests.registry_fixtures import OCI_INDEX, OCI_MANIFEST, sha256
    from tests.trust_fixtures import EMPTY, SIG_ARTIFACT, SIMPLE_SIGNING, remember, simple_signing

    reg, name, digest = world.reg, world.name, world.digests[world.c[2]]
    payload = simple_signing("junk", digest)
    layer = {"mediaType": SIMPLE_SIGNING, "digest": reg.push_blob(name, payload), "size": len(payload)}
    config = {"mediaType": EMPTY, "digest": reg.push_blob(name, b"{}"), "size": 2}
    subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": reg.manifest_size(name, digest)}
    index = []
    for i in range(5):
        layers = [{**layer, "annotations": {"dev.cosignproject.cosign/signature": f"AAA{i}"}} for _ in range(16)]
        body = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SIG_ARTIFACT, "config": config,
             "layers": layers, "subject": subject}
        ).encode()  # fmt: skip
        child = reg.push_manifest(name, sha256(body), OCI_MANIFEST, body)
        remember(name, child)
        index.append({"mediaType": OCI_MANIFEST, "digest": child, "size": len(body), "artifactType": SIG_ARTIFACT})
    tag = digest.replace(":", "-")
    reg.push_manifest(
        name, tag, OCI_INDEX, json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index}).encode()
    )
    code, out, err = run("-C", world.repo, "plan", "app", world.c[2])
    assert code == 3
    assert f"image {world.image}: more than 64 signature and attestation layers; promoter reads no more" in err
