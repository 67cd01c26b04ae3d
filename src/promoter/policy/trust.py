"""The trust gate: the image of the promoted commit is signed by a trusted key or identity, and
its provenance says it was built from that commit of that repository.

Signatures and attestations are found the way cosign stores them, through promoter's own
registry client (its auth, limits and deadlines): the OCI 1.1 Referrers API of the image digest,
else the referrers tag schema (`sha256-<hex>`, an image index), then cosign's legacy tags
(`sha256-<hex>.sig`, `sha256-<hex>.att`). What a manifest holds is told by its layers:

- a simple-signing payload (`application/vnd.dev.cosign.simplesigning.v1+json`) with its
  signature in the `dev.cosignproject.cosign/signature` annotation: a signature, whose
  `critical.image.docker-manifest-digest` must be the digest promoted;
- a DSSE envelope (`application/vnd.dsse.envelope.v1+json`): an attestation, signed over its
  PAE, holding an in-toto Statement (v0.1 or v1) whose subject must be the image digest;
- a Sigstore bundle (`application/vnd.dev.sigstore.bundle...`): keyless, verified offline by the
  `sigstore` package (`promoter[sigstore]`, `policy.keyless`).

Provenance is SLSA v0.2 (`materials[]`, `invocation.configSource`) or v1
(`buildDefinition.resolvedDependencies[]`): a git dependency whose URI is the trusted `source`
(normalised like `repo:`) must name the promoted commit (`gitCommit` or `sha1`).

`cryptography` is imported only here, and only when a component has `trust:`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import urlsplit

from promoter.errors import ConfigError, Refused
from promoter.model import Component, Evidence, Release, Trust
from promoter.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from promoter.pipeline.workspace import Workspace
    from promoter.upstream.registry import Registry
    from promoter.upstream.registry.client import Manifest

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
BUNDLE_PREFIX = "application/vnd.dev.sigstore.bundle"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
REKOR_BUNDLE = "dev.sigstore.cosign/bundle"  # cosign's record of the signature's Rekor entry
PUBLIC_GOOD_ROOT = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"  # in the sigstore package
IN_TOTO = "application/vnd.in-toto+json"
STATEMENTS = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1"  # the predicate of a keyless image signature (bundle)
MAX_REFERRERS = 32  # referrer manifests read per image, at most
MAX_LAYERS = 16  # layers read per manifest, at most
MAX_BLOBS = 64  # signature, attestation and bundle blobs read per image, at most (each at most 4 MiB)
_SHA1 = re.compile(r"[0-9a-f]{40}")


@record
class Found:
    """What the registry holds for one image digest, as cosign stores it."""

    # (where, payload, base64 signature, the layer's annotations: cosign's Rekor bundle among them)
    signatures: list[tuple[str, bytes, str, dict[str, Any]]] = field(default_factory=list)
    envelopes: list[tuple[str, bytes]] = field(default_factory=list)  # (where, DSSE envelope JSON)
    bundles: list[tuple[str, bytes]] = field(default_factory=list)  # (where, Sigstore bundle JSON)
    looked: list[str] = field(default_factory=list)  # where it looked, for a refusal
    seen: set[str] = field(default_factory=set)  # manifest digests already read
    blobs: int = 0  # blobs read


@record(frozen=True)
class Signer:
    """Checks a signature over some bytes (a key, or a keyless identity) and says who signed."""

    trust: Trust
    name: str  # `key sha256:…` or `identity (issuer …)`
    key: Any = None  # a cryptography public key (key mode)

    def verifies(self, signature: bytes, data: bytes) -> bool:
        return _verifies(self.key, signature, data)


# -- the gate ---------------------------------------------------------------------------------------
def verify(
    comp: Component,
    sha: str,
    digest: str,
    registry: Registry,
    files: Workspace,
    config_path: str,
    release: Release | None = None,
) -> Evidence:
    """The evidence that `digest` (the image of commit `sha`, released as `release`) is what
    `comp.trust` asks for; Refused saying what is missing or wrong. `files` reads the key (or
    trusted root) inside the repository; `config_path` names promotion.yaml in a ConfigError
    about them."""
    trust = comp.trust
    assert trust is not None and comp.image is not None
    image = comp.image
    shown = f"{comp.name}: image {image}:{comp.image_tag(sha, release)} ({digest[:19]}…)"
    found = Found()
    _referrers(registry, image, digest, found)
    if trust.keyless:
        from promoter.policy import keyless

        root = None
        if trust.trusted_root is not None:
            try:
                files.read(trust.trusted_root)  # there, inside the repository, and text
                root = files.inside(trust.trusted_root)
            except Refused as exc:
                raise ConfigError(
                    f"trust.signature.trusted_root: cannot read it: {exc}", config_path, trust.trusted_root_line
                ) from None
        return keyless.verify(
            comp, sha, digest, found, shown, lambda: _legacy(registry, image, digest, found), root, config_path
        )
    signer = key_signer(trust, files.read, config_path)
    logs = rekor_keys(trust, files.read, config_path) if trust.tlog == "required" else None
    reasons: list[str] = []
    signed = _signature(signer, digest, found, reasons, logs)
    if signed is None:
        _legacy(registry, image, digest, found, (".sig", ".att") if trust.provenance else (".sig",))
        signed = _signature(signer, digest, found, reasons, logs)
    if signed is None:
        raise Refused(_refusal(shown, "has no valid signature", found, reasons, "sign it (cosign sign --key …)"))
    evidence = Evidence(digest, signer.name, tlog=logs is not None)
    if not trust.provenance:
        return evidence
    reasons = []
    prov = _provenance(signer, trust, sha, digest, found, reasons)
    if prov is None and not any(where.endswith(".att") for where in found.looked):
        _legacy(registry, image, digest, found, (".att",))
        prov = _provenance(signer, trust, sha, digest, found, reasons)
    if prov is None:
        raise Refused(
            _refusal(shown, "has no valid provenance", found, reasons, "attest its SLSA provenance (cosign attest)")
        )
    builder, source, commit = prov
    return Evidence(digest, signer.name, builder, source, commit, tlog=logs is not None)


def _refusal(shown: str, what: str, found: Found, reasons: list[str], fix: str) -> str:
    said = list(dict.fromkeys(reasons))
    why = f": {'; '.join(said[:4])}" + (f" (and {len(said) - 4} more)" if len(said) > 4 else "") if said else ""
    where = f" (looked in {', '.join(found.looked)})" if not said and found.looked else ""
    return f"{shown} {what}{why}{where}; {fix}, or pass --ignore-trust to promote it anyway"


# -- finding what cosign stored ---------------------------------------------------------------------
def _referrers(registry: Registry, image: str, digest: str, found: Found) -> None:
    """The manifests that name `digest` as their subject: the Referrers API, else the tag schema."""
    descriptors = registry.referrers(image, digest)
    if descriptors is not None:
        found.looked.append("the Referrers API")
    else:
        tag = digest.replace(":", "-")
        found.looked.append(f"the referrers tag {tag}")
        index = registry.manifest(image, tag)
        descriptors = []
        if index is not None and isinstance(index.doc.get("manifests"), list):
            descriptors = [d for d in index.doc["manifests"] if isinstance(d, dict)]
    for d in descriptors[:MAX_REFERRERS]:
        child = d.get("digest")
        if not isinstance(child, str) or child in found.seen:
            continue
        manifest = registry.manifest(image, child)
        if manifest is None:
            continue
        subject = manifest.doc.get("subject")
        if not isinstance(subject, dict) or subject.get("digest") != digest:
            continue  # a referrer names its subject: one that names another image is not this image's
        _read(registry, image, manifest, f"referrer {child[:19]}…", found)


def _legacy(
    registry: Registry, image: str, digest: str, found: Found, suffixes: tuple[str, ...] = (".sig", ".att")
) -> None:
    """cosign's legacy tags: `sha256-<hex>.sig` and `sha256-<hex>.att` (those of `suffixes` not read yet)."""
    for suffix in suffixes:
        tag = digest.replace(":", "-") + suffix
        if f"the tag {tag}" in found.looked:
            continue
        found.looked.append(f"the tag {tag}")
        manifest = registry.manifest(image, tag)
        if manifest is not None and manifest.digest not in found.seen:
            _read(registry, image, manifest, f"tag {tag}", found)


def _read(registry: Registry, image: str, manifest: Manifest, where: str, found: Found) -> None:
    """The signatures, envelopes and bundles in the layers of `manifest`."""
    found.seen.add(manifest.digest)
    layers = manifest.doc.get("layers")
    if not isinstance(layers, list):
        return
    artifact = str(manifest.doc.get("artifactType") or "")
    for layer in layers[:MAX_LAYERS]:
        if not isinstance(layer, dict) or not isinstance(layer.get("digest"), str):
            continue
        media = str(layer.get("mediaType") or "")
        annotations = layer.get("annotations") if isinstance(layer.get("annotations"), dict) else {}
        assert isinstance(annotations, dict)
        if media == SIMPLE_SIGNING:
            sig = annotations.get(SIGNATURE_ANNOTATION)
            if isinstance(sig, str) and sig:
                found.signatures.append((where, _blob(registry, image, layer, found), sig, annotations))
        elif media == DSSE:
            found.envelopes.append((where, _blob(registry, image, layer, found)))
        elif media.startswith(BUNDLE_PREFIX) or artifact.startswith(BUNDLE_PREFIX):
            found.bundles.append((where, _blob(registry, image, layer, found)))


def _blob(registry: Registry, image: str, layer: dict[str, Any], found: Found) -> bytes:
    """A layer's blob, counted: an image with more than MAX_BLOBS of them is refused."""
    found.blobs += 1
    if found.blobs > MAX_BLOBS:
        raise Refused(
            f"image {image}: more than {MAX_BLOBS} signature and attestation layers; promoter reads no more "
            "(remove stale signatures, e.g. with cosign clean)"
        )
    return registry.blob(image, str(layer["digest"]))


# -- key mode ---------------------------------------------------------------------------------------
def key_signer(trust: Trust, read: Callable[[str], str], config_path: str) -> Signer:
    """The configured PEM public key (ECDSA P-256/P-384/P-521, Ed25519, RSA), read inside the
    repository; a ConfigError at the `key:` line when it cannot be read or is no such key."""
    assert trust.key is not None
    try:
        text = read(trust.key)
    except Refused as exc:
        raise ConfigError(f"trust.signature.key: cannot read it: {exc}", config_path, trust.key_line) from None
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_public_key(text.encode("utf-8"))
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(
            f"trust.signature.key: {trust.key} is no PEM public key (-----BEGIN PUBLIC KEY-----, as "
            "`cosign generate-key-pair` writes cosign.pub)",
            config_path,
            trust.key_line,
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey):
        raise ConfigError(
            f"trust.signature.key: {trust.key} is a {type(key).__name__}; promoter verifies ECDSA, Ed25519, RSA keys",
            config_path,
            trust.key_line,
        )
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return Signer(trust, f"key sha256:{hashlib.sha256(der).hexdigest()}", key)


def _verifies(key: Any, signature: bytes, data: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    attempts: list[Callable[[], None]] = []
    if isinstance(key, ed25519.Ed25519PublicKey):
        attempts.append(lambda: key.verify(signature, data))
    elif isinstance(key, ec.EllipticCurvePublicKey):
        # cosign hashes with SHA-256 whatever the curve; newer signers match the hash to the curve
        algos = {"secp384r1": [hashes.SHA384(), hashes.SHA256()], "secp521r1": [hashes.SHA512(), hashes.SHA256()]}
        for algo in algos.get(key.curve.name, [hashes.SHA256()]):
            attempts.append(lambda a=algo: key.verify(signature, data, ec.ECDSA(a)))  # type: ignore[misc]
    elif isinstance(key, rsa.RSAPublicKey):
        attempts.append(lambda: key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256()))
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        attempts.append(lambda: key.verify(signature, data, pss, hashes.SHA256()))
    for attempt in attempts:
        try:
            attempt()
            return True
        except (InvalidSignature, ValueError, TypeError):
            continue
    return False


def _b64(text: object) -> bytes | None:
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        try:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError:
            return None


def _signature(
    signer: Signer, digest: str, found: Found, reasons: list[str], logs: dict[str, Any] | None = None
) -> str | None:
    """Where a simple-signing signature of `digest` by `signer` is (with `logs`, the Rekor keys by
    log id: entered in one of those transparency logs), or None (`reasons` says why)."""
    for where, payload, sig, notes in found.signatures:
        raw = _b64(sig)
        if raw is None:
            reasons.append(f"{where}: its signature annotation is not base64")
            continue
        if not signer.verifies(raw, payload):
            reasons.append(
                f"{where}: the signature does not verify with {signer.name} "
                "(signed by another key, or the payload was changed after signing)"
            )
            continue
        try:
            doc = json.loads(payload)
            signed = doc["critical"]["image"]["docker-manifest-digest"]
        except (ValueError, KeyError, TypeError):
            reasons.append(f"{where}: the signed payload is no simple-signing document")
            continue
        if signed != digest:
            reasons.append(f"{where}: signed for another image, {str(signed)[:80]}")
            continue
        if logs is not None:
            logged = _logged(signer, payload, raw, notes.get(REKOR_BUNDLE), logs)
            if logged is not None:
                reasons.append(f"{where}: {logged}")
                continue
        return where
    return None


# -- the transparency log, key mode ----------------------------------------------------------------
def rekor_keys(trust: Trust, read: Callable[[str], str], config_path: str) -> dict[str, Any]:
    """The Rekor public keys a signature's log entry may be signed by, by log id (the sha256 of
    the key's DER): `tlog_key:` (a PEM in the repository: a private Rekor), else the public-good
    instance's, from the trust root the sigstore package embeds."""
    from cryptography.hazmat.primitives import serialization

    keys = []
    if trust.tlog_key is not None:
        try:
            pem = read(trust.tlog_key)
            keys.append(serialization.load_pem_public_key(pem.encode("utf-8")))
        except Refused as exc:
            raise ConfigError(f"trust.tlog_key: cannot read it: {exc}", config_path, trust.tlog_key_line) from None
        except ValueError:
            raise ConfigError(
                f"trust.tlog_key: {trust.tlog_key} is no PEM public key (the Rekor instance's, as `rekor-cli` or "
                "its /api/v1/log/publicKey gives it)",
                config_path,
                trust.tlog_key_line,
            ) from None
    else:
        try:
            from importlib.resources import files

            root = json.loads((files("sigstore._store") / PUBLIC_GOOD_ROOT).read_bytes())
        except (ImportError, OSError, ValueError):
            raise ConfigError(
                "trust: tlog: required checks the signature's Rekor entry against the public-good Rekor keys, "
                "which the sigstore package holds: pip install 'promoter[sigstore]', or give the Rekor "
                "instance's key as trust.tlog_key, or say 'tlog: ignore' (cosign's --insecure-ignore-tlog)",
                config_path,
                trust.line,
            ) from None
        for log in root.get("tlogs", []):
            raw = _b64((log.get("publicKey") or {}).get("rawBytes"))
            if raw is not None:
                keys.append(serialization.load_der_public_key(raw))
    out: dict[str, Any] = {}
    for key in keys:
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        out[hashlib.sha256(der).hexdigest()] = key
    return out


def _logged(signer: Signer, payload: bytes, signature: bytes, bundle: object, logs: dict[str, Any]) -> str | None:
    """Why cosign's Rekor bundle does not prove the signature logged (None: it does): the signed
    entry timestamp (SET) verifies with the key of the log it names, over the canonical JSON of
    the entry, and the entry (hashedrekord) holds this payload's hash, this signature and this key."""
    if not isinstance(bundle, str) or not bundle:
        return f"no transparency log entry (no {REKOR_BUNDLE} annotation; signed with --tlog-upload=false?)"
    try:
        doc = json.loads(bundle)
        entry = doc["Payload"]
        log_id = str(entry["logID"])
        canonical: dict[str, str | int] = {
            "body": str(entry["body"]),
            "integratedTime": int(entry["integratedTime"]),
            "logID": log_id,
            "logIndex": int(entry["logIndex"]),
        }
        set_ = _b64(doc["SignedEntryTimestamp"])
        body = json.loads(_b64(entry["body"]) or b"")
        spec = body["spec"]
        logged_hash = spec["data"]["hash"]["value"]
        logged_sig = _b64(spec["signature"]["content"])
        logged_key = _b64(spec["signature"]["publicKey"]["content"])
    except (ValueError, KeyError, TypeError):
        return f"its {REKOR_BUNDLE} annotation is no Rekor bundle"
    key = logs.get(log_id)
    if key is None:
        return f"its log entry is from a log whose key is not trusted (log id {log_id[:16]}…)"
    # RFC 8785 canonical JSON: sorted keys, no spaces; these values are ASCII strings and integers
    data = json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()
    if set_ is None or not _verifies(key, set_, data):
        return "its transparency log entry's signed timestamp does not verify with the log's key"
    if body.get("kind") != "hashedrekord" or logged_hash != hashlib.sha256(payload).hexdigest():
        return "its transparency log entry is for other content"
    if logged_sig != signature:
        return "its transparency log entry holds another signature"
    from cryptography.hazmat.primitives import serialization

    try:
        logged_public = serialization.load_pem_public_key(logged_key or b"")
    except ValueError:
        return "its transparency log entry names no public key"
    ours = signer.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = logged_public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if ours != theirs:
        return "its transparency log entry names another key"
    return None


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what an envelope's signature is over."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _envelope(signer: Signer, where: str, raw: bytes, reasons: list[str]) -> dict[str, Any] | None:
    """The in-toto Statement of a DSSE envelope signed by `signer`, or None."""
    try:
        env = json.loads(raw)
        payload_type = env["payloadType"]
        payload = _b64(env["payload"])
        sigs = [_b64(s.get("sig")) for s in env["signatures"] if isinstance(s, dict)]
    except (ValueError, KeyError, TypeError, AttributeError):
        reasons.append(f"{where}: not a DSSE envelope")
        return None
    if payload is None or payload_type != IN_TOTO:
        reasons.append(f"{where}: its payload is not an in-toto statement ({str(payload_type)[:60]})")
        return None
    if not any(s is not None and signer.verifies(s, pae(payload_type, payload)) for s in sigs):
        reasons.append(f"{where}: the attestation's signature does not verify with {signer.name}")
        return None
    try:
        statement = json.loads(payload)
    except ValueError:
        reasons.append(f"{where}: the attestation's payload is not JSON")
        return None
    if not isinstance(statement, dict):
        reasons.append(f"{where}: the attestation's payload is not an in-toto statement")
        return None
    return statement


def _provenance(
    signer: Signer, trust: Trust, sha: str, digest: str, found: Found, reasons: list[str]
) -> tuple[str, str, str] | None:
    """(builder id, source, commit) of the first valid provenance of `digest` signed by `signer`."""
    for where, raw in found.envelopes:
        statement = _envelope(signer, where, raw, reasons)
        if statement is None:
            continue
        checked = provenance_of(statement, where, trust, sha, digest, reasons)
        if checked is not None:
            return checked
    return None


def provenance_of(
    statement: dict[str, Any], where: str, trust: Trust, sha: str, digest: str, reasons: list[str]
) -> tuple[str, str, str] | None:
    """(builder id, source, commit) when the statement is SLSA provenance of `digest` built from
    commit `sha` of `trust.source`; else None, with the reason in `reasons`."""
    if statement.get("_type") not in STATEMENTS:
        reasons.append(f"{where}: not an in-toto Statement ({str(statement.get('_type'))[:60]})")
        return None
    hexdigest = digest.partition(":")[2]
    named = subject_digests(statement)
    if hexdigest not in named:
        other = ", ".join(f"sha256:{str(n)[:12]}…" for n in named[:3]) or "none"
        reasons.append(f"{where}: the attestation's subject digest differs ({other}, not {digest[:19]}…)")
        return None
    kind = statement.get("predicateType")
    if kind not in (SLSA_V02, SLSA_V1):
        reasons.append(f"{where}: predicate type {str(kind)[:80]}, not SLSA provenance (v0.2 or v1)")
        return None
    predicate = statement.get("predicate") if isinstance(statement.get("predicate"), dict) else {}
    assert isinstance(predicate, dict)
    builder, deps = _slsa(predicate, kind)
    want = source_key(trust.source)
    ours = [(uri, commit) for uri, commit in deps if source_key(uri) == want]
    if not ours:
        listed = ", ".join(uri for uri, _ in deps[:3]) or "no git source"
        reasons.append(f"{where}: built from another repository ({listed[:200]}), not {trust.source}")
        return None
    for _, commit in ours:
        if commit == sha:
            return builder, trust.source, commit
    others = ", ".join(dict.fromkeys(c[:12] if c else "no commit" for _, c in ours))
    reasons.append(f"{where}: built from another commit of {trust.source} ({others}), not {sha[:12]}")
    return None


def subject_digests(statement: dict[str, Any]) -> list[str]:
    """The sha256 digests (hex) of an in-toto Statement's subjects."""
    subjects = statement.get("subject")
    out: list[str] = []
    for s in subjects if isinstance(subjects, list) else []:
        digests = s.get("digest") if isinstance(s, dict) else None
        if isinstance(digests, dict) and isinstance(digests.get("sha256"), str):
            out.append(digests["sha256"])
    return out


def _slsa(predicate: dict[str, Any], kind: str) -> tuple[str, list[tuple[str, str | None]]]:
    """(builder id, [(source URI, commit)]) of an SLSA v0.2 or v1 predicate."""

    def commit_of(d: object) -> str | None:
        if not isinstance(d, dict):
            return None
        value = d.get("gitCommit") or d.get("sha1")
        return value.lower() if isinstance(value, str) and _SHA1.fullmatch(value.lower()) else None

    deps: list[tuple[str, str | None]] = []
    if kind == SLSA_V1:
        run = predicate.get("runDetails") if isinstance(predicate.get("runDetails"), dict) else {}
        builder = (run.get("builder") or {}).get("id") if isinstance(run, dict) else None
        definition = predicate.get("buildDefinition") if isinstance(predicate.get("buildDefinition"), dict) else {}
        resolved = definition.get("resolvedDependencies") if isinstance(definition, dict) else None
        for d in resolved if isinstance(resolved, list) else []:
            if isinstance(d, dict) and isinstance(d.get("uri"), str):
                deps.append((d["uri"], commit_of(d.get("digest"))))
    else:
        builder = (predicate.get("builder") or {}).get("id") if isinstance(predicate.get("builder"), dict) else None
        invocation = predicate.get("invocation") if isinstance(predicate.get("invocation"), dict) else {}
        config = invocation.get("configSource") if isinstance(invocation, dict) else None
        if isinstance(config, dict) and isinstance(config.get("uri"), str):
            deps.append((config["uri"], commit_of(config.get("digest"))))
        materials = predicate.get("materials")
        for d in materials if isinstance(materials, list) else []:
            if isinstance(d, dict) and isinstance(d.get("uri"), str):
                deps.append((d["uri"], commit_of(d.get("digest"))))
    return (builder if isinstance(builder, str) else "(no builder id)"), deps


def source_key(uri: str) -> str:
    """What two URIs of one repository share: `git+https://GitHub.com/o/r.git@refs/heads/main`
    and `https://github.com/o/r/` are both `github.com/o/r` (the scheme, a `git+` prefix, an
    `@ref` after the path, `.git` and a trailing `/` dropped; the host lowercased)."""
    text = uri.strip().removeprefix("git+")
    parts = urlsplit(text)
    if not parts.netloc:
        return text
    path = parts.path.partition("@")[0].rstrip("/").removesuffix(".git").rstrip("/")
    return f"{parts.netloc.rpartition('@')[2].lower()}{path}"
