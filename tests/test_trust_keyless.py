"""Keyless trust from a recorded real Sigstore bundle (tests/data/sigstore/README.md says where it
came from): verified offline by the sigstore package against the trust root it embeds, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from promoter.errors import Refused
from promoter.model import Trust
from promoter.policy import keyless

DATA = Path(__file__).parent / "data" / "sigstore"
IDENTITY = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
ISSUER = "https://token.actions.githubusercontent.com"
COMMIT = "d8b4a6445f38c48b9137a8099706d9b8073146e4"


def trust(**kw: str) -> Trust:
    given = {"identity": IDENTITY, "issuer": ISSUER, **kw}
    return Trust(1, "https://github.com/trailofbits/rfc8785.py", **given)  # type: ignore[arg-type]


def verify(t: Trust, sha: str | None = COMMIT, artifact: bytes | None = None) -> str:
    bundle = (DATA / "bundle_v3_github.whl.sigstore").read_bytes()
    data = artifact if artifact is not None else (DATA / "bundle_v3_github.whl").read_bytes()
    return keyless.verify_artifact(t, sha, bundle, data).signer


def test_a_real_bundle_verifies_offline_with_its_identity_issuer_and_commit() -> None:
    assert verify(trust()) == f"{IDENTITY} (issuer {ISSUER})"
    assert verify(trust(identity_regexp=r"^https://github\.com/trailofbits/.*@refs/tags/v.*$", identity=None)) == (  # type: ignore[arg-type]
        f"{IDENTITY} (issuer {ISSUER})"
    )


@pytest.mark.parametrize(
    ("t", "sha", "said"),
    [
        (trust(identity="https://github.com/attacker/x/.github/workflows/release.yml@refs/tags/v1"), COMMIT,
         f"signed by {IDENTITY}, not https://github.com/attacker/x"),
        (trust(identity=None, identity_regexp=r"^https://github\.com/attacker/.*$"), COMMIT,  # type: ignore[arg-type]
         f"signed by {IDENTITY}, not /^https://github\\.com/attacker/.*$/"),
        (trust(issuer="https://accounts.google.com"), COMMIT,
         f"certificate issued for {ISSUER}, not https://accounts.google.com"),
        (trust(), "0" * 40, f"its certificate says it was built from commit {COMMIT[:12]}, not 000000000000"),
    ],
)  # fmt: skip
def test_another_identity_issuer_or_commit_is_refused(t: Trust, sha: str, said: str) -> None:
    with pytest.raises(Refused) as err:
        verify(t, sha)
    assert said in str(err.value)


def test_a_changed_artifact_is_refused() -> None:
    with pytest.raises(Refused) as err:
        verify(trust(), artifact=(DATA / "bundle_v3_github.whl").read_bytes() + b"\0")
    assert str(err.value).startswith("the Sigstore bundle does not verify")


# -- an image's keyless bundle: a DSSE envelope of an in-toto Statement --------------------------------
# a.dsse.staging-rekor-v2.txt.sigstore.json: a real DSSE bundle of Sigstore's staging instance
# (Rekor v2), SLSA v1 provenance of a.txt (sha256 below) with no source dependency, signed by the
# sigstore-conformance beacon workflow; staging_trusted_root.json: staging's trust root as the
# sigstore package embeds it (trust.signature.trusted_root: a private instance's root is given so)
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
BEACON_COMMIT = "977e8d08554ca9bda279c96e91be2119fb67c730"
SUBJECT = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
STAGING = DATA / "staging_trusted_root.json"


def image_verify(t: Trust, sha: str = BEACON_COMMIT, digest: str = SUBJECT) -> str:
    from promoter.model import Component
    from promoter.policy.trust import Found

    comp = Component("c", t.source, t.source, None, 7, (), 1, image="quay.io/example/c", trust=t)
    found = Found(
        bundles=[("referrer sha256:1234…", (DATA / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes())]
    )
    return keyless.verify(comp, sha, digest, found, "c: image", lambda: None, STAGING).summary()


def beacon(**kw: object) -> Trust:
    given: dict[str, object] = {"identity": BEACON, "issuer": ISSUER, "trusted_root": "staging_trusted_root.json", **kw}
    return Trust(1, "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon", **given)  # type: ignore[arg-type]


def test_a_real_dsse_bundle_about_the_image_is_its_signature() -> None:
    assert image_verify(beacon()) == f"signed by {BEACON} (issuer {ISSUER})"


@pytest.mark.parametrize(
    ("t", "sha", "digest", "said"),
    [
        (beacon(provenance=True), BEACON_COMMIT, SUBJECT, "has no valid provenance: referrer sha256:1234…: built from "
         "another repository (no git source)"),
        (beacon(), BEACON_COMMIT, "sha256:" + "1" * 64, "has no valid keyless signature: referrer sha256:1234…: its "
         "subject digest differs"),
        (beacon(), "1" * 40, SUBJECT,
         f"its certificate says it was built from commit {BEACON_COMMIT[:12]}, not 111111111111"),
        (beacon(identity=IDENTITY), BEACON_COMMIT, SUBJECT, f"signed by {BEACON}, not {IDENTITY}"),
    ],
)  # fmt: skip
def test_a_real_dsse_bundle_is_held_to_the_image_the_commit_and_the_identity(
    t: Trust, sha: str, digest: str, said: str
) -> None:
    with pytest.raises(Refused) as err:
        image_verify(t, sha, digest)
    assert said in str(err.value)


def test_the_public_good_root_does_not_trust_a_staging_bundle() -> None:
    """Without `trusted_root:`, the public-good instance's root: staging's certificates chain to none of it."""
    with pytest.raises(Refused) as err:
        from promoter.model import Component
        from promoter.policy.trust import Found

        t = beacon(trusted_root=None)
        comp = Component("c", t.source, t.source, None, 7, (), 1, image="quay.io/example/c", trust=t)
        raw = (DATA / "a.dsse.staging-rekor-v2.txt.sigstore.json").read_bytes()
        keyless.verify(comp, BEACON_COMMIT, SUBJECT, Found(bundles=[("r", raw)]), "c: image", lambda: None)
    assert "has no valid keyless signature: r: " in str(err.value)
