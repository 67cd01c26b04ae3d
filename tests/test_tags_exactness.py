"""Byte-exactness for release tags (the patterns of tests/test_exactness.py): a promotion from one
release to another changes the tag's characters and nothing else, through every pattern a
target may write a version with; quotes, comments and YAML 1.2 typing kept.

1. A table of tricky inputs, each planned with promoter's core (locate, plan, verify by
   re-reading); the new text must equal the expected bytes exactly.
2. Properties (hypothesis): for generated YAML and dotenv files pinning a release through a
   pattern, promoting A -> B changes only the value's characters, and B -> A restores the
   original bytes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoter.errors import Refused
from promoter.model import Component, Config, EnvLocator, KeyLocator, Locator, PathLocator, RegexLocator, Release
from promoter.model import Target as T
from promoter.pipeline import core
from promoter.pipeline.edit import plain_reads_as_string
from promoter.pipeline.workspace import Workspace
from tests.test_exactness import dotenv_file, yaml_file

URL = "https://github.com/org/app"
SHA = "f" * 40  # the release's commit: the plan writes the tag, never the sha


def release(version: str) -> Release:
    return Release(f"v{version}", version, SHA)


def target(locator: Locator, file: str = "a.yaml", pattern: str | None = None) -> T:
    return T("t", "t", file, None, locator, "tag", False, 1, pattern)


def promoter(t: T) -> Callable[[str, Release], str]:
    """Plan one file's text with promoter's core (locate, plan, verify), without git or the CLI."""
    comp = Component("app", URL, URL, None, 7, (t,), 1)
    root = Path(tempfile.mkdtemp(prefix="tags-exactness-"))
    cfg = Config(str(root / "promotion.yaml"), str(root), {"app": comp})
    assert t.file is not None
    path = root / t.file

    def promote(text: str, to: Release) -> str:
        path.write_bytes(text.encode("utf-8"))
        p = core.plan(core.Repo(root, root, cfg, Workspace(root)), comp, to.sha, [t], release=to)
        if p.empty:
            return text
        (ch,) = p.changes
        assert ch.old_text == text
        return ch.new_text

    promote.root = root  # type: ignore[attr-defined]
    return promote


@dataclass(frozen=True)
class Case:
    id: str
    target: T
    before: str
    after: str
    to: str = "1.10.0"


KEY = target(KeyLocator("tag"))
NEW_TAG = target(PathLocator("$.images[?(@.name == 'app')].newTag"), pattern="{semver}")
CASES = [
    Case("plain", KEY, "tag: v1.4.2\n", "tag: v1.10.0\n"),
    Case("single-quoted", KEY, "tag: 'v1.4.2'\n", "tag: 'v1.10.0'\n"),
    Case("double-quoted", KEY, 'tag: "v1.4.2"\n', 'tag: "v1.10.0"\n'),
    Case("comment", KEY, "tag: v1.4.2  # the release\n", "tag: v1.10.0  # the release\n"),
    Case("flow", KEY, "image: {repository: q.io/app, tag: v1.4.2}\n", "image: {repository: q.io/app, tag: v1.10.0}\n"),
    Case("crlf-no-final-newline", KEY, "a: 1\r\ntag: v1.4.2", "a: 1\r\ntag: v1.10.0"),
    Case("bom", KEY, "\ufefftag: v1.4.2\n", "\ufefftag: v1.10.0\n"),
    Case("two-documents", KEY, "tag: v1.4.2\n---\ntag: v1.4.2 # too\n", "tag: v1.10.0\n---\ntag: v1.10.0 # too\n"),
    Case("pre-release-and-build", KEY, "tag: v1.4.2\n", "tag: v2.0.0-rc.1+build.7\n", to="2.0.0-rc.1+build.7"),
    Case("back-from-pre-release", KEY, "tag: v2.0.0-rc.1\n", "tag: v2.0.0\n", to="2.0.0"),
    Case(
        "kustomize-semver-pattern-beside-another-image",
        NEW_TAG,
        "images:\n  - name: app\n    newTag: 1.4.2\n  - name: nginx\n    newTag: 1.25.3\n",
        "images:\n  - name: app\n    newTag: 1.10.0\n  - name: nginx\n    newTag: 1.25.3\n",
    ),
    Case(
        "suffix-pattern",
        target(KeyLocator("tag"), pattern="{semver}-alpine"),
        "tag: '1.4.2-alpine'\n",
        "tag: '1.10.0-alpine'\n",
    ),
    Case(
        "regex-pattern-keeps-the-rest-of-the-value",
        target(KeyLocator("version"), pattern=r"app-(?P<version>[0-9][^_]*)_linux-amd64"),
        "version: app-1.4.2_linux-amd64\n",
        "version: app-1.10.0_linux-amd64\n",
    ),
    Case("dotenv", target(EnvLocator("V"), ".env"), "export V=v1.4.2 # c\n", "export V=v1.10.0 # c\n"),
    Case(
        "dotenv-quoted",
        target(EnvLocator("APP_VERSION"), ".env", "{semver}"),
        "APP_VERSION='1.4.2'\n",
        "APP_VERSION='1.10.0'\n",
    ),
    Case(
        "regex-in-a-helm-template",
        target(RegexLocator(r"appVersion: (?P<version>\S+)"), "Chart.yaml.tpl", "{semver}"),
        "appVersion: 1.4.2\nversion: {{ .Values.v }}\n",
        "appVersion: 1.10.0\nversion: {{ .Values.v }}\n",
    ),
    Case(
        "argo-target-revision",
        target(KeyLocator("targetRevision")),
        "spec:\n  source:\n    repoURL: https://github.com/org/app.git\n    targetRevision: v1.4.2\n",
        "spec:\n  source:\n    repoURL: https://github.com/org/app.git\n    targetRevision: v1.10.0\n",
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_tag_promotion_is_byte_exact(case: Case) -> None:
    promote = promoter(case.target)
    try:
        assert promote(case.before, release(case.to)) == case.after
        assert promote(case.after, release(case.to)) == case.after  # already there: nothing changes
    finally:
        shutil.rmtree(promote.root)  # type: ignore[attr-defined]


def test_a_regex_pattern_that_writes_the_version_two_ways_is_refused() -> None:
    promote = promoter(target(KeyLocator("v"), pattern=r"(?P<version>[0-9.]+)(-[a-z]+)?"))
    try:
        with pytest.raises(Refused, match=r"writes 1\.10\.0 differently in its places"):
            promote("a:\n  v: 1.4.2-alpine\nb:\n  v: 1.4.2-slim\n", release("1.10.0"))
    finally:
        shutil.rmtree(promote.root)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "string"),
    [
        ("1.4.2", True),
        ("v1.10", True),
        ("1.10", False),  # YAML 1.1 and 1.2: a float (1.1)
        ("1e3", False),  # YAML 1.2 float
        ("0x1F", False),
        ("0o17", False),
        ("1_000", False),  # YAML 1.1 int
        ("1:20", False),  # YAML 1.1 sexagesimal
        ("2001-12-14", False),  # YAML 1.1 timestamp
        ("yes", False),
        ("on", False),
        ("~", False),
        ("null", False),
        (".inf", False),
        ("1.4.2-rc.1+build.7", True),
    ],
)
def test_what_plain_yaml_reads_as_a_string(value: str, string: bool) -> None:
    """The rule that quotes a new value promoter writes where YAML (1.1 or 1.2) would read it
    otherwise: every tag a pattern writes with a semantic version (X.Y.Z) is a string."""
    assert plain_reads_as_string(value) is string


# -- properties ------------------------------------------------------------------------------------

SENTINEL = "\x00"  # tests/test_exactness.py's generators hold this once: the value's place
_id = st.from_regex(r"(0|[1-9][0-9]{0,3}|[0-9]*[a-z-][0-9a-z-]{0,4})", fullmatch=True)


@st.composite
def semvers(draw: st.DrawFn) -> str:
    core_ = ".".join(str(draw(st.integers(0, 120))) for _ in range(3))
    pre = draw(st.lists(_id, max_size=2))
    build = draw(st.lists(st.from_regex(r"[0-9a-z-]{1,4}", fullmatch=True), max_size=1))
    return core_ + ("-" + ".".join(pre) if pre else "") + ("+" + ".".join(build) if build else "")


@st.composite
def two_versions(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(semvers())
    return a, draw(semvers().filter(lambda b: b != a))


PATTERNS = ["v{semver}", "{semver}", "{semver}-alpine", "release-{semver}"]


def _round_trip(promote: Callable[[str, Release], str], pattern: str, template: str, a: str, b: str) -> None:
    from promoter.semver import TagPattern, parse

    p = TagPattern(pattern)
    va, vb = parse(a), parse(b)
    assert va is not None and vb is not None
    wa, wb = p.render(va), p.render(vb)
    assert wa is not None and wb is not None
    original = template.replace(SENTINEL, wa)
    offset = template.index(SENTINEL)
    promoted = promote(original, release(b))
    assert promoted.encode("utf-8") == (original[:offset] + wb + original[offset + len(wa) :]).encode("utf-8")
    assert promote(promoted, release(a)).encode("utf-8") == original.encode("utf-8")


@pytest.fixture(scope="module")
def yaml_promoters() -> Iterator[dict[str, Callable[[str, Release], str]]]:
    made = {p: promoter(target(KeyLocator("tag"), pattern=p)) for p in PATTERNS}
    yield made
    for promote in made.values():
        shutil.rmtree(promote.root)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def dotenv_promoters() -> Iterator[dict[str, Callable[[str, Release], str]]]:
    made = {p: promoter(target(EnvLocator("IMAGE_TAG"), ".env", p)) for p in PATTERNS}
    yield made
    for promote in made.values():
        shutil.rmtree(promote.root)  # type: ignore[attr-defined]


@settings(max_examples=100, deadline=None)
@given(template=yaml_file(), versions=two_versions(), pattern=st.sampled_from(PATTERNS))
def test_yaml_tag_round_trip_is_byte_exact(
    yaml_promoters: dict[str, Callable[[str, Release], str]], template: str, versions: tuple[str, str], pattern: str
) -> None:
    _round_trip(yaml_promoters[pattern], pattern, template, *versions)


@settings(max_examples=100, deadline=None)
@given(template=dotenv_file(), versions=two_versions(), pattern=st.sampled_from(PATTERNS))
def test_dotenv_tag_round_trip_is_byte_exact(
    dotenv_promoters: dict[str, Callable[[str, Release], str]], template: str, versions: tuple[str, str], pattern: str
) -> None:
    _round_trip(dotenv_promoters[pattern], pattern, template, *versions)
