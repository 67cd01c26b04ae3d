"""Byte-exactness: a promotion changes the pinned value's characters and nothing else.

1. A table of tricky inputs, each promoted end to end through the CLI on a real git repo; the
   edited file must equal the expected bytes exactly and no other file may change.
2. Refusals: exit 3, the exact reason, nothing written.
3. Properties (hypothesis): for generated YAML and dotenv files, promoting A -> B changes only
   the value's characters, and B -> A restores the original bytes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoter.model import Component, Config, EnvLocator, KeyLocator, Target
from promoter.pipeline import core
from promoter.pipeline.workspace import Workspace
from tests.conftest import make_repo, snapshot

URL = "https://github.com/app-sre/qontract-reconcile"
OTHER_URL = "https://github.com/app-sre/other-thing"
PAD = "0123456789abcdef" * 3


def full(prefix: str) -> str:
    """A full 40-hex sha starting with `prefix`."""
    return (prefix + PAD)[:40]


OLD = full("abc1234")  # the pinned value in the inputs
NEW = full("deadbee")  # the default promotion target
O7, N7 = OLD[:7], NEW[:7]
NUM40 = "1234567890" * 4  # all digits: plain YAML reads it (and its short form) as an integer

KEY = {"file": "a.yaml", "key": "tag"}
SAAS = {"file": "saas.yaml", "saas": {}}
ENV = {"file": ".env", "env": "IMAGE_TAG"}


def promotion_yaml(*targets: dict[str, object]) -> str:
    lines = ["version: 1", "components:", "  qr:", f"    repo: {URL}", "    targets:"]
    for i, t in enumerate(targets):
        t = {"name": "t" if i == 0 else f"t{i}", **t}
        first = True
        for k, v in t.items():
            lines.append(f"      {'- ' if first else '  '}{k}: {json.dumps(v)}")
            first = False
    return "\n".join(lines) + "\n"


# A file that pins the old value everywhere the targets could look: it must never change.
DECOY = {
    "decoy.yaml": f"tag: {O7}\nresourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {OLD}\n",
    "decoy.env": f"IMAGE_TAG={O7}\n",
}


def saas_file(*templates: str) -> str:
    return "$schema: /app-sre/saas-file-2.yml\nname: saas-qr\nresourceTemplates:\n" + "".join(templates)


def rt(name: str, url: str, *refs: str) -> str:
    targets = "".join(f"  - namespace:\n      $ref: /ns/{i}.yml\n    ref: {r}\n" for i, r in enumerate(refs))
    return f"- name: {name}\n  url: {url}\n  path: /openshift/{name}.yaml\n  targets:\n{targets}"


@dataclass(frozen=True)
class Case:
    id: str
    target: dict[str, object]
    before: str
    after: str
    sha: str = NEW
    extra_targets: tuple[dict[str, object], ...] = ()
    files: dict[str, str] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return str(self.target["file"])


def yaml_cases() -> list[Case]:
    k, s = KEY, SAAS
    return [
        # scalar styles
        Case("plain", k, f"tag: {O7}\n", f"tag: {N7}\n"),
        Case("single-quoted", k, f"tag: '{O7}'\n", f"tag: '{N7}'\n"),
        Case("double-quoted", k, f'tag: "{O7}"\n', f'tag: "{N7}"\n'),
        Case(
            "trailing-comment",
            k,
            f"image:\n  tag: {O7}  # bumped by ci\n  pull: Always\n",
            f"image:\n  tag: {N7}  # bumped by ci\n  pull: Always\n",
        ),
        Case("trailing-comment-quoted", k, f"tag: '{O7}' # keep me\n", f"tag: '{N7}' # keep me\n"),
        Case("comment-mentions-old-value", k, f"# was {O7}\ntag: {O7} # {O7}\n", f"# was {O7}\ntag: {N7} # {O7}\n"),
        # line endings, BOM, end of file
        Case(
            "crlf",
            k,
            f"# header\r\nimage:\r\n  name: quay.io/x\r\n  tag: {O7}\r\n  pull: Always\r\n",
            f"# header\r\nimage:\r\n  name: quay.io/x\r\n  tag: {N7}\r\n  pull: Always\r\n",
        ),
        Case(
            "crlf-quoted-comment", k, f'a: 1\r\ntag: "{O7}"  # c\r\nb: 2\r\n', f'a: 1\r\ntag: "{N7}"  # c\r\nb: 2\r\n'
        ),
        Case("bom", k, f"\ufeffimage:\n  tag: {O7}\n", f"\ufeffimage:\n  tag: {N7}\n"),
        Case("bom-crlf", k, f"\ufeffa: 1\r\ntag: {O7}\r\n", f"\ufeffa: 1\r\ntag: {N7}\r\n"),
        Case("bom-first-line", k, f"\ufefftag: {O7}\n", f"\ufefftag: {N7}\n"),
        Case("no-final-newline", k, f"a: 1\ntag: {O7}", f"a: 1\ntag: {N7}"),
        Case("no-final-newline-quoted", k, f"tag: '{O7}'", f"tag: '{N7}'"),
        Case("no-final-newline-crlf", k, f"a: 1\r\ntag: {O7}", f"a: 1\r\ntag: {N7}"),
        # non-ASCII before the value: offsets are code points, not bytes
        Case(
            "non-ascii-lines-before",
            k,
            f'title: Café für Ünïcode 🚀🎉 日本語のテキスト\ndescription: "naïve — ok 👍"\ntag: {O7}\n',
            f'title: Café für Ünïcode 🚀🎉 日本語のテキスト\ndescription: "naïve — ok 👍"\ntag: {N7}\n',
        ),
        Case(
            "non-ascii-same-line-flow",
            k,
            f"meta: {{note: 'é🚀字', tag: {O7}, after: 'ü'}}\n",
            f"meta: {{note: 'é🚀字', tag: {N7}, after: 'ü'}}\n",
        ),
        Case(
            "non-ascii-comment-and-key",
            k,
            f"# 注释 😀 ça\nclé: 値\ntag: {O7} # ✓ done 🎯\n",
            f"# 注释 😀 ça\nclé: 値\ntag: {N7} # ✓ done 🎯\n",
        ),
        Case(
            "non-ascii-bom-crlf",
            k,
            f"\ufeff# 😀😀😀\r\nnote: 日本\r\ntag: '{O7}'\r\n",
            f"\ufeff# 😀😀😀\r\nnote: 日本\r\ntag: '{N7}'\r\n",
        ),
        Case("trailing-spaces-crlf", k, f"tag: {O7}   \r\n", f"tag: {N7}   \r\n"),
        Case("mixed-line-endings", k, f"a: 1\r\ntag: {O7}\nb: 2\r\n", f"a: 1\r\ntag: {N7}\nb: 2\r\n"),
        Case("tab-separated", k, f"tag:\t{O7}\t# c\n", f"tag:\t{N7}\t# c\n"),
        Case("value-on-next-line", k, f"tag:\n  {O7}\nb: 1\n", f"tag:\n  {N7}\nb: 1\n"),
        Case("quoted-key", k, f"'tag': {O7}\n", f"'tag': {N7}\n"),
        Case("explicit-key", k, f"? tag\n: {O7}\n", f"? tag\n: {N7}\n"),
        Case("yaml-directive", k, f"%YAML 1.2\n---\ntag: {O7}\n", f"%YAML 1.2\n---\ntag: {N7}\n"),
        # non-ASCII that is not what it looks like in the file: escapes, block scalars, line separators
        Case(
            "non-ascii-escapes-before",
            k,
            f'a: "\\u00e9\\U0001F680 日本"\ntag: {O7}\n',
            f'a: "\\u00e9\\U0001F680 日本"\ntag: {N7}\n',
        ),
        Case(
            "non-ascii-block-scalar-before",
            k,
            f"a: |\n  é🚀\n  日本\nb: >\n  😀 folded\n\ntag: {O7}\n",
            f"a: |\n  é🚀\n  日本\nb: >\n  😀 folded\n\ntag: {N7}\n",
        ),
        Case(
            "non-ascii-line-separator-in-value",
            k,
            f"a: 'x\u2028y\x85z'\ntag: {O7}\n",
            f"a: 'x\u2028y\x85z'\ntag: {N7}\n",
        ),
        # documents and flow style
        Case(
            "multi-doc-second",
            k,
            f"name: first\n---\nname: second\ntag: {O7}\n",
            f"name: first\n---\nname: second\ntag: {N7}\n",
        ),
        Case(
            "multi-doc-explicit-end",
            k,
            f"---\nname: first\n...\n---\ntag: {O7}\n...\n",
            f"---\nname: first\n...\n---\ntag: {N7}\n...\n",
        ),
        Case("flow-mapping", k, f"image: {{name: quay.io/x, tag: {O7}}}\n", f"image: {{name: quay.io/x, tag: {N7}}}\n"),
        Case(
            "flow-sequence-of-mappings",
            k,
            f"images: [{{tag: {O7}}}, {{name: x}}, [a, b]]\n",
            f"images: [{{tag: {N7}}}, {{name: x}}, [a, b]]\n",
        ),
        Case(
            "flow-multiline",
            k,
            f'image: {{\n  name: x,\n  tag: "{O7}"\n}}\n',
            f'image: {{\n  name: x,\n  tag: "{N7}"\n}}\n',
        ),
        # key at several depths and in several documents
        Case(
            "key-several-depths",
            k,
            f"tag: {O7}\na:\n  tag: {O7}\n  b:\n    c:\n      tag: '{O7}'\n  list:\n  - tag: \"{O7}\"\n",
            f"tag: {N7}\na:\n  tag: {N7}\n  b:\n    c:\n      tag: '{N7}'\n  list:\n  - tag: \"{N7}\"\n",
        ),
        Case(
            "key-several-documents",
            k,
            f"tag: {O7}\n---\nnested:\n  deeper:\n    tag: {O7}\n---\n- tag: {O7}\n- other: {O7}\n",
            f"tag: {N7}\n---\nnested:\n  deeper:\n    tag: {N7}\n---\n- tag: {N7}\n- other: {O7}\n",
        ),
        Case(
            "key-similar-names-untouched",
            k,
            f"tag: {O7}\nold_tag: {O7}\ntags: [{O7}]\nmytag: {O7}\n",
            f"tag: {N7}\nold_tag: {O7}\ntags: [{O7}]\nmytag: {O7}\n",
        ),
        Case(
            "jjb-undefined-merge-anchor",
            {"file": "a.yaml", "key": "qontract_reconcile_image_tag"},
            f"- defaults:\n    name: global\n    <<: *local_defaults\n    qontract_reconcile_image_tag: {O7}\n",
            f"- defaults:\n    name: global\n    <<: *local_defaults\n    qontract_reconcile_image_tag: {N7}\n",
        ),
        Case(
            "jjb-merge-anchor-after-key",
            {"file": "a.yaml", "key": "qontract_reconcile_image_tag"},
            f"- job-template:\n    qontract_reconcile_image_tag: '{O7}'\n    <<: *undefined\n    name: x\n",
            f"- job-template:\n    qontract_reconcile_image_tag: '{N7}'\n    <<: *undefined\n    name: x\n",
        ),
        # saas files
        Case(
            "saas-two-templates-other-url-stays",
            s,
            saas_file(rt("qontract-reconcile", URL, "master", OLD), rt("other", OTHER_URL, OLD)),
            saas_file(rt("qontract-reconcile", URL, "master", NEW), rt("other", OTHER_URL, OLD)),
        ),
        Case(
            "saas-master-untouched",
            s,
            saas_file(rt("qr", URL, "master", OLD, "master", OLD)),
            saas_file(rt("qr", URL, "master", NEW, "master", NEW)),
        ),
        Case("saas-url-trailing-slash", s, saas_file(rt("qr", URL + "/", OLD)), saas_file(rt("qr", URL + "/", NEW))),
        Case("saas-url-dot-git", s, saas_file(rt("qr", URL + ".git", OLD)), saas_file(rt("qr", URL + ".git", NEW))),
        Case(
            "saas-resource-template-filter",
            {"file": "saas.yaml", "saas": {"resource_template": "qr-b"}},
            saas_file(rt("qr-a", URL, OLD), rt("qr-b", URL, "master", OLD), rt("qr-c", URL, OLD)),
            saas_file(rt("qr-a", URL, OLD), rt("qr-b", URL, "master", NEW), rt("qr-c", URL, OLD)),
        ),
        Case(
            "saas-flow-targets",
            s,
            f"resourceTemplates:\n- url: {URL}\n  targets: [{{namespace: {{$ref: /a.yml}}, ref: {OLD}}}, "
            "{namespace: {$ref: /b.yml}, ref: master}]\n",
            f"resourceTemplates:\n- url: {URL}\n  targets: [{{namespace: {{$ref: /a.yml}}, ref: {NEW}}}, "
            "{namespace: {$ref: /b.yml}, ref: master}]\n",
        ),
        Case(
            "saas-flow-ref",
            s,
            f"resourceTemplates:\n- url: {URL}\n  targets:\n  - {{ref: {OLD}}}\n  - {{ref: master}}\n",
            f"resourceTemplates:\n- url: {URL}\n  targets:\n  - {{ref: {NEW}}}\n  - {{ref: master}}\n",
        ),
        Case(
            "saas-quoted-ref-crlf",
            s,
            f"resourceTemplates:\r\n- url: '{URL}'\r\n  targets:\r\n  - ref: \"{OLD}\" # prod\r\n",
            f"resourceTemplates:\r\n- url: '{URL}'\r\n  targets:\r\n  - ref: \"{NEW}\" # prod\r\n",
        ),
        Case(
            "saas-second-document",
            s,
            f"name: a\n---\nresourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {OLD}\n",
            f"name: a\n---\nresourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {NEW}\n",
        ),
        Case(
            "saas-non-ascii-description",
            s,
            f"description: 部署 qontract — “prod” 🚀\nresourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {OLD}\n",
            f"description: 部署 qontract — “prod” 🚀\nresourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {NEW}\n",
        ),
    ]


def dotenv_cases() -> list[Case]:
    e = ENV
    return [
        Case("dotenv-plain", e, f"IMAGE_TAG={O7}\n", f"IMAGE_TAG={N7}\n"),
        Case("dotenv-export", e, f"export IMAGE_TAG={O7}\n", f"export IMAGE_TAG={N7}\n"),
        Case("dotenv-double-quoted", e, f'IMAGE_TAG="{O7}"\n', f'IMAGE_TAG="{N7}"\n'),
        Case("dotenv-single-quoted", e, f"IMAGE_TAG='{O7}'\n", f"IMAGE_TAG='{N7}'\n"),
        Case("dotenv-trailing-comment", e, f"IMAGE_TAG={O7} # pinned\n", f"IMAGE_TAG={N7} # pinned\n"),
        Case(
            "dotenv-quoted-trailing-comment",
            e,
            f'export IMAGE_TAG="{O7}"   # pinned\n',
            f'export IMAGE_TAG="{N7}"   # pinned\n',
        ),
        Case(
            "dotenv-commented-out-untouched",
            e,
            f"# export IMAGE_TAG=0000aaa\n#IMAGE_TAG={O7}\nexport IMAGE_TAG={O7}\n  # IMAGE_TAG={O7}\n",
            f"# export IMAGE_TAG=0000aaa\n#IMAGE_TAG={O7}\nexport IMAGE_TAG={N7}\n  # IMAGE_TAG={O7}\n",
        ),
        Case(
            "dotenv-similar-keys-untouched",
            e,
            f"IMAGE_TAG_OLD={O7}\nIMAGE_TAG={O7}\nMY_IMAGE_TAG={O7}\n",
            f"IMAGE_TAG_OLD={O7}\nIMAGE_TAG={N7}\nMY_IMAGE_TAG={O7}\n",
        ),
        Case("dotenv-crlf", e, f"A=1\r\nIMAGE_TAG={O7}\r\nB=2\r\n", f"A=1\r\nIMAGE_TAG={N7}\r\nB=2\r\n"),
        Case(
            "dotenv-crlf-quoted-comment",
            e,
            f"A=1\r\nexport IMAGE_TAG='{O7}' # c\r\n",
            f"A=1\r\nexport IMAGE_TAG='{N7}' # c\r\n",
        ),
        Case("dotenv-no-final-newline", e, f"A=1\nIMAGE_TAG={O7}", f"A=1\nIMAGE_TAG={N7}"),
        Case("dotenv-bom", e, f"\ufeffIMAGE_TAG={O7}\n", f"\ufeffIMAGE_TAG={N7}\n"),
        Case("dotenv-spaces-around-equals", e, f"  export  IMAGE_TAG = {O7}\n", f"  export  IMAGE_TAG = {N7}\n"),
        Case("dotenv-crlf-double-quoted-no-final-newline", e, f'A=1\r\nIMAGE_TAG="{O7}"', f'A=1\r\nIMAGE_TAG="{N7}"'),
        Case("dotenv-tab-comment", e, f"IMAGE_TAG={O7}\t# c\n", f"IMAGE_TAG={N7}\t# c\n"),
        Case(
            "dotenv-non-ascii-before",
            e,
            f"# 日本語 🚀 café\nGREETING='héllo 👋'\nIMAGE_TAG={O7}\n",
            f"# 日本語 🚀 café\nGREETING='héllo 👋'\nIMAGE_TAG={N7}\n",
        ),
    ]


def regex_cases() -> list[Case]:
    pattern = r"qontract-reconcile:(?P<version>[0-9a-f]{7})\b"
    return [
        Case(
            "regex-plain-text",
            {"file": "Dockerfile", "regex": pattern, "format": "short"},
            f"FROM quay.io/app-sre/qontract-reconcile:{O7}\nRUN echo ok # qontract-reconcile:{O7}x\n",
            f"FROM quay.io/app-sre/qontract-reconcile:{N7}\nRUN echo ok # qontract-reconcile:{O7}x\n",
        ),
        Case(
            "regex-yaml-comment-line",
            {"file": "a.yaml", "regex": pattern, "format": "short"},
            f"# image: quay.io/app-sre/qontract-reconcile:{O7}\nname: x # 😀\n",
            f"# image: quay.io/app-sre/qontract-reconcile:{N7}\nname: x # 😀\n",
        ),
        Case(
            "regex-sha-non-ascii-crlf",
            {"file": "notes.txt", "regex": r"commit (?P<version>[0-9a-f]{40})", "format": "sha"},
            f"été 🚀 日本\r\ncommit {OLD}\r\nend",
            f"été 🚀 日本\r\ncommit {NEW}\r\nend",
        ),
    ]


def quoting_cases() -> list[Case]:
    k = KEY
    return [
        Case("quote-int", k, f"tag: {O7}\n", "tag: '1234567'\n", sha=full("1234567")),
        Case("quote-octal-like", k, f"tag: {O7}\n", "tag: '0123456'\n", sha=full("0123456")),
        Case("quote-yaml12-float", k, f"tag: {O7}\n", "tag: '12e4567'\n", sha=full("12e4567")),
        Case("quote-yaml11-binary", k, f"tag: {O7}\n", "tag: '0b10101'\n", sha=full("0b10101")),
        Case("quote-comment-kept", k, f"tag: {O7} # c\n", "tag: '1234567' # c\n", sha=full("1234567")),
        Case(
            "quote-double-prevailing",
            k,
            f'name: "x"\nimage: "quay.io/y"\ntag: {O7}\n',
            'name: "x"\nimage: "quay.io/y"\ntag: "1234567"\n',
            sha=full("1234567"),
        ),
        Case(
            "quote-single-prevailing",
            k,
            f"name: 'x'\nimage: \"y\"\nother: 'z'\ntag: {O7}\n",
            "name: 'x'\nimage: \"y\"\nother: 'z'\ntag: '1234567'\n",
            sha=full("1234567"),
        ),
        Case("quote-already-single", k, f"tag: '{O7}'\n", "tag: '1234567'\n", sha=full("1234567")),
        Case(
            "quote-already-double-in-single-file",
            k,
            f"a: 'x'\nb: 'y'\ntag: \"{O7}\"\n",
            "a: 'x'\nb: 'y'\ntag: \"1234567\"\n",
            sha=full("1234567"),
        ),
        Case("quote-kept-when-back-to-hex", k, "tag: '1234567'\n", f"tag: '{N7}'\n", sha=NEW),
        Case("quote-in-flow", k, f"image: {{tag: {O7}}}\n", "image: {tag: '1234567'}\n", sha=full("1234567")),
        Case("quote-crlf-no-final-newline", k, f"a: 1\r\ntag: {O7}", "a: 1\r\ntag: '0123456'", sha=full("0123456")),
        Case(
            "quote-saas-all-digit-sha",
            SAAS,
            f"resourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {OLD}\n",
            f"resourceTemplates:\n- url: {URL}\n  targets:\n  - ref: '{NUM40}'\n",
            sha=NUM40,
        ),
        Case("quote-never-in-dotenv", ENV, f"IMAGE_TAG={O7}\n", "IMAGE_TAG=1234567\n", sha=full("1234567")),
        Case(
            "quote-never-in-dotenv-float",
            ENV,
            f"export IMAGE_TAG={O7}\n",
            "export IMAGE_TAG=12e4567\n",
            sha=full("12e4567"),
        ),
    ]


def multi_target_cases() -> list[Case]:
    return [
        Case(
            "two-targets-one-file-sha-and-short",
            KEY,
            f"tag: {O7}\nresourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {OLD}\n",
            f"tag: {N7}\nresourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {NEW}\n",
            extra_targets=({"file": "a.yaml", "saas": {}},),
        ),
        Case(
            "optional-target-without-value-is-a-warning",
            KEY,
            f"tag: {O7}\n",
            f"tag: {N7}\n",
            extra_targets=({"file": "saas.yaml", "saas": {}, "optional": True},),
            files={"saas.yaml": saas_file(rt("qr", URL, "master"))},
        ),
    ]


CASES = yaml_cases() + dotenv_cases() + regex_cases() + quoting_cases() + multi_target_cases()


def _promote(tmp_path: Path, run: Callable[..., tuple[int, str, str]], case: Case) -> tuple[Path, dict[str, bytes]]:
    files: dict[str, str | bytes] = {
        "promotion.yaml": promotion_yaml(case.target, *case.extra_targets),
        **DECOY,
        **case.files,
        case.file: case.before,
    }
    repo = make_repo(tmp_path / "repo", files)
    before = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "qr", case.sha, "--offline", "--yes")
    assert code == 0, (out, err)
    return repo, before


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_promotion_is_byte_exact(case: Case, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo, before = _promote(tmp_path, run, case)
    after = snapshot(repo)
    assert after[case.file] == case.after.encode("utf-8")
    assert {f: b for f, b in after.items() if f != case.file} == {f: b for f, b in before.items() if f != case.file}
    # promoting again is a no-op that says so
    code, out, _ = run("-C", repo, "promote", "qr", case.sha, "--offline", "--yes")
    assert code == 0
    assert f"already at {case.sha[:7]}" in out
    assert snapshot(repo) == after


def test_optional_target_warns(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    case = next(c for c in CASES if c.id == "optional-target-without-value-is-a-warning")
    files: dict[str, str | bytes] = {
        "promotion.yaml": promotion_yaml(case.target, *case.extra_targets),
        **case.files,
        case.file: case.before,
    }
    repo = make_repo(tmp_path / "repo", files)
    code, _, err = run("-C", repo, "promote", "qr", case.sha, "--offline", "--yes")
    assert code == 0
    assert "warning: saas.yaml: target 't1' (saas) located no pinned 40-hex sha; found only 'master'" in err
    assert (repo / "a.yaml").read_bytes() == case.after.encode()


@pytest.mark.parametrize(
    "target,before",
    [
        pytest.param(KEY, f"tag: {N7}\n", id="key-plain"),
        pytest.param(KEY, f"\ufefftag: '{N7}'\r\n", id="key-quoted-bom-crlf"),
        pytest.param(ENV, f"export IMAGE_TAG={N7}", id="dotenv"),
        pytest.param(SAAS, saas_file(rt("qr", URL, "master", NEW)), id="saas"),
    ],
)
def test_already_at_target_version(target: dict[str, object], before: str, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "repo", {"promotion.yaml": promotion_yaml(target), str(target["file"]): before})
    snap = snapshot(repo)
    code, out, err = run("-C", repo, "promote", "qr", NEW, "--offline", "--yes")
    assert (code, err) == (0, "note: --offline: upstream, dependency and image checks skipped\n")
    assert f"qr: every selected target is already at {N7}; nothing to change" in out
    assert snapshot(repo) == snap
    code, out, _ = run("-C", repo, "plan", "qr", NEW, "--offline", "--detailed-exitcode")
    assert code == 0
    assert "already at" in out
    assert snapshot(repo) == snap


# --- path locator (locate/jsonpath.py is written separately) ---------------------------------

PATH_CASES = [
    Case(
        "path-nested",
        {"file": "a.yaml", "path": "$.image.ref"},
        f"image:\n  name: x # é🚀\n  ref: {OLD}\nref: {OLD}\n",
        f"image:\n  name: x # é🚀\n  ref: {NEW}\nref: {OLD}\n",
    ),
    Case(
        "path-index",
        {"file": "a.yaml", "path": "$.targets[1].ref"},
        f"targets:\n- ref: {OLD}\n- ref: '{OLD}'\n",
        f"targets:\n- ref: {OLD}\n- ref: '{NEW}'\n",
    ),
    Case(
        "path-short-quoting",
        {"file": "a.yaml", "path": "$.image.tag", "format": "short"},
        f"image:\r\n  tag: {O7}\r\n",
        "image:\r\n  tag: '1234567'\r\n",
        sha=full("1234567"),
    ),
]


@pytest.mark.parametrize("case", PATH_CASES, ids=[c.id for c in PATH_CASES])
def test_path_promotion_is_byte_exact(case: Case, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("promoter.locate.jsonpath")
    test_promotion_is_byte_exact(case, tmp_path, run)


# --- refusals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    id: str
    targets: tuple[dict[str, object], ...]
    files: dict[str, str]
    message: str
    sha: str = NEW


REFUSALS = [
    Refusal(
        "anchor",
        (KEY,),
        {"a.yaml": f"tag: &t {O7}\nother: *t\n"},
        "a.yaml:1: target 't': the value of 'tag' carries the anchor &t; editing it would change every alias of it",
    ),
    Refusal(
        "alias",
        (KEY,),
        {"a.yaml": f"base: &t {O7}\ntag: *t\n"},
        "a.yaml:2: target 't': the value of 'tag' is the alias *t (anchored at line 1)",
    ),
    Refusal(
        "alias-undefined",
        (KEY,),
        {"a.yaml": "tag: *elsewhere\n"},
        "the value of 'tag' is the alias *elsewhere (defined in another file)",
    ),
    Refusal(
        "duplicate-key",
        (KEY,),
        {"a.yaml": f"tag: {O7}\nname: x\ntag: {O7}\n"},
        "a.yaml:3: target 't': key 'tag' appears twice in one mapping (lines 1 and 3)",
    ),
    Refusal(
        "duplicate-key-nested",
        (KEY,),
        {"a.yaml": f"a: 1\nimage:\n  tag: {O7}\n  tag: {N7}\n"},
        "key 'tag' appears twice in one mapping (lines 3 and 4)",
    ),
    Refusal(
        "block-literal",
        (KEY,),
        {"a.yaml": f"tag: |\n  {O7}\n"},
        "a.yaml:1: target 't': the value of 'tag' is not written verbatim on one line (escaped or block scalar)",
    ),
    Refusal(
        "block-folded-strip",
        (KEY,),
        {"a.yaml": f"tag: >-\n  {O7}\n"},
        "the value of 'tag' is not written verbatim on one line (escaped or block scalar)",
    ),
    Refusal(
        "escaped-double-quoted",
        (KEY,),
        {"a.yaml": 'tag: "abc\\x31234"\n'},
        "the value of 'tag' is not written verbatim on one line (escaped or block scalar)",
    ),
    Refusal(
        "saas-only-master",
        (SAAS,),
        {"saas.yaml": saas_file(rt("qr", URL, "master"))},
        "saas.yaml: target 't' (saas) located no pinned 40-hex sha; found only 'master'",
    ),
    Refusal(
        "saas-no-matching-url",
        (SAAS,),
        {"saas.yaml": saas_file(rt("other", OTHER_URL, OLD))},
        "saas.yaml: target 't' (saas) located no pinned 40-hex sha",
    ),
    Refusal(
        "saas-anchor-ref",
        (SAAS,),
        {"saas.yaml": f"resourceTemplates:\n- url: {URL}\n  targets:\n  - ref: &prod {OLD}\n"},
        "saas.yaml:4: target 't': ref carries the anchor &prod",
    ),
    Refusal(
        "saas-duplicate-ref",
        (SAAS,),
        {"saas.yaml": f"resourceTemplates:\n- url: {URL}\n  targets:\n  - ref: {OLD}\n    ref: master\n"},
        "key 'ref' appears twice in one mapping (lines 4 and 5)",
    ),
    Refusal(
        "key-not-pinned",
        (KEY,),
        {"a.yaml": "tag: latest\n"},
        "a.yaml: target 't' (key tag) located no pinned 7-hex short sha; found only 'latest'",
    ),
    Refusal(
        "key-absent", (KEY,), {"a.yaml": "name: x\n"}, "a.yaml: target 't' (key tag) located no pinned 7-hex short sha"
    ),
    Refusal(
        "dotenv-commented-only",
        (ENV,),
        {".env": f"# IMAGE_TAG={O7}\n"},
        ".env: target 't' (env IMAGE_TAG) located no pinned 7-hex short sha",
    ),
    Refusal(
        "dotenv-unreadable-value",
        (ENV,),
        {".env": f"IMAGE_TAG={O7} extra\n"},
        ".env:1: target 't': cannot read the value of IMAGE_TAG",
    ),
    # one bad target refuses the whole promotion: the good target's file is not written either
    Refusal(
        "one-bad-target-writes-nothing",
        (KEY, {"file": "b.yaml", "key": "tag"}),
        {"a.yaml": f"tag: {O7}\n", "b.yaml": f"tag: &x {O7}\n"},
        "b.yaml:1: target 't1': the value of 'tag' carries the anchor &x",
    ),
    Refusal("missing-file", (KEY,), {}, "a.yaml: target 't': no such file"),
    # a regex edit of a plain YAML scalar gets no quotes: the re-read check must catch the type change
    Refusal(
        "regex-yaml-value-would-become-int",
        ({"file": "a.yaml", "regex": r"tag: (?P<version>[0-9a-f]{7})", "format": "short"},),
        {"a.yaml": f"tag: {O7}\n"},
        "a.yaml: after the edit, target 't' does not read 1234567 everywhere (YAML would read 1234567 unquoted",
        sha=full("1234567"),
    ),
    # `#` not preceded by blank space does not start a comment in sh or docker compose: the value
    # is `abc1234#x`, which is not a pinned short sha, so promoter must not rewrite its first 7 chars
    Refusal(
        "dotenv-hash-without-space-is-not-a-comment",
        (ENV,),
        {".env": f"IMAGE_TAG={O7}#x\n"},
        ".env:1: target 't': cannot read the value of IMAGE_TAG",
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[r.id for r in REFUSALS])
def test_refusal(case: Refusal, tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "repo", {"promotion.yaml": promotion_yaml(*case.targets), **DECOY, **case.files})
    snap = snapshot(repo)
    for argv in (("promote", "qr", case.sha, "--offline", "--yes"), ("plan", "qr", case.sha, "--offline")):
        code, _, err = run("-C", repo, *argv)
        assert code == 3, err
        assert case.message in err
        assert snapshot(repo) == snap


def test_optional_refusal_only_for_missing_value(tmp_path: Path, run) -> None:  # type: ignore[no-untyped-def]
    """`optional: true` turns "no pinned value" into a warning, but not an unsafe value."""
    files = {"a.yaml": f"tag: &t {O7}\n"}
    repo = make_repo(tmp_path / "repo", {"promotion.yaml": promotion_yaml({**KEY, "optional": True}), **files})
    snap = snapshot(repo)
    code, _, err = run("-C", repo, "promote", "qr", NEW, "--offline", "--yes")
    assert code == 3
    assert "carries the anchor &t" in err
    assert snapshot(repo) == snap


# --- properties ------------------------------------------------------------------------------

SENTINEL = "\x00"  # where the pinned value goes; never generated otherwise
KEYS = ["name", "image", "spec", "labels", "owner", "note", "ref", "version", "tags", "描述", "clé", "x_y"]
TEXT = st.text(alphabet="abcxyzABC 0129éüß日本語中文🚀👍—", min_size=1, max_size=10)
HEX = "0123456789abcdef"


def _is_yaml_string(short: str) -> bool:
    """Independent of promoter's own rule: a short sha plain YAML (1.1 or 1.2) reads as a string."""
    import re

    return (
        any(c in "abcdef" for c in short)
        and not re.fullmatch(r"[0-9]+[eE][0-9]+", short)
        and not re.fullmatch(r"0b[01]+", short)
    )


SHORT = st.text(alphabet=HEX, min_size=7, max_size=7).filter(_is_yaml_string)
PADDING = st.text(alphabet=HEX, min_size=33, max_size=33)


@st.composite
def two_shas(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(SHORT)
    b = draw(SHORT.filter(lambda s: s != a))
    return a + draw(PADDING), b + draw(PADDING)


def _scalar(draw: st.DrawFn) -> str:
    text = draw(TEXT)
    style = draw(st.sampled_from(["plain", "single", "double"]))
    if style == "plain":
        return text.strip() or "x"
    return f"'{text}'" if style == "single" else f'"{text}"'


def _quoted(draw: st.DrawFn, value: str) -> str:
    q = draw(st.sampled_from(["", "'", '"']))
    return f"{q}{value}{q}"


@st.composite
def yaml_file(draw: st.DrawFn) -> str:
    """A YAML file holding `tag: <SENTINEL>` once, somewhere at depth 1-3."""
    tag_depth = draw(st.integers(1, 3))

    def tag_line(indent: str) -> str:
        comment = draw(st.sampled_from(["", "  # pinned", " # 😀 é"]))
        if draw(st.booleans()):
            return f"{indent}tag: {_quoted(draw, SENTINEL)}{comment}"
        return f"{indent}meta: {{a: {_scalar(draw)}, tag: {_quoted(draw, SENTINEL)}, b: {_scalar(draw)}}}{comment}"

    def mapping(level: int, holds_tag: bool) -> list[str]:
        indent = "  " * (level - 1)
        n = draw(st.integers(0 if holds_tag else 1, 3))
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=n + 1, max_size=n + 1, unique=True))
        kinds = ["scalar", "scalar", "comment", "blank", "flowmap", "flowseq"] + (["nested"] if level < 3 else [])
        lines: list[str] = []
        special = draw(st.integers(0, n)) if holds_tag else -1
        for i in range(n + 1):
            if i == special:
                if level == tag_depth:
                    lines.append(tag_line(indent))
                else:
                    lines.append(f"{indent}{keys[i]}:")
                    lines += mapping(level + 1, True)
                continue
            if i == n:
                break
            kind = draw(st.sampled_from(kinds))
            key = keys[i]
            if kind == "scalar":
                comment = draw(st.sampled_from(["", " # note", "  # ünï 🚀"]))
                lines.append(f"{indent}{key}: {_scalar(draw)}{comment}")
            elif kind == "comment":
                lines.append(f"{draw(st.sampled_from(['', indent]))}# {draw(TEXT)}")
            elif kind == "blank":
                lines.append("")
            elif kind == "flowmap":
                lines.append(f"{indent}{key}: {{a: {_scalar(draw)}, b: {_scalar(draw)}}}")
            elif kind == "flowseq":
                lines.append(f"{indent}{key}: [{_scalar(draw)}, {_scalar(draw)}]")
            else:
                lines.append(f"{indent}{key}:")
                lines += mapping(level + 1, False)
        if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            lines.append(f"{indent}{keys[-1]}_: {_scalar(draw)}")  # a mapping needs at least one key
        return lines

    lines = mapping(1, True)
    head: list[str] = []
    if draw(st.booleans()):
        head.append(f"# {draw(TEXT)}")
    if draw(st.booleans()):  # a document before the one with the value
        head += [f"first: {_scalar(draw)}", "---"]
    elif draw(st.booleans()):
        head.append("---")
    return _layout(draw, head + lines)


def _layout(draw: st.DrawFn, lines: list[str]) -> str:
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    text = nl.join(lines) + (nl if draw(st.booleans()) else "")
    return ("\ufeff" if draw(st.booleans()) else "") + text


@st.composite
def dotenv_file(draw: st.DrawFn) -> str:
    """A dotenv file assigning IMAGE_TAG = <SENTINEL> once, among other lines."""
    bare = st.text(alphabet="abcXYZ019_-./:éü日本🚀", min_size=0, max_size=10)

    def assignment(key: str, value: str) -> str:
        export = draw(st.sampled_from(["", "export "]))
        q = draw(st.sampled_from(["", "'", '"']))
        comment = draw(st.sampled_from(["", " # c", "   # é 🚀"]))
        return f"{export}{key}={q}{value}{q}{comment}"

    others = draw(st.lists(st.sampled_from(["assign", "comment", "commented-out", "blank"]), max_size=6))
    lines: list[str] = []
    for kind in others:
        if kind == "assign":
            lines.append(assignment(draw(st.sampled_from(["A", "IMAGE", "IMAGE_TAG_OLD", "MY_IMAGE_TAG"])), draw(bare)))
        elif kind == "comment":
            lines.append(f"# {draw(TEXT)}")
        elif kind == "commented-out":
            lines.append("#" + draw(st.sampled_from(["", " "])) + assignment("IMAGE_TAG", draw(SHORT)))
        else:
            lines.append("")
    lines.insert(draw(st.integers(0, len(lines))), assignment("IMAGE_TAG", SENTINEL))
    return _layout(draw, lines)


def _library_promoter(target: Target) -> Callable[[str, str], str]:
    """Promote one file's text with promoter's core (locate, plan, verify), without git or the CLI."""
    comp = Component("qr", URL, URL, None, 7, (target,), 1)
    root = Path(tempfile.mkdtemp(prefix="exactness-"))
    cfg = Config(str(root / "promotion.yaml"), str(root), {"qr": comp})
    assert target.file is not None
    path = root / target.file

    def promote(text: str, sha: str) -> str:
        path.write_bytes(text.encode("utf-8"))
        repo = core.Repo(root, root, cfg, Workspace(root))
        p = core.plan(repo, comp, sha, [target])
        assert p.targets[0].locations == 1
        if p.empty:
            return text
        # the plan's verified new text is what apply writes (the CLI cases above cover apply itself;
        # its fsyncs would dominate the run time here)
        (change,) = p.changes
        assert change.old_text == text
        return change.new_text

    promote.root = root  # type: ignore[attr-defined]
    return promote


def _check_round_trip(promote: Callable[[str, str], str], template: str, shas: tuple[str, str]) -> None:
    a, b = shas
    a7, b7 = a[:7], b[:7]
    original = template.replace(SENTINEL, a7)
    offset = template.index(SENTINEL)
    assert template.count(SENTINEL) == 1
    promoted = promote(original, b)
    assert promoted.encode("utf-8") == (original[:offset] + b7 + original[offset + 7 :]).encode("utf-8")
    assert promote(promoted, a).encode("utf-8") == original.encode("utf-8")


YAML_TARGET = Target("t", "t", "a.yaml", None, KeyLocator("tag"), "short", False, 1)
ENV_TARGET = Target("t", "t", ".env", None, EnvLocator("IMAGE_TAG"), "short", False, 1)


@pytest.fixture(scope="module")
def yaml_promoter() -> Iterator[Callable[[str, str], str]]:
    promote = _library_promoter(YAML_TARGET)
    yield promote
    shutil.rmtree(promote.root)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def dotenv_promoter() -> Iterator[Callable[[str, str], str]]:
    promote = _library_promoter(ENV_TARGET)
    yield promote
    shutil.rmtree(promote.root)  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(template=yaml_file(), shas=two_shas())
def test_yaml_round_trip_is_byte_exact(
    yaml_promoter: Callable[[str, str], str], template: str, shas: tuple[str, str]
) -> None:
    _check_round_trip(yaml_promoter, template, shas)


@settings(max_examples=200, deadline=None)
@given(template=dotenv_file(), shas=two_shas())
def test_dotenv_round_trip_is_byte_exact(
    dotenv_promoter: Callable[[str, str], str], template: str, shas: tuple[str, str]
) -> None:
    _check_round_trip(dotenv_promoter, template, shas)


def test_dotenv_reads_assignments_where_sh_starts_a_command() -> None:
    """`source .env` grammar: a KEY= line inside another value's multi-line quotes, after a
    backslash-newline or in a heredoc's body is text, not a pin; a quote never closed is refused."""
    from promoter.locate import dotenv
    from promoter.locate.base import LocateError

    text = (
        'MSG="line one\nTAG=1234567\nend"\n'
        "TAG=abcdef0\n"
        "cat <<EOF\nTAG=7654321\nEOF\n"
        "X='a\nTAG=1111111'\n"
        "Y=1 \\\nTAG=2222222\n"
        "# a comment with a quote ' in it\n"
        'export TAG="bbbbbbb" # ok\n'
        "cat <<-'END'\n\tTAG=3333333\n\tEND\n"
        "TAG=ccccccc\n"
    )
    assert [(f.line, f.value) for f in dotenv.find(text, "TAG")] == [(4, "abcdef0"), (13, "bbbbbbb"), (17, "ccccccc")]
    with pytest.raises(LocateError) as caught:
        dotenv.find('A="open\nTAG=1234567\n', "TAG")
    assert caught.value.line == 1 and "never closed" in caught.value.message
