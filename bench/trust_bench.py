#!/usr/bin/env python3
"""The trust gate's cost per candidate against the image gate alone, in the same run, against the
same real registry (Debian's docker-registry on 127.0.0.1, started here).

    python bench/trust_bench.py            # 20 candidates, 7 rounds
    python bench/trust_bench.py --quick    # 5 candidates, 3 rounds

Each candidate is an image (a tag per commit) signed and attested as cosign stores them by
default (legacy tags `sha256-<hex>.sig` and `.att`, an ECDSA P-256 key, SLSA v1 provenance).
A round asks of every candidate, through one `Registry` as a session does: the image gate alone
(`Registry.digest`: HEAD, then GET of the manifest), then the image gate and the trust gate
(`policy.trust.verify`: the referrers tag, `.sig` and its payload blob, `.att` and its envelope
blob, the signatures checked). The keyless row verifies the recorded real Sigstore bundle of
tests/data/sigstore offline (chain, SCT, Rekor entry, policy) once per candidate, on top of
the image gate: what verifying a keyless signature costs, whatever registry layout holds it.
Figures are per candidate: the median round divided by the candidates.
`trust_rows(quick)` gives the rows for bench/run.py's table.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from run import row  # noqa: E402

REGISTRY_BIN = "/usr/bin/docker-registry"
DATA = HERE.parent / "tests" / "data" / "sigstore"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    cfg = root / "config.yml"
    cfg.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
    )
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    host = f"127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=1)
            return proc, host
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("docker-registry did not start")


def _put(url: str, data: bytes, media: str | None = None, method: str = "PUT") -> tuple[int, dict[str, str]]:
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": media} if media else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, dict(resp.headers)


def _blob(host: str, name: str, data: bytes) -> str:
    import hashlib

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _, headers = _put(f"http://{host}/v2/{name}/blobs/uploads/", b"", method="POST")
    location = headers["Location"]
    location = location if location.startswith("http") else f"http://{host}{location}"
    sep = "&" if "?" in location else "?"
    _put(f"{location}{sep}digest={digest}", data, "application/octet-stream")
    return digest


def _manifest(host: str, name: str, ref: str, layers: list[tuple[str, bytes, dict[str, str]]]) -> str:
    import hashlib

    config = json.dumps({"architecture": "amd64", "os": "linux", "n": secrets.token_hex(8)}).encode()
    doc = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _blob(host, name, config),
            "size": len(config),
        },
        "layers": [
            {"mediaType": m, "digest": _blob(host, name, d), "size": len(d), "annotations": a} for m, d, a in layers
        ],
    }
    body = json.dumps(doc).encode()
    _put(f"http://{host}/v2/{name}/manifests/{ref}", body, doc["mediaType"])
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _world(host: str, name: str, candidates: int) -> tuple[str, list[str]]:
    """`candidates` images, each signed and attested as cosign stores them; the key's PEM."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    shas = [secrets.token_hex(20) for _ in range(candidates)]
    for sha in shas:
        digest = _manifest(host, name, sha[:7], [("application/vnd.oci.image.layer.v1.tar+gzip", os.urandom(512), {})])
        image = f"{host}/{name}"
        payload = json.dumps(
            {
                "critical": {
                    "identity": {"docker-reference": image},
                    "image": {"docker-manifest-digest": digest},
                    "type": "cosign container image signature",
                },
                "optional": None,
            }
        ).encode()
        sig = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
        tag = digest.replace(":", "-")
        _manifest(
            host,
            name,
            tag + ".sig",
            [
                (
                    "application/vnd.dev.cosign.simplesigning.v1+json",
                    payload,
                    {"dev.cosignproject.cosign/signature": sig},
                )
            ],
        )
        statement = json.dumps(
            {
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": image, "digest": {"sha256": digest.partition(":")[2]}}],
                "predicateType": "https://slsa.dev/provenance/v1",
                "predicate": {
                    "buildDefinition": {
                        "resolvedDependencies": [
                            {"uri": "git+https://github.com/example/app@refs/heads/main", "digest": {"gitCommit": sha}}
                        ]
                    },
                    "runDetails": {"builder": {"id": "https://example.com/builder"}},
                },
            }
        ).encode()
        pae = b"DSSEv1 28 application/vnd.in-toto+json %d %s" % (len(statement), statement)
        envelope = json.dumps(
            {
                "payloadType": "application/vnd.in-toto+json",
                "payload": base64.b64encode(statement).decode(),
                "signatures": [{"sig": base64.b64encode(key.sign(pae, ec.ECDSA(hashes.SHA256()))).decode()}],
            }
        ).encode()
        _manifest(host, name, tag + ".att", [("application/vnd.dsse.envelope.v1+json", envelope, {})])
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode(), shas


class _Files:
    """The config repository's files, as `policy.trust` reads them: only the key here."""

    def __init__(self, pem: str) -> None:
        self.pem = pem

    def read(self, rel: str) -> str:
        return self.pem

    def inside(self, rel: str) -> Path:
        raise AssertionError(rel)


def _per_candidate(rounds: int, candidates: int, one_round: Callable[[], None]) -> float:
    one_round()  # warm up: imports, connections
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        one_round()
        times.append(time.perf_counter() - t)
    return statistics.median(times) / candidates


def trust_rows(quick: bool) -> list[list[str]]:
    candidates, rounds = (5, 3) if quick else (20, 7)
    if not os.access(REGISTRY_BIN, os.X_OK):
        print(f"trust: {REGISTRY_BIN} is missing (apt-get install docker-registry); rows skipped", file=sys.stderr)
        return []
    from promoter.model import Component, Trust
    from promoter.policy import trust
    from promoter.upstream.registry import Registry

    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="promoter-bench-trust-") as tmp:
        proc, host = _start(Path(tmp))
        try:
            name = "bench/app"
            pem, shas = _world(host, name, candidates)
            t = Trust(1, "https://github.com/example/app", key="k.pub", tlog="ignore", provenance=True)
            comp = Component("app", t.source, t.source, None, 7, (), 1, image=f"{host}/{name}", trust=t)
            files = _Files(pem)

            def image_gate() -> None:
                reg = Registry()
                for sha in shas:
                    assert reg.digest(comp.image or "", sha[:7]) is not None

            def trust_gate() -> None:
                reg = Registry()
                for sha in shas:
                    digest = reg.digest(comp.image or "", sha[:7])
                    assert digest is not None
                    trust.verify(comp, sha, digest, reg, files, "promotion.yaml")  # type: ignore[arg-type]

            base = _per_candidate(rounds, candidates, image_gate)
            gated = _per_candidate(rounds, candidates, trust_gate)
            mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            row(rows, f"trust gate (key, provenance, legacy tags), per candidate of {candidates}",
                gated, base, "image gate alone", mem)  # fmt: skip
            try:
                from promoter.policy import keyless
            except ImportError:  # pragma: no cover
                return rows
            identity = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
            kt = Trust(1, "https://github.com/trailofbits/rfc8785.py", identity=identity,
                       issuer="https://token.actions.githubusercontent.com")  # fmt: skip
            bundle = (DATA / "bundle_v3_github.whl.sigstore").read_bytes()
            wheel = (DATA / "bundle_v3_github.whl").read_bytes()
            try:
                import sigstore  # noqa: F401
            except ImportError:
                print(
                    "trust: the sigstore package is missing (promoter[sigstore]); keyless row skipped", file=sys.stderr
                )
                return rows

            def keyless_gate() -> None:
                reg = Registry()
                for sha in shas:
                    assert reg.digest(comp.image or "", sha[:7]) is not None
                    keyless.verify_artifact(kt, None, bundle, wheel)

            gated = _per_candidate(rounds, candidates, keyless_gate)
            mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            row(rows, f"keyless: a real Sigstore bundle verified offline, per candidate of {candidates}",
                gated, base, "image gate alone", mem)  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(5)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for r in trust_rows(args.quick):
        print(" | ".join(r))


if __name__ == "__main__":
    main()
