"""Signatures and attestations made here with `cryptography`, stored in a registry exactly as
cosign stores them, and a small Referrers API in front of Debian's docker-registry (which has
none).

cosign's layout (github.com/sigstore/cosign, pkg/oci and pkg/types):
- a signature is an OCI image manifest whose layer is the simple-signing payload
  (`application/vnd.dev.cosign.simplesigning.v1+json`: `critical.identity.docker-reference`,
  `critical.image.docker-manifest-digest`, `critical.type` "cosign container image signature",
  `optional`), the base64 signature over the payload's bytes in the layer's
  `dev.cosignproject.cosign/signature` annotation;
- an attestation is a manifest whose layer is a DSSE envelope
  (`application/vnd.dsse.envelope.v1+json`: payloadType `application/vnd.in-toto+json`, the
  base64 Statement, signatures over the PAE), annotated with its `predicateType` and an empty
  signature annotation;
- stored under the legacy tags `sha256-<hex>.sig` / `.att` (cosign's default), or as OCI 1.1
  referrers (`--registry-referrers-mode=oci-1-1`): the same manifest with `artifactType`, the
  empty config `application/vnd.oci.empty.v1+json` and a `subject` naming the image, listed by
  the Referrers API, or by the referrers tag schema (an image index at the tag `sha256-<hex>`)
  where the registry has no such API.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from tests.registry_fixtures import OCI_INDEX, OCI_MANIFEST, RunningRegistry, Server, reply, request, sha256

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE = "application/vnd.dsse.envelope.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIG_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
ATT_ARTIFACT = "application/vnd.dev.cosign.artifact.att.v1+json"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"
BUILDER = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0"

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey


def new_key(kind: str = "p256") -> PrivateKey:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def fingerprint(key: PrivateKey) -> str:
    import hashlib

    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def sign(key: PrivateKey, data: bytes) -> bytes:
    """As cosign signs: ECDSA over SHA-256 (ASN.1 DER), Ed25519, RSA PKCS#1 v1.5 with SHA-256."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def simple_signing(image: str, digest: str) -> bytes:
    return json.dumps(
        {
            "critical": {
                "identity": {"docker-reference": image},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        },
        separators=(",", ":"),
    ).encode()


def pae(payload_type: str, payload: bytes) -> bytes:
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def envelope(key: PrivateKey, statement: dict[str, Any]) -> bytes:
    payload = json.dumps(statement).encode()
    sig = sign(key, pae("application/vnd.in-toto+json", payload))
    return json.dumps(
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}],
        }
    ).encode()


def provenance(
    image: str,
    digest: str,
    commit: str,
    source: str = "https://github.com/example/app",
    version: str = "v1",
    predicate_type: str | None = None,
) -> dict[str, Any]:
    """An in-toto Statement of SLSA provenance: v1 (Statement v1) or v0.2 (Statement v0.1)."""
    subject = [{"name": image, "digest": {"sha256": digest.partition(":")[2]}}]
    if version == "v1":
        return {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subject,
            "predicateType": predicate_type or SLSA_V1,
            "predicate": {
                "buildDefinition": {
                    "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                    "externalParameters": {"workflow": {"ref": "refs/heads/main", "repository": source}},
                    "resolvedDependencies": [{"uri": f"git+{source}@refs/heads/main", "digest": {"gitCommit": commit}}],
                },
                "runDetails": {"builder": {"id": BUILDER}, "metadata": {"invocationId": "run-1"}},
            },
        }
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": subject,
        "predicateType": predicate_type or SLSA_V02,
        "predicate": {
            "builder": {"id": "https://tekton.dev/chains/v2"},
            "buildType": "tekton.dev/v1beta1/TaskRun",
            "invocation": {"configSource": {}},
            "materials": [{"uri": f"git+{source}.git", "digest": {"sha1": commit}}],
        },
    }


def _manifest(
    reg: RunningRegistry, name: str, layers: list[tuple[str, bytes, dict[str, str]]], subject: tuple[str, int] | None
) -> bytes:
    """A cosign manifest over `layers` (media type, bytes, annotations), blobs pushed."""
    if subject is None:  # legacy: a config naming the layers, as cosign writes it
        config = json.dumps(
            {
                "architecture": "",
                "os": "",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [sha256(b) for _, b, _ in layers]},
            }
        ).encode()
        config_type = "application/vnd.oci.image.config.v1+json"
    else:
        config, config_type = b"{}", EMPTY
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, "digest": reg.push_blob(name, config), "size": len(config)},
        "layers": [
            {"mediaType": media, "size": len(data), "digest": reg.push_blob(name, data), "annotations": notes}
            for media, data, notes in layers
        ],
    }
    if subject is not None:
        media = layers[0][0]
        doc["artifactType"] = {SIMPLE_SIGNING: SIG_ARTIFACT, DSSE: ATT_ARTIFACT}.get(media, media)
        doc["subject"] = {"mediaType": OCI_MANIFEST, "digest": subject[0], "size": subject[1]}
    return json.dumps(doc).encode()


def store(
    reg: RunningRegistry,
    name: str,
    digest: str,
    layers: list[tuple[str, bytes, dict[str, str]]],
    layout: str,
    suffix: str,
) -> str:
    """Store a cosign manifest for the image `digest` in `layout`: `legacy` (tag sha256-<hex>.sig
    or .att, `suffix`), `referrers` (a manifest with a subject, pushed by digest: a registry with
    the Referrers API lists it), `tag-schema` (also listed in the index at tag sha256-<hex>)."""
    if layout == "legacy":
        body = _manifest(reg, name, layers, None)
        return reg.push_manifest(name, digest.replace(":", "-") + suffix, OCI_MANIFEST, body)
    size = reg.manifest_size(name, digest)
    body = _manifest(reg, name, layers, (digest, size))
    child = reg.push_manifest(name, sha256(body), OCI_MANIFEST, body)
    remember(name, child)
    if layout == "tag-schema":
        tag = digest.replace(":", "-")
        status, _, old = request("GET", f"{reg.url}/v2/{name}/manifests/{tag}", {"Accept": OCI_INDEX})
        index = json.loads(old) if status == 200 else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        index["manifests"].append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": child,
                "size": len(body),
                "artifactType": json.loads(body)["artifactType"],
            }
        )
        reg.push_manifest(name, tag, OCI_INDEX, json.dumps(index).encode())
    return child


def rekor_bundle(
    log: PrivateKey,
    payload: bytes,
    signature: bytes,
    key: PrivateKey,
    *,
    logged_signature: bytes | None = None,
    integrated_time: int | None = None,
) -> str:
    """cosign's `dev.sigstore.cosign/bundle` annotation: the Rekor entry of a signature (a
    hashedrekord v0.0.1 body: the payload's sha256, the signature, the signer's public key) and
    its signed entry timestamp, the log's ECDSA signature over the RFC 8785 JSON of body,
    integratedTime, logID (the sha256 of the log key's DER) and logIndex.
    `logged_signature`: another signature in the entry; `integrated_time`: a time changed after
    the log signed."""
    import hashlib

    body = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
            "signature": {
                "content": base64.b64encode(logged_signature or signature).decode(),
                "publicKey": {"content": base64.b64encode(public_pem(key).encode()).decode()},
            },
        },
    }
    der = log.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    entry = {
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "integratedTime": 1765000000,
        "logID": hashlib.sha256(der).hexdigest(),
        "logIndex": 42,
    }
    set_ = sign(log, json.dumps(entry, sort_keys=True, separators=(",", ":")).encode())
    if integrated_time is not None:
        entry["integratedTime"] = integrated_time
    return json.dumps({"SignedEntryTimestamp": base64.b64encode(set_).decode(), "Payload": entry})


def sign_image(
    reg: RunningRegistry,
    name: str,
    digest: str,
    key: PrivateKey,
    layout: str = "legacy",
    *,
    signed_digest: str | None = None,
    payload: bytes | None = None,
    rekor: PrivateKey | None = None,
    **logged: Any,
) -> None:
    """`cosign sign --key`: a signature of the image `digest` (of `signed_digest` when given: a
    signature for another image); `payload`: the bytes stored instead of those signed (tampered);
    `rekor`: the key of the transparency log that entered it (`rekor_bundle`, with `logged`)."""
    image = f"{reg.host}/{name}"
    signed = simple_signing(image, signed_digest or digest)
    raw = sign(key, signed)
    notes = {"dev.cosignproject.cosign/signature": base64.b64encode(raw).decode()}
    if rekor is not None:
        notes["dev.sigstore.cosign/bundle"] = rekor_bundle(rekor, signed, raw, key, **logged)
    layer = (SIMPLE_SIGNING, payload if payload is not None else signed, notes)
    store(reg, name, digest, [layer], layout, ".sig")


def attach_bundle(reg: RunningRegistry, name: str, digest: str, bundle: bytes, layout: str = "referrers") -> None:
    """`cosign sign --new-bundle-format`: a Sigstore bundle as a referrer of the image."""
    store(reg, name, digest, [(BUNDLE, bundle, {})], layout, "")


def attest_image(
    reg: RunningRegistry, name: str, digest: str, key: PrivateKey, statement: dict[str, Any], layout: str = "legacy"
) -> None:
    """`cosign attest --key --type slsaprovenance`: a DSSE envelope of `statement`."""
    notes = {"dev.cosignproject.cosign/signature": "", "predicateType": str(statement.get("predicateType"))}
    store(reg, name, digest, [(DSSE, envelope(key, statement), notes)], layout, ".att")


class ReferrersFront:
    """A registry with the OCI 1.1 Referrers API, as the OCI distribution spec (v1.1, "Listing
    Referrers") defines it, in front of the real docker-registry: every request is passed to it,
    but `GET /v2/<name>/referrers/<digest>`, answered with an image index
    (`application/vnd.oci.image.index.v1+json`) of the descriptors of every manifest pushed
    whose `subject` is that digest (an empty index when there is none, never a 404), each with
    its `artifactType` (else its config's media type) and annotations; `?artifactType=` filters
    them (and says so in `OCI-Filters-Applied`); `page_size` splits the answer into pages joined
    by `Link: <...>; rel="next"`. It learns of referrers from the real registry's manifests, so
    what `store` pushes there is listed."""

    def __init__(self, reg: RunningRegistry, page_size: int = 0) -> None:
        self.reg = reg
        self.page_size = page_size
        self.server = Server(self)
        self.lock = threading.Lock()
        self.asked: list[str] = []

    @property
    def host(self) -> str:
        return self.server.host

    def _referrers(self, name: str, digest: str) -> list[dict[str, Any]]:
        # docker-registry lists no manifests by digest: the ones `store` pushed (KNOWN) are read
        # back from it, and those whose subject is `digest` listed, as a registry indexes them on push
        out = []
        for child in sorted(KNOWN.get(name, set())):
            status, _, body = request("GET", f"{self.reg.url}/v2/{name}/manifests/{child}", {"Accept": OCI_MANIFEST})
            if status != 200:
                continue
            doc = json.loads(body)
            if (doc.get("subject") or {}).get("digest") != digest:
                continue
            out.append(
                {
                    "mediaType": doc.get("mediaType", OCI_MANIFEST),
                    "digest": child,
                    "size": len(body),
                    "artifactType": doc.get("artifactType") or doc["config"]["mediaType"],
                    **({"annotations": doc["annotations"]} if doc.get("annotations") else {}),
                }
            )
        return out

    def __call__(self, req: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(req.path)
        segments = parts.path.split("/referrers/")
        if req.command == "GET" and len(segments) == 2 and segments[0].startswith("/v2/"):
            name, digest = segments[0][len("/v2/") :], segments[1]
            self.asked.append(req.path)
            query = urllib.parse.parse_qs(parts.query)
            found = self._referrers(name, digest)
            headers = {"Content-Type": OCI_INDEX}
            if "artifactType" in query:
                found = [d for d in found if d["artifactType"] in query["artifactType"]]
                headers["OCI-Filters-Applied"] = "artifactType"
            start = int(query.get("last", ["0"])[0])
            if self.page_size and len(found) > start + self.page_size:
                headers["Link"] = f'</v2/{name}/referrers/{digest}?last={start + self.page_size}>; rel="next"'
                found = found[start : start + self.page_size]
            elif self.page_size:
                found = found[start:]
            reply(
                req, 200, headers, json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}).encode()
            )
            return
        headers = {k: v for k, v in req.headers.items() if k.lower() in ("accept", "content-type", "authorization")}
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else None
        status, got, data = request(req.command, f"{self.reg.url}{req.path}", headers, body)
        out = {k: got[k] for k in ("content-type", "docker-content-digest", "location") if k in got}
        req.send_response(status)
        for k, v in out.items():
            req.send_header(k, v)
        req.send_header("Content-Length", got.get("content-length", str(len(data))))
        req.end_headers()
        if req.command != "HEAD":
            req.wfile.write(data)


KNOWN: dict[str, set[str]] = {}  # repository -> manifest digests pushed by the tests (see ReferrersFront)


def remember(name: str, digest: str) -> None:
    KNOWN.setdefault(name, set()).add(digest)


@pytest.fixture
def referrers_front(registry: RunningRegistry) -> Iterator[ReferrersFront]:
    front = ReferrersFront(registry)
    with front.server:
        yield front
