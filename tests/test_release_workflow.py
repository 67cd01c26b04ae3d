"""The release workflow (.github/workflows/release.yml) cannot run here (it publishes to PyPI and
ghcr.io from GitHub): read, it must publish what the tests build and sign it the way promoter's
trust gate checks: PyPI by trusted publishing with attestations, the image from the Containerfile
with the same wheel, signed by digest with cosign keyless, its SLSA provenance pushed beside it,
both verified with this workflow's identity before the release is made; each job with only the
permissions it needs, and no `${{ }}` pasted into a script."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _workflow() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    return doc


def _steps(job: dict[str, Any], uses: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(uses)]


def test_it_runs_on_a_version_tag_with_no_permission_by_default() -> None:
    doc = _workflow()
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads the key `on` as true
    assert on == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}
    assert doc["permissions"] == {}
    signing = {name for name, job in doc["jobs"].items() if job.get("permissions", {}).get("id-token") == "write"}
    assert signing == {"pypi", "dist-provenance", "image"}
    for name, job in doc["jobs"].items():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), f"{name}: an expression pasted into a script"


def test_pypi_by_trusted_publishing_with_attestations() -> None:
    job = _workflow()["jobs"]["pypi"]
    (publish,) = _steps(job, "pypa/gh-action-pypi-publish@")
    assert publish["with"] == {"attestations": True}  # no password: the OIDC token is the credential
    assert job["environment"]["name"] == "pypi" and job["needs"] == "build"


def test_the_image_is_built_from_the_containerfile_signed_by_digest_and_attested() -> None:
    job = _workflow()["jobs"]["image"]
    (build,) = _steps(job, "docker/build-push-action@")
    assert build["with"]["file"] == "Containerfile" and build["with"]["push"] is True
    given = {line.split("=")[0] for line in build["with"]["build-args"].splitlines() if line}
    declared = set(re.findall(r"^ARG (\w+)", (ROOT / "Containerfile").read_text(), re.M))
    assert given <= declared and "VERSION" in given
    (sign,) = [s for s in job["steps"] if "cosign sign" in s.get("run", "")]
    assert sign["run"].strip() == 'cosign sign --yes "$IMAGE@$DIGEST"'  # by digest, never a tag
    assert sign["env"]["DIGEST"] == "${{ steps.push.outputs.digest }}"
    (attest,) = _steps(job, "actions/attest-build-provenance@")
    assert attest["with"]["subject-digest"] == "${{ steps.push.outputs.digest }}"
    assert attest["with"]["push-to-registry"] is True
    assert _steps(job, "actions/download-artifact@")[0]["with"]["name"] == "dist"  # the wheel PyPI gets


def test_the_release_waits_for_the_checks_the_trust_gate_makes() -> None:
    jobs = _workflow()["jobs"]
    (verify,) = [s for s in jobs["verify"]["steps"] if "run" in s]
    assert (
        "cosign verify" in verify["run"]
        and "--certificate-oidc-issuer https://token.actions.githubusercontent.com" in (verify["run"])
    )
    assert verify["env"]["IDENTITY"].endswith("/.github/workflows/release.yml@${{ github.ref }}")
    assert (
        "gh attestation verify" in verify["run"] and "--predicate-type https://slsa.dev/provenance/v1" in verify["run"]
    )
    assert set(jobs["release"]["needs"]) >= {"pypi", "verify", "dist-provenance"}
