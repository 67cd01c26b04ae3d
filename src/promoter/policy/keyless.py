"""Keyless trust (Sigstore): bundles verified offline by the `sigstore` package
(`pip install 'promoter[sigstore]'`, imported only here), against the trust root it embeds.

A bundle is trusted when its certificate chains to Fulcio at the time its transparency log entry
(Rekor, verified too) says it was signed, names the configured identity (exactly, or matching an
anchored regexp) and issuer, and its source-repository-digest extension, when present, is the
commit promoted. For an image, the bundle is a DSSE envelope whose in-toto Statement names the
image digest as its subject: a cosign signature (`https://sigstore.dev/cosign/sign/v1`) or SLSA
provenance (which must also say it was built from the promoted commit of `source`).
"""

from __future__ import annotations

import json
import re

from promoter.errors import ConfigError, Refused
from promoter.model import Component, Evidence, Trust

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from promoter.policy.trust import Found

# Fulcio's certificate extensions (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md)
ISSUER_V1 = "1.3.6.1.4.1.57264.1.1"  # raw string
ISSUER_V2 = "1.3.6.1.4.1.57264.1.8"  # DER UTF8String
SOURCE_REPOSITORY_DIGEST = "1.3.6.1.4.1.57264.1.13"  # DER UTF8String: the commit the workflow ran on
INSTALL_HINT = "pip install 'promoter[sigstore]'"


class _Policy:
    """sigstore's verification policy for one certificate: identity, issuer, source commit."""

    def __init__(self, trust: Trust, sha: str | None) -> None:
        self.trust = trust
        self.sha = sha
        self.identity = ""
        self.issuer = ""
        self.commit: str | None = None

    def verify(self, cert: Any) -> None:
        from sigstore.errors import VerificationError

        sans = identities(cert)
        issuer = extension(cert, ISSUER_V2, der=True) or extension(cert, ISSUER_V1, der=False) or ""
        t = self.trust
        if t.identity is not None:
            matching = [s for s in sans if s == t.identity]
        else:
            assert t.identity_regexp is not None
            matching = [s for s in sans if re.fullmatch(t.identity_regexp, s)]
        if not matching:
            want = t.identity if t.identity is not None else f"/{t.identity_regexp}/"
            raise VerificationError(f"signed by {', '.join(sans) or 'no identity'}, not {want}")
        if issuer != t.issuer:
            raise VerificationError(f"certificate issued for {issuer or 'no issuer'}, not {t.issuer}")
        commit = extension(cert, SOURCE_REPOSITORY_DIGEST, der=True)
        if commit is not None and self.sha is not None and commit.lower() != self.sha:
            raise VerificationError(f"its certificate says it was built from commit {commit[:12]}, not {self.sha[:12]}")
        self.identity, self.issuer, self.commit = matching[0], issuer, commit


def identities(cert: Any) -> list[str]:
    """The certificate's subject alternative names: URIs and email addresses."""
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*san.get_values_for_type(x509.UniformResourceIdentifier), *san.get_values_for_type(x509.RFC822Name)]


def extension(cert: Any, oid: str, der: bool) -> str | None:
    """The text of a Fulcio extension (`der`: a DER UTF8String), None when absent."""
    from cryptography import x509

    try:
        raw: bytes = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value.value
    except x509.ExtensionNotFound:
        return None
    if der:
        if len(raw) < 2 or raw[0] != 0x0C:
            return None
        size, start = raw[1], 2
        if size & 0x80:
            n = size & 0x7F
            size, start = int.from_bytes(raw[2 : 2 + n], "big"), 2 + n
        raw = raw[start : start + size]
    return raw.decode("utf-8", "replace")


_VERIFIERS: dict[str, Any] = {}  # one per trust root in a run: loading one costs milliseconds


def _verifier(trust: Trust, root: Path | None = None, config_path: str | None = None) -> Any:
    """sigstore's Verifier: against `root` (a trusted_root.json: a private instance's), else the
    public-good instance's trust root the package embeds (offline: no TUF refresh); made once per
    run and trust root."""
    key = str(root) if root is not None else ""
    if key not in _VERIFIERS:
        _VERIFIERS[key] = _make_verifier(trust, root, config_path)
    return _VERIFIERS[key]


def _make_verifier(trust: Trust, root: Path | None, config_path: str | None) -> Any:
    try:
        import logging

        from sigstore.verify import Verifier
    except ImportError:
        raise ConfigError(
            f"trust: a keyless signature (identity:, issuer:) is verified by the sigstore package: {INSTALL_HINT}"
        ) from None
    logging.getLogger("sigstore").setLevel(logging.ERROR)  # "offline mode" is what is asked for: no warning
    logging.getLogger("tuf").setLevel(logging.ERROR)
    if root is None:
        return Verifier.production(offline=True)
    from sigstore.models import TrustedRoot

    try:
        return Verifier(trusted_root=TrustedRoot.from_file(str(root)))
    except Exception as exc:  # pydantic's and sigstore's errors alike: a file that is no trusted root
        raise ConfigError(
            f"trust.signature.trusted_root: {trust.trusted_root} is no Sigstore trusted root: {_said(exc)}",
            config_path,
            trust.trusted_root_line or None,
        ) from None


def verify_artifact(
    trust: Trust, sha: str | None, bundle: bytes, artifact: bytes, root: Path | None = None
) -> Evidence:
    """A Sigstore bundle of a message signature over `artifact` (a file, not an image): who
    signed it, under `trust`'s identity and issuer policy, verified offline. Refused when it does
    not hold."""
    from sigstore.errors import Error
    from sigstore.models import Bundle

    verifier = _verifier(trust, root)
    policy = _Policy(trust, sha)
    try:
        verifier.verify_artifact(artifact, Bundle.from_json(bundle), policy)
    except (Error, ValueError) as exc:
        raise Refused(f"the Sigstore bundle does not verify: {_said(exc)}") from None
    signer = f"{policy.identity} (issuer {policy.issuer})"
    return Evidence("", signer, commit=policy.commit, tlog=True)


def _said(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def verify(
    comp: Component,
    sha: str,
    digest: str,
    found: Found,
    shown: str,
    legacy: Callable[[], None],
    root: Path | None = None,
    config_path: str | None = None,
) -> Evidence:
    """The evidence that the image `digest` of commit `sha` carries a keyless signature (and
    provenance) of `comp.trust`'s identity; Refused saying what is missing or wrong."""
    from promoter.policy.trust import COSIGN_SIGN, SLSA_V02, SLSA_V1, provenance_of, subject_digests

    trust = comp.trust
    assert trust is not None
    if not found.bundles:
        legacy()
    if not found.bundles:
        legacy_note = (
            "; cosign's legacy keyless signatures (certificate annotations) are not read: sign with --new-bundle-format"
            if found.signatures
            else ""
        )
        raise Refused(
            f"{shown} has no Sigstore bundle (looked in {', '.join(found.looked)}){legacy_note}; "
            "sign it keyless, or pass --ignore-trust to promote it anyway"
        )
    from sigstore.errors import Error
    from sigstore.models import Bundle

    verifier = _verifier(trust, root, config_path)
    reasons: list[str] = []
    signer: str | None = None
    prov: tuple[str, str, str] | None = None
    hexdigest = digest.partition(":")[2]
    for where, raw in found.bundles:
        policy = _Policy(trust, sha)
        try:
            payload_type, payload = verifier.verify_dsse(Bundle.from_json(raw), policy)
        except (Error, ValueError) as exc:
            reasons.append(f"{where}: {_said(exc)}")
            continue
        try:
            statement = json.loads(payload) if payload_type == "application/vnd.in-toto+json" else None
        except ValueError:
            statement = None
        if not isinstance(statement, dict):
            reasons.append(f"{where}: its payload is not an in-toto statement")
            continue
        if hexdigest not in subject_digests(statement):
            reasons.append(f"{where}: its subject digest differs (not {digest[:19]}…)")
            continue
        who = f"{policy.identity} (issuer {policy.issuer})"
        kind = statement.get("predicateType")
        if kind == COSIGN_SIGN:
            signer = signer or who
        elif kind in (SLSA_V02, SLSA_V1):
            signer = signer or who  # a verified statement about this very image is its signature too
            checked = provenance_of(statement, where, trust, sha, digest, reasons)
            prov = prov or checked
        else:
            reasons.append(f"{where}: predicate type {str(kind)[:80]}, neither a signature nor SLSA provenance")
    fix = "or pass --ignore-trust to promote it anyway"
    said = "; ".join(list(dict.fromkeys(reasons))[:4])
    if signer is None:
        raise Refused(f"{shown} has no valid keyless signature: {said or 'none found'}; {fix}")
    if trust.provenance and prov is None:
        raise Refused(f"{shown} has no valid provenance: {said or 'none found'}; {fix}")
    builder, source, commit = prov if prov is not None else (None, None, None)
    return Evidence(digest, signer, builder, source, commit, tlog=True)
