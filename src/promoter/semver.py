"""Semantic versions as semver.org 2.0.0 defines them, exactly: parse, precedence, constraints;
and the release tag patterns that say how a version is written (`v{semver}`, `{semver}`, a regex).

Written here rather than taken from a package: the semver packages on PyPI either order versions
without npm-style ranges (`^1.4`, `~1.4`, `1.4.x`, `>=1.2 <2`) or are unmaintained ports of npm's;
this module is the ~250 lines promoter needs, strict where the spec is (no leading zeros, no
`v` inside a version, ASCII digits only), with no import cost (`re` only; `regex` for a pattern's
regex, when one is used).

Constraints follow npm's semantics: comparators separated by spaces (or commas) must all hold,
`||` separates alternatives; a partial version is a range (`1.4` is `>=1.4.0 <1.5.0-0`); `^` allows
what does not change the leftmost non-zero part, `~` the patch. A pre-release version (`1.5.0-rc.1`)
satisfies a constraint only when pre-releases are allowed, or when a comparator of the same
alternative names a pre-release of the same major.minor.patch (`>=1.5.0-rc.0`).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"({_NUM})\.({_NUM})\.({_NUM})"
    rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?",
    re.ASCII,
)
MAX_LENGTH = 255  # longer text is no version promoter reads (a git ref name is shorter in practice)


class Version:
    """One semantic version. `<`, `>` compare precedence (build metadata ignored, as the spec
    says); `==` compares the whole text (so `1.0.0+a` and `1.0.0+b` are different versions of
    the same precedence: neither is lower)."""

    __slots__ = ("build", "major", "minor", "patch", "pre")

    def __init__(self, major: int, minor: int, patch: int, pre: tuple[str, ...] = (), build: str = "") -> None:
        self.major, self.minor, self.patch, self.pre, self.build = major, minor, patch, pre, build

    @property
    def prerelease(self) -> bool:
        return bool(self.pre)

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def key(self) -> tuple[Any, ...]:
        """The precedence as a tuple Python orders the same way (spec item 11): numbers, then a
        release after its pre-releases; pre-release identifiers numeric (by value) before
        alphanumeric (by ASCII), a longer list after its prefix."""
        if not self.pre:
            return (*self.core, 1, ())
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (*self.core, 0, ids)

    def __lt__(self, other: Version) -> bool:
        return self.key() < other.key()

    def __le__(self, other: Version) -> bool:
        return self.key() <= other.key()

    def __gt__(self, other: Version) -> bool:
        return self.key() > other.key()

    def __ge__(self, other: Version) -> bool:
        return self.key() >= other.key()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        pre = "-" + ".".join(self.pre) if self.pre else ""
        build = "+" + self.build if self.build else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}{build}"

    def __repr__(self) -> str:
        return f"Version('{self}')"


def parse(text: str) -> Version | None:
    """`text` as a semantic version (exactly `1.4.2`, `1.5.0-rc.1+build.7`; no `v`), else None."""
    if len(text) > MAX_LENGTH:
        return None
    m = _SEMVER.fullmatch(text)
    if m is None:
        return None
    major, minor, patch, pre, build = m.groups()
    return Version(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), build or "")


def compare(a: Version, b: Version) -> int:
    """-1, 0 or 1 as `a` has lower, equal or higher precedence than `b`."""
    ka, kb = a.key(), b.key()
    return (ka > kb) - (ka < kb)


# -- constraints ----------------------------------------------------------------------------------

_PART = r"(?:0|[1-9][0-9]*|[xX*])"
_COMPARATOR = re.compile(
    rf"(\^|~|>=|<=|>|<|=)?v?({_PART})(?:\.({_PART})(?:\.({_PART})"
    rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?",
    re.ASCII,
)
_WILD = ("x", "X", "*")
_Bound = tuple[str, Version]  # (">=" | ">" | "<" | "<=" | "=", version)


def _lowest(major: int, minor: int, patch: int) -> Version:
    """The lowest version of major.minor.patch: its pre-release `-0`."""
    return Version(major, minor, patch, ("0",))


class Constraint:
    """A version constraint (`^1.4`, `~1.4`, `>=1.2 <2`, `1.4.x`, `1.2 || ^2`); ValueError when
    `text` is none, saying which part."""

    __slots__ = ("_sets", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._sets: list[tuple[list[_Bound], set[tuple[int, int, int]]]] = []
        if len(text) > 1000:
            raise ValueError("is longer than 1000 characters")
        for alternative in text.split("||"):
            words = alternative.replace(",", " ").split()
            if not words:
                raise ValueError("has an empty alternative around '||'" if "||" in text else "is empty")
            bounds: list[_Bound] = []
            named: set[tuple[int, int, int]] = set()
            for word in words:
                m = _COMPARATOR.fullmatch(word)
                if m is None:
                    raise ValueError(
                        f"'{word}' is no version comparator (such as ^1.4, ~1.4.2, >=1.2, <2, 1.4.x or 1.4.2)"
                    )
                bounds += _desugar(m, named)
            self._sets.append((bounds, named))

    def allows(self, v: Version, prerelease: bool = False) -> bool:
        """Whether `v` satisfies the constraint (a pre-release only with `prerelease`, or when an
        alternative names a pre-release of its major.minor.patch)."""
        for bounds, named in self._sets:
            if v.prerelease and not prerelease and v.core not in named:
                continue
            if all(_holds(v, op, bound) for op, bound in bounds):
                return True
        return False

    def names_prerelease(self) -> bool:
        return any(named for _, named in self._sets)

    def __str__(self) -> str:
        return self.text


def _holds(v: Version, op: str, bound: Version) -> bool:
    c = compare(v, bound)
    return {">=": c >= 0, ">": c > 0, "<": c < 0, "<=": c <= 0, "=": c == 0}[op]


def _desugar(m: re.Match[str], named: set[tuple[int, int, int]]) -> list[_Bound]:
    """One comparator as plain bounds (npm's rules for partial versions, `^` and `~`)."""
    op, a, b, c, pre = m.groups()
    op = op or "="
    parts = [p for p in (a, b, c) if p is not None]
    wild = next((i for i, p in enumerate(parts) if p in _WILD), None)
    if wild is not None:
        if any(p not in _WILD for p in parts[wild:]):
            raise ValueError(f"'{m.group(0)}': a wildcard is followed by a number")
        parts = parts[:wild]
    nums = [int(p) for p in parts]
    given = len(nums)  # 0 to 3 parts written
    if pre is not None:
        named.add((nums[0], nums[1], nums[2]))
    major, minor, patch = [*nums, 0, 0, 0][:3]
    low = Version(major, minor, patch, tuple(pre.split(".")) if pre else ())
    if given == 0:  # `*`, `>=*`: anything; `<*`, `>*`: nothing
        return [] if op in ("=", ">=", "<=", "^", "~") else [("<", _lowest(0, 0, 0))]
    if op == "^":
        if major or given == 1:
            top = _lowest(major + 1, 0, 0)
        elif minor or given == 2:
            top = _lowest(0, minor + 1, 0)
        else:
            top = _lowest(0, 0, patch + 1)
        return [(">=", low), ("<", top)]
    if op == "~":
        top = _lowest(major, minor + 1, 0) if given >= 2 else _lowest(major + 1, 0, 0)
        return [(">=", low), ("<", top)]
    if given == 3:
        return [(op, low)]
    # a partial version: the range of every version it leaves open
    nxt = _lowest(major + 1, 0, 0) if given == 1 else _lowest(major, minor + 1, 0)
    if op == "=":
        return [(">=", low), ("<", nxt)]
    if op == ">=":
        return [(">=", low)]
    if op == ">":
        return [(">=", nxt)]
    if op == "<":
        return [("<", _lowest(major, minor, 0))]
    return [("<", nxt)]  # <=


# -- release tag patterns -------------------------------------------------------------------------

DEFAULT_PATTERN = "v{semver}"


class TagPattern:
    """How a target writes a version: a template with one `{semver}` (`v{semver}`, `{semver}`,
    `app-{semver}`), or a regex whose group `version` is the semantic version
    (`release-(?P<version>[0-9.]+)`); ValueError when `text` is neither."""

    __slots__ = ("_prefix", "_regex", "_suffix", "text")

    def __init__(self, text: str | None) -> None:
        self.text = text or DEFAULT_PATTERN
        self._regex: Any = None
        self._prefix = self._suffix = ""
        if "(?P<version>" in self.text:
            import regex  # only for a pattern written as a regex

            try:
                self._regex = regex.compile(self.text)
            except regex.error as exc:
                raise ValueError(f"is not a regex: {exc}") from None
            return
        if (
            self.text.count("{semver}") != 1
            or "{" in self.text.replace("{semver}", "")
            or "}" in self.text.replace("{semver}", "")
        ):
            raise ValueError("needs exactly one {semver} (such as v{semver}), or a regex with a group (?P<version>...)")
        self._prefix, _, self._suffix = self.text.partition("{semver}")

    @property
    def is_regex(self) -> bool:
        return self._regex is not None

    def _span(self, value: str) -> tuple[int, int] | None:
        if len(value) > MAX_LENGTH:
            return None
        if self._regex is not None:
            try:
                m = self._regex.fullmatch(value, timeout=0.5)
            except TimeoutError:
                return None
            if m is None or m.start("version") < 0:
                return None
            span: tuple[int, int] = m.span("version")
            return span
        if not (value.startswith(self._prefix) and value.endswith(self._suffix)):
            return None
        end = len(value) - len(self._suffix)
        return (len(self._prefix), end) if end > len(self._prefix) else None

    def read(self, value: str) -> Version | None:
        """The version `value` writes through this pattern, None when it writes none."""
        span = self._span(value)
        return None if span is None else parse(value[span[0] : span[1]])

    def render(self, version: Version, like: str | None = None) -> str | None:
        """How this pattern writes `version`; a regex pattern writes it in place of the version in
        `like` (a value it reads), None without one."""
        if self._regex is None:
            return f"{self._prefix}{version}{self._suffix}"
        span = None if like is None else self._span(like)
        if like is None or span is None:
            return None
        out = like[: span[0]] + str(version) + like[span[1] :]
        return out if self.read(out) == version else None

    def __str__(self) -> str:
        return self.text


def tag_version(name: str) -> Version | None:
    """The version an upstream git tag names: `v1.4.2` and `1.4.2` name 1.4.2; any other tag none."""
    return parse(name[1:] if name.startswith("v") else name)
