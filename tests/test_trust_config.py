"""`trust:` in promotion.yaml: what it takes, its errors at file:line, the key read inside the
repository only, and `cryptography` imported only when a component has `trust:`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promoter.errors import ConfigError, Refused
from promoter.model import Trust
from promoter.policy import trust
from tests.conftest import make_repo

HEAD = (
    "version: 1\ncomponents:\n  c:\n    repo: https://github.com/example/c\n    image: quay.io/example/c\n    trust:\n"
)
TAIL = "    targets:\n      - {name: t, file: a.env, env: TAG}\n"
SHA = "b" * 40

CASES = [
    ("no-signature", "      provenance: true\n", "promotion.yaml:6: component 'c': trust needs 'signature:'"),
    (
        "key-and-identity",
        "      signature: {key: k.pub, identity: x, issuer: https://i}\n      tlog: ignore\n",
        "promotion.yaml:7: component 'c': trust.signature is either 'key:' or keyless",
    ),
    (
        "neither",
        "      signature: {issuer: https://i}\n",
        "promotion.yaml:7: component 'c': trust.signature needs 'key:' (a PEM public key), or keyless",
    ),
    (
        "identity-without-issuer",
        "      signature: {identity: https://github.com/o/r/.github/workflows/b.yml@refs/heads/main}\n",
        "promotion.yaml:7: component 'c': trust.signature: a keyless identity needs its 'issuer:'",
    ),
    (
        "unanchored-regexp",
        "      signature: {identity_regexp: 'https://github.com/o/.*', issuer: https://i}\n",
        "promotion.yaml:7: component 'c': trust.signature.identity_regexp 'https://github.com/o/.*' must be anchored",
    ),
    (
        "tlog-key-while-ignoring-the-log",
        "      signature: {key: k.pub}\n      tlog: ignore\n      tlog_key: rekor.pub\n",
        "promotion.yaml:9: component 'c': trust.tlog_key is the Rekor key a key signature's log entry is checked "
        "with (key: and tlog: required only)",
    ),
    (
        "tlog-key-outside-the-repository",
        "      signature: {key: k.pub}\n      tlog_key: /etc/rekor.pub\n",
        "promotion.yaml:8: component 'c': trust.tlog_key '/etc/rekor.pub' must be relative to the repository root",
    ),
    (
        "keyless-ignoring-tlog",
        "      signature: {identity: x, issuer: https://i}\n      tlog: ignore\n",
        "promotion.yaml:8: component 'c': trust.tlog: ignore is for key mode only",
    ),
    (
        "key-outside-the-repository",
        "      signature: {key: ../k.pub}\n      tlog: ignore\n",
        "promotion.yaml:7: component 'c': trust.signature.key '../k.pub' points outside the repository",
    ),
    (
        "unknown-key",
        "      signature: {key: k.pub}\n      tlog: ignore\n      provenanse: true\n",
        "promotion.yaml:9: component 'c': trust: unknown key 'provenanse'; did you mean 'provenance'?",
    ),
    (
        "provenance-not-a-boolean",
        "      signature: {key: k.pub}\n      tlog: ignore\n      provenance: slsa\n",
        "promotion.yaml:9: component 'c': trust.provenance must be true or false",
    ),
]


@pytest.mark.parametrize(("body", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_trust_config_errors(body: str, message: str, tmp_path: Path, run: Any) -> None:
    repo = make_repo(tmp_path / "r", {"promotion.yaml": HEAD + body + TAIL, "a.env": "TAG=abc1234\n"})
    code, out, err = run("-C", repo, "status", "--offline")
    assert code == 2, err
    assert err.startswith(f"promoter: error: {repo / 'promotion.yaml'}:"), err
    assert message.split(":", 1)[1] in err, err


def test_trust_needs_the_image(tmp_path: Path, run: Any) -> None:
    config = (
        HEAD.replace("    image: quay.io/example/c\n", "")
        + "      signature: {key: k.pub}\n      tlog: ignore\n"
        + TAIL
    )
    repo = make_repo(tmp_path / "r", {"promotion.yaml": config, "a.env": "TAG=abc1234\n"})
    code, out, err = run("-C", repo, "status", "--offline")
    assert code == 2
    assert "promotion.yaml:5: component 'c': trust: verifies the component's image; give its 'image:'" in err


def _key_trust() -> Trust:
    return Trust(6, "https://github.com/example/c", key="keys/c.pub", key_line=7, tlog="ignore")


def test_a_key_that_is_no_pem_public_key_is_a_config_error_at_its_line() -> None:
    with pytest.raises(ConfigError) as err:
        trust.key_signer(_key_trust(), lambda rel: "-----BEGIN PRIVATE KEY-----\nxx\n", "promotion.yaml")
    assert str(err.value).startswith("promotion.yaml:7: trust.signature.key: keys/c.pub is no PEM public key")


def test_a_key_that_cannot_be_read_is_a_config_error_at_its_line() -> None:
    def read(rel: str) -> str:
        raise Refused(f"{rel}: no such file")

    with pytest.raises(ConfigError) as err:
        trust.key_signer(_key_trust(), read, "promotion.yaml")
    assert str(err.value) == "promotion.yaml:7: trust.signature.key: cannot read it: keys/c.pub: no such file"


def test_a_key_symlinked_out_of_the_repository_is_not_read(tmp_path: Path) -> None:
    from promoter.pipeline import core

    (tmp_path / "secret.pub").write_text("outside\n")
    repo = make_repo(
        tmp_path / "r",
        {
            "promotion.yaml": HEAD + "      signature: {key: keys/c.pub}\n      tlog: ignore\n" + TAIL,
            "a.env": "TAG=abc1234\n",
        },
    )
    (repo / "keys").mkdir()
    (repo / "keys" / "c.pub").symlink_to(tmp_path / "secret.pub")
    opened = core.open_repo(repo)
    comp = opened.config.components["c"]
    assert comp.trust is not None
    with pytest.raises(ConfigError) as err:
        trust.key_signer(comp.trust, opened.workspace.read, opened.config.path)
    assert "promotion.yaml:7: trust.signature.key: cannot read it" in str(err.value)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("git+https://github.com/Example/app@refs/heads/main", "https://github.com/Example/app"),
        ("git+https://GitHub.com/Example/app.git", "https://github.com/Example/app/"),
        ("https://github.com/example/app.git@refs/tags/v1", "https://github.com/example/app"),
    ],
)
def test_source_uris_of_one_repository_are_the_same(a: str, b: str) -> None:
    assert trust.source_key(a) == trust.source_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("git+https://github.com/example/app-fork@refs/heads/main", "https://github.com/example/app"),
        ("git+https://gitlab.com/example/app", "https://github.com/example/app"),
        ("git+https://github.com/example/app/sub", "https://github.com/example/app"),
    ],
)
def test_source_uris_of_other_repositories_differ(a: str, b: str) -> None:
    assert trust.source_key(a) != trust.source_key(b)


def test_cryptography_is_imported_only_with_trust(tmp_path: Path) -> None:
    """Start-up is measured (bench/): a component without `trust:` never imports cryptography, and
    neither does an offline status of one with it (nothing is verified there)."""
    plain = "version: 1\ncomponents:\n  c:\n    repo: https://github.com/example/c\n" + TAIL
    with_trust = HEAD + "      signature: {key: k.pub}\n      tlog: ignore\n" + TAIL
    for config in (plain, with_trust):
        repo = make_repo(tmp_path / str(len(config)), {"promotion.yaml": config, "a.env": "TAG=abc1234\n"})
        code = (
            "import sys\nfrom promoter.cli import main\n"
            f"status = main(['-C', {str(repo)!r}, 'status', '--offline'])\n"
            "print(status, [m for m in ('cryptography', 'sigstore') if m in sys.modules])\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert proc.stdout.splitlines()[-1] == "0 []", proc.stdout + proc.stderr


# -- check: production promoting an image nobody vouches for -------------------------------------------
LINT = (
    "version: 1\ncomponents:\n  c:\n    repo: https://github.com/example/c\n    image: quay.io/example/c\n{trust}"
    "    targets:\n"
    "      - {{name: stage, environment: staging, file: a.env, env: TAG}}\n"
    "      - {{name: prod, environment: app-sre-prod-01, file: b.env, env: TAG}}\n"
)


def test_check_notes_production_promoting_an_image_without_trust(tmp_path: Path, run: Any) -> None:
    import json

    repo = make_repo(
        tmp_path / "r", {"promotion.yaml": LINT.format(trust=""), "a.env": "TAG=abc1234\n", "b.env": "TAG=abc1234\n"}
    )
    code, out, err = run("-C", repo, "check")
    assert code == 0, err  # a note: shown, not failing
    assert out.splitlines()[0] == (
        "promotion.yaml:8: note: c: environment 'app-sre-prod-01' (production) promotes image quay.io/example/c, "
        "which has no trust:; nothing checks that it is signed, nor built from the commit promoted"
    )
    assert out.splitlines()[-1] == "ok: no problems; 1 note"
    assert "staging" not in out
    code, out, err = run("-C", repo, "check", "-o", "json")
    (problem,) = json.loads(out)["problems"]
    assert (problem["kind"], problem["level"], problem["environment"]) == (
        "untrusted-production",
        "note",
        "app-sre-prod-01",
    )


def test_check_says_nothing_of_a_production_image_with_trust(tmp_path: Path, run: Any) -> None:
    trusted = "    trust:\n      signature: {key: k.pub}\n      tlog: ignore\n"
    repo = make_repo(
        tmp_path / "r",
        {"promotion.yaml": LINT.format(trust=trusted), "a.env": "TAG=abc1234\n", "b.env": "TAG=abc1234\n"},
    )
    code, out, err = run("-C", repo, "check")
    assert (code, out) == (0, "ok: no problems\n")


@pytest.mark.parametrize(
    ("env", "production"),
    [("production", True), ("prod", True), ("app-sre-prod-01", True), ("PRD", True), ("us_prod", True),
     ("staging", False), ("products", False), ("integration", False), ("preprod", False)],
)  # fmt: skip
def test_environments_named_like_production(env: str, production: bool) -> None:
    from promoter.insight.lint import production_like

    assert production_like(env) is production


def test_check_base_says_a_change_of_trust_is_a_change_of_policy(tmp_path: Path, run: Any) -> None:
    """Removing (or loosening) `trust:` is a policy change: a note alone, a failure beside a promotion."""
    from tests.conftest import git

    trusted = HEAD + "      signature: {key: keys/c.pub}\n      provenance: true\n      tlog: ignore\n" + TAIL
    repo = make_repo(tmp_path / "r", {"promotion.yaml": trusted, "a.env": "TAG=abc1234\n"})
    git(repo, "switch", "-q", "-c", "loosen")
    (repo / "promotion.yaml").write_text(trusted.replace("      provenance: true\n", ""))
    git(repo, "commit", "-qam", "no provenance")
    code, out, err = run("-C", repo, "check", "--base", "main", "--offline")
    assert code == 0, out + err
    assert out.splitlines()[0] == (
        "promotion.yaml:6: note: c: policy change: trust (key keys/c.pub, provenance, tlog ignore, source "
        "https://github.com/example/c) -> (key keys/c.pub, tlog ignore, source https://github.com/example/c) "
        "(this change is judged by the policy at main)"
    )
    (repo / "a.env").write_text("TAG=def5678\n")
    git(repo, "commit", "-qam", "and a promotion")
    code, out, err = run("-C", repo, "check", "--base", "main", "--offline")
    assert code == 3, out + err
