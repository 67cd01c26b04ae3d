"""Semantic versions (semver.org 2.0.0), constraints and release tag patterns: the parser against
the spec's grammar, the order against an independent reading of the spec's precedence rules
(item 11), by hypothesis; the constraints against npm's documented ranges."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promoter import semver
from promoter.semver import Constraint, TagPattern, Version, parse

# -- an independent reading of the spec --------------------------------------------------------

_numeric = st.integers(min_value=0, max_value=10**12).map(str)
_alnum = st.text("abcxyzABZ-0123456789", min_size=1, max_size=6).filter(lambda s: not s.isdigit())
_identifier = st.one_of(_numeric, _alnum)
_build_id = st.text("abzAZ-0189", min_size=1, max_size=5)


@st.composite
def versions(draw: st.DrawFn) -> str:
    core = ".".join(str(draw(st.integers(0, 30))) for _ in range(3))
    pre = draw(st.lists(_identifier, max_size=4))
    build = draw(st.lists(_build_id, max_size=3))
    return core + ("-" + ".".join(pre) if pre else "") + ("+" + ".".join(build) if build else "")


def spec_compare(a: str, b: str) -> int:
    """Precedence as semver.org item 11 says it, step by step, on the text."""
    a, b = a.split("+")[0], b.split("+")[0]  # build metadata MUST be ignored
    a_core, _, a_pre = a.partition("-")
    b_core, _, b_pre = b.partition("-")
    for x, y in zip(a_core.split("."), b_core.split(".")):  # major, minor, patch numerically
        if int(x) != int(y):
            return -1 if int(x) < int(y) else 1
    if not a_pre or not b_pre:  # a pre-release version has lower precedence than the normal one
        return (not a_pre) - (not b_pre)
    xs, ys = a_pre.split("."), b_pre.split(".")
    for x, y in zip(xs, ys):
        if x == y:
            continue
        if x.isdigit() and y.isdigit():  # identifiers of digits only: numerically
            return -1 if int(x) < int(y) else 1
        if x.isdigit() != y.isdigit():  # numeric identifiers: lower than alphanumeric ones
            return -1 if x.isdigit() else 1
        return -1 if x < y else 1  # lexically in ASCII sort order
    return (len(xs) > len(ys)) - (len(xs) < len(ys))  # a larger set of fields: higher


@settings(max_examples=200)
@given(versions(), versions())
def test_order_is_the_specs(a: str, b: str) -> None:
    va, vb = parse(a), parse(b)
    assert va is not None and vb is not None
    assert semver.compare(va, vb) == spec_compare(a, b)
    assert (va < vb) == (spec_compare(a, b) < 0) and (va >= vb) == (spec_compare(a, b) >= 0)


@settings(max_examples=200)
@given(versions())
def test_a_version_reads_back_as_written(text: str) -> None:
    v = parse(text)
    assert v is not None and str(v) == text and parse(str(v)) == v


@settings(max_examples=100)
@given(st.lists(versions(), min_size=2, max_size=8))
def test_sorting_is_a_total_order_of_precedence(texts: list[str]) -> None:
    vs = [parse(t) for t in texts]
    assert all(v is not None for v in vs)
    ordered = sorted(vs)  # type: ignore[type-var]
    expected = sorted(texts, key=functools.cmp_to_key(spec_compare))
    assert [semver.compare(x, parse(y)) for x, y in zip(ordered, expected)] == [0] * len(texts)  # type: ignore[arg-type]


def test_the_specs_own_example_of_precedence() -> None:
    chain = (
        "1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta < 1.0.0-beta.2 < 1.0.0-beta.11"
        " < 1.0.0-rc.1 < 1.0.0"
    )
    texts = chain.split(" < ")
    vs = [parse(t) for t in texts]
    assert sorted(reversed(vs)) == vs  # type: ignore[type-var]
    assert parse("1.0.0") < parse("2.0.0") < parse("2.1.0") < parse("2.1.1")  # type: ignore[operator]
    a, b = parse("1.0.0+20130313144700"), parse("1.0.0+exp.sha.5114f85")
    assert a is not None and b is not None and semver.compare(a, b) == 0 and a != b  # same precedence


@pytest.mark.parametrize(
    "text",
    ["1.2", "1", "v1.2.3", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01", "1.2.3-", "1.2.3+", "1.2.3-a..b", "1.2.3-a_b",
     "\uff11.2.3", "1.2.3 ", " 1.2.3", "1.2.3-\u0661", "latest", "1.2.3.4", "-1.2.3", "1.2.3" + "-a" * 200],
)  # fmt: skip
def test_what_is_no_semantic_version(text: str) -> None:
    assert parse(text) is None


def test_identifiers_as_the_spec_allows() -> None:
    assert parse("1.0.0-0.3.7") is not None and parse("1.0.0-x.7.z.92") is not None
    assert parse("1.0.0-x-y-z.--") is not None and parse("1.0.0+001") is not None  # build: leading zeros fine
    assert parse("1.0.0-0a") is not None  # alphanumeric: a leading zero is fine
    v = parse("10.20.30-rc.1+b.2")
    assert v is not None and (v.core, v.pre, v.build) == ((10, 20, 30), ("rc", "1"), "b.2")


# -- constraints --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "inside", "outside"),
    [
        ("^1.4", ["1.4.0", "1.4.9", "1.99.0"], ["1.3.9", "2.0.0", "0.4.0"]),
        ("^1.4.2", ["1.4.2", "1.5.0"], ["1.4.1", "2.0.0"]),
        ("^0.4", ["0.4.0", "0.4.7"], ["0.5.0", "0.3.9", "1.0.0"]),
        ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
        ("^0", ["0.0.1", "0.9.9"], ["1.0.0"]),
        ("~1.4", ["1.4.0", "1.4.10"], ["1.5.0", "1.3.0"]),
        ("~1.4.2", ["1.4.2", "1.4.3"], ["1.4.1", "1.5.0"]),
        ("~1", ["1.0.0", "1.9.0"], ["2.0.0"]),
        (">=1.2 <2", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0"]),
        (">=1.2, <2", ["1.2.0"], ["2.0.0"]),
        ("1.4.x", ["1.4.0", "1.4.5"], ["1.5.0", "1.3.0"]),
        ("1.x", ["1.0.0", "1.7.3"], ["2.0.0"]),
        ("1.4", ["1.4.0", "1.4.5"], ["1.5.0"]),
        ("v1.4.2", ["1.4.2"], ["1.4.3"]),
        ("=1.4.2", ["1.4.2"], ["1.4.1"]),
        (">1.4", ["1.5.0"], ["1.4.9"]),
        (">1.4.2", ["1.4.3"], ["1.4.2"]),
        ("<=1.4", ["1.4.9"], ["1.5.0"]),
        ("<1.4", ["1.3.9"], ["1.4.0"]),
        ("*", ["0.0.0", "9.9.9"], []),
        ("^1 || ^3", ["1.2.0", "3.0.1"], ["2.0.0"]),
    ],
)
def test_constraints_are_npms_ranges(constraint: str, inside: list[str], outside: list[str]) -> None:
    c = Constraint(constraint)
    for text in inside:
        assert c.allows(parse(text)), f"{text} satisfies {constraint}"  # type: ignore[arg-type]
    for text in outside:
        assert not c.allows(parse(text)), f"{text} does not satisfy {constraint}"  # type: ignore[arg-type]


def test_pre_releases_only_when_asked() -> None:
    rc, next_major = parse("1.5.0-rc.1"), parse("2.0.0-rc.1")
    assert rc is not None and next_major is not None
    assert not Constraint("^1.4").allows(rc)
    assert Constraint("^1.4").allows(rc, prerelease=True)  # allow_prerelease: true
    assert not Constraint("^1.4").allows(next_major, prerelease=True)  # 2.0.0-rc.1 is no 1.x
    assert Constraint(">=1.5.0-rc.0").allows(rc)  # a constraint that names a pre-release of 1.5.0
    assert not Constraint(">=1.5.0-rc.0").allows(parse("1.6.0-rc.1"))  # type: ignore[arg-type]
    assert Constraint(">=1.5.0-rc.0").names_prerelease() and not Constraint("^1").names_prerelease()


@pytest.mark.parametrize("text", ["", "latest", "^", ">=1.2 <", "1.x.2", "^1.4 ||", "01.2", "~>1.2", "1.2.3.4"])
def test_what_is_no_constraint(text: str) -> None:
    with pytest.raises(ValueError):
        Constraint(text)


# -- tag patterns --------------------------------------------------------------------------------


def test_patterns_read_and_write_versions() -> None:
    v = parse("1.10.0")
    assert v is not None
    default = TagPattern(None)
    assert (default.text, default.read("v1.10.0"), default.render(v)) == ("v{semver}", v, "v1.10.0")
    assert default.read("1.10.0") is None and default.read("v1.10") is None and default.read("latest") is None
    bare = TagPattern("{semver}")
    assert (bare.read("1.10.0"), bare.render(v)) == (v, "1.10.0")
    alpine = TagPattern("{semver}-alpine")
    assert alpine.read("1.10.0-rc.1-alpine") == parse("1.10.0-rc.1") and alpine.render(v) == "1.10.0-alpine"
    rx = TagPattern(r"app-(?P<version>[0-9][^_]*)_linux")
    assert rx.is_regex and rx.read("app-1.4.2_linux") == parse("1.4.2")
    assert rx.render(v, like="app-1.4.2_linux") == "app-1.10.0_linux" and rx.render(v) is None


@pytest.mark.parametrize("text", ["v{version}", "{semver}{semver}", "v{semver", "(?P<version>[", "x{semver}}"])
def test_what_is_no_pattern(text: str) -> None:
    with pytest.raises(ValueError):
        TagPattern(text)


def test_upstream_tags_name_versions_with_or_without_v() -> None:
    assert semver.tag_version("v1.4.2") == semver.tag_version("1.4.2") == parse("1.4.2")
    assert semver.tag_version("release-1.4.2") is None and semver.tag_version("vv1.4.2") is None
    assert isinstance(semver.tag_version("v0.0.1-rc.1"), Version)
