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
