"""Fuzz the locate + edit engine with hostile YAML and dotenv (extends tests/test_exactness.py,
whose properties generate well-formed files holding one value and check byte-exact round trips).

Here the files are adversarial: anchors, aliases, tags, block and escaped scalars, duplicate and
quoted keys, flow style, several documents, comments, CRLF, a BOM, unicode, and often invalid
YAML. Every run must end in exactly one of two ways: a new text whose events, re-parsed by
PyYAML, equal the old ones except the scalars an independent oracle expects (the values of
`ref`/REF that held the old version, now the new one), or a clean refusal (`Refused`,
`LocateError`, or `YamlSyntaxError`, which `core.scan` turns into `Refused`). Any other exception
fails. PROMOTER_FUZZ_EXAMPLES sets the number of examples (default 300 per property: hostile
YAML, mostly valid YAML, dotenv).
"""

from __future__ import annotations

import os
import re
from collections import Counter

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promoter.errors import Refused
from promoter.locate import LocateError, classify, find
from promoter.locate.yamlnodes import YamlSyntaxError
from promoter.model import Component, EnvLocator, KeyLocator, Target
from promoter.pipeline.edit import change, edits_for

EXAMPLES = int(os.environ.get("PROMOTER_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
OLD = "0123456789abcdef0123456789abcdef01234567"
NEW = "fedcba9876543210fedcba9876543210fedcba98"
OLD7, NEW7 = "1234567", "abcdef0"  # a short sha YAML reads as a number, replaced by one it does not
KEY_T = Target("t", "t", "f.yaml", None, KeyLocator("ref"), "sha", False, 1)
ENV_T = Target("t", "t", ".env", None, EnvLocator("REF"), "short", False, 1)
COMP = Component("c", "https://example.com/c", "https://example.com/c", None, 7, (KEY_T, ENV_T), 1)
UNI = "abcxyz éü日本語🚀—\t"

# -- YAML -----------------------------------------------------------------------------------------

plain_words = st.sampled_from(["x", "yes", "1.5", "null", "~", "0x1F", "é日本", "a b", "master", OLD, OLD[:7]])
values = st.one_of(
    plain_words,
    st.sampled_from([OLD, f"'{OLD}'", f'"{OLD}"', f"&a {OLD}", "*a", f"!!str {OLD}", f"!custom {OLD}", "|\n  x"]),
    st.sampled_from([f"|\n  {OLD}", f">-\n  {OLD}", f'"\\x30{OLD[1:]}"', f"'{OLD[:20]}''{OLD[22:]}'", f"{OLD} # c"]),
    st.text(UNI, max_size=8).map(lambda t: f'"{t}"'),
    st.sampled_from(["[]", "{}", f"[{OLD}, x]", f"{{ref: {OLD}}}", f"{{ref: '{OLD}', a: *a}}", "&m {ref: x}"]),
)
plain_or_old = st.sampled_from([OLD, OLD, f"'{OLD}'", f'"{OLD}"', "x", "master"])
keys = st.sampled_from(["ref", "ref", "ref", "'ref'", '"ref"', "name", "refs", "Ref", "日本", "<<", "a b"])


@st.composite
def yaml_text(draw: st.DrawFn, junk: bool = True) -> str:
    """A YAML-ish file; with `junk`, lines that break it are mixed in too."""

    def block(depth: int) -> list[str]:
        indent = "  " * depth
        lines: list[str] = []
        used: set[str] = set()
        for _ in range(draw(st.integers(1, 4))):
            kinds = ["pair"] * 8 + ["nested"] * 3 + ["list"] * 3 + ["comment", "blank"] + (["junk"] if junk else [])
            kind = draw(st.sampled_from(kinds))
            key = draw(keys)
            if not junk and kind in ("pair", "nested", "list"):
                if key.strip("'\"") in used:
                    continue  # valid YAML: no key twice in one mapping
                used.add(key.strip("'\""))
            if kind == "pair":
                value = draw(values if junk or draw(st.booleans()) else plain_or_old)
                value = value.replace("\n", "\n" + indent)  # block scalars: indented below their key
                lines.append(f"{indent}{key}: {value}{draw(st.sampled_from(['', ' # c', '  # ü 🚀']))}")
            elif kind == "nested" and depth < 3:
                lines.append(f"{indent}{key}:{draw(st.sampled_from(['', ' &n', ' !!map']))}")
                lines += block(depth + 1)
            elif kind == "list" and depth < 3:
                lines.append(f"{indent}{key}:")
                for _ in range(draw(st.integers(1, 2))):
                    lines.append(f"{indent}- ref: {draw(values).replace(chr(10), chr(10) + indent + '  ')}")
                    lines.append(f"{indent}  x: {draw(plain_words)}")
            elif kind == "comment":
                lines.append(f"{draw(st.sampled_from(['', indent]))}# {draw(st.text(UNI, max_size=8))}")
            elif kind == "blank":
                lines.append("")
            elif kind == "junk":
                lines.append(
                    indent + draw(st.sampled_from(["ref: [", "- x", ": x", "\tref: x", "ref: 'x", "...", "%YAML 1.1"]))
                )
        return lines

    docs = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 4)) == 0:
            docs.append([f"{{ref: {draw(values)}, a: [{draw(plain_words)}]}}"])  # a flow document
        else:
            docs.append(block(0))
    sep = draw(st.sampled_from(["---", "--- # doc", "...\n---"]))
    lines = [line for i, doc in enumerate(docs) for line in ([sep] if i or draw(st.booleans()) else []) + doc]
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    text = nl.join(lines) + draw(st.sampled_from(["", nl]))
    return ("\ufeff" if draw(st.booleans()) else "") + text


def _yaml_oracle(text: str, old: str = OLD) -> set[int]:
    """Start offsets (in `text`) of the scalars a promotion should change: values of a mapping key
    `ref` (any quoting) that read `old`, found by walking PyYAML's own events, not promoter's."""
    shift = 1 if text.startswith("\ufeff") else 0
    stack: list[list[object]] = []  # [kind, expecting_key, last_key]
    out: set[int] = set()
    for ev in yaml.parse(text[shift:], Loader=yaml.CSafeLoader):
        top = stack[-1] if stack else None
        is_value = top is not None and top[0] == "map" and not top[1]
        node = isinstance(ev, (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent))
        if isinstance(ev, yaml.ScalarEvent) and is_value and top is not None and top[2] == "ref" and ev.value == old:
            out.add(ev.start_mark.index + shift)
        if node and top is not None and top[0] == "map":
            if top[1]:
                top[2] = ev.value if isinstance(ev, yaml.ScalarEvent) else None
            top[1] = not top[1]
        if isinstance(ev, yaml.MappingStartEvent):
            stack.append(["map", True, None])
        elif isinstance(ev, yaml.SequenceStartEvent):
            stack.append(["seq", False, None])
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
    return out


def _promote(text: str, target: Target, new: str) -> str | None:
    """The new text, or None for a clean refusal."""
    try:
        found = find(text, COMP, target)
        locations, _ = classify(text, "f", COMP, target, found)
        edits = edits_for(text, locations, lambda _: new)
        return change("f", text, edits, COMP, {target.name: new}).new_text
    except (Refused, LocateError, YamlSyntaxError):
        return None


def _same(a: yaml.Event, b: yaml.Event) -> bool:
    return type(a) is type(b) and all(
        getattr(a, f, None) == getattr(b, f, None) for f in ("value", "anchor", "tag", "implicit", "style")
    )


def check_yaml(text: str) -> str:
    new_text = _promote(text, KEY_T, NEW)
    if new_text is None:
        return "refused"
    expected = _yaml_oracle(text)  # parses: promoter located through it
    shift = 1 if text.startswith("\ufeff") else 0
    before = list(yaml.parse(text[shift:], Loader=yaml.CSafeLoader))
    after = list(yaml.parse(new_text[shift:], Loader=yaml.CSafeLoader))
    assert len(before) == len(after)
    changed = set()
    for a, b in zip(before, after):
        if _same(a, b):
            continue
        assert isinstance(a, yaml.ScalarEvent) and isinstance(b, yaml.ScalarEvent), (a, b)
        assert (a.value, b.value, a.anchor, b.anchor, a.tag, b.tag) == (OLD, NEW, None, None, a.tag, a.tag)
        assert a.style == b.style
        changed.add(a.start_mark.index + shift)
    assert changed == expected, (changed, expected)
    # nothing but the changed values' characters moved
    assert new_text.replace(NEW, OLD) == text or NEW in text
    return "promoted" if changed else "unchanged"


# -- dotenv ---------------------------------------------------------------------------------------

env_values = st.sampled_from(
    [OLD7, f"'{OLD7}'", f'"{OLD7}"', f"{OLD7} # c", f"{OLD7}#c", f"{OLD7} x", f'"{OLD7}', f"${{X}}{OLD7}", "", "x"]
)


@st.composite
def dotenv_text(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["assign", "assign", "comment", "blank", "junk"]))
        if kind == "assign":
            key = draw(st.sampled_from(["REF", "REF", "REF2", "MY_REF", "ref", "#REF", "# REF"]))
            export = draw(st.sampled_from(["", "export ", "  ", "\t"]))
            eq = draw(st.sampled_from(["=", " = ", "= ", " ="]))
            lines.append(f"{export}{key}{eq}{draw(env_values)}")
        elif kind == "comment":
            lines.append(f"# {draw(st.text(UNI, max_size=10))}")
        elif kind == "blank":
            lines.append("")
        else:
            lines.append(draw(st.sampled_from(["REF", "=x", "export", f"REF={OLD7}\\", "REF=a=b", "日本=x"])))
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    text = nl.join(lines) + draw(st.sampled_from(["", nl]))
    return ("\ufeff" if draw(st.booleans()) else "") + text


_ASSIGN = re.compile(r"[ \t]*(?:export[ \t]+)?REF[ \t]*=[ \t]*(?P<v>'[^']*'|\"[^\"]*\"|[^\s'\"#]*)(?:[ \t]+#.*)?\r?")


def _line_state(line: str, quote: str | None) -> tuple[str | None, bool]:
    """(the quote still open at the end of `line`, whether a backslash continues it), given the
    quote open at its start: the generator's files span lines only through an unclosed ' or "
    or a trailing backslash (sh's reading of them; a comment is not continued)."""
    i = 0
    while i < len(line):
        c = line[i]
        if quote is not None:
            if c == "\\" and quote == '"':
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "\\":
            if i == len(line) - 1 or line[i + 1 :] == "\r":
                return None, True
            i += 1
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        i += 1
    return quote, False


def check_dotenv(text: str) -> str:
    new_text = _promote(text, ENV_T, NEW7)
    old_lines = text.split("\n")
    command = [True]  # whether a command starts on each line
    quote: str | None = None
    for line in old_lines:
        quote, continued = _line_state(line, quote)
        command.append(quote is None and not continued)
    if new_text is None:
        return "refused"
    assert quote is None, "a file with a quote never closed must be refused"
    new_lines = new_text.split("\n")
    assert len(old_lines) == len(new_lines)
    changed = 0
    for i, (a, b) in enumerate(zip(old_lines, new_lines)):
        body = a[1:] if i == 0 and a.startswith("\ufeff") else a
        m = _ASSIGN.fullmatch(body) if command[i] else None
        wanted = m is not None and m["v"].strip("'\"") == OLD7
        if wanted:
            assert b == a.replace(OLD7, NEW7, 1), (a, b)
            changed += 1
        else:
            assert a == b, (a, b)
    return "promoted" if changed else "unchanged"


# -- the properties -------------------------------------------------------------------------------


def _run(strategy: st.SearchStrategy[str], check: object) -> Counter[str]:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(text=strategy)
    def prop(text: str) -> None:
        outcomes[check(text)] += 1  # type: ignore[operator]

    prop()
    return outcomes


def test_yaml_fuzz_promotes_exactly_or_refuses_cleanly() -> None:
    """Files that are often not YAML at all: every run ends in an exact promotion or a refusal."""
    outcomes = _run(yaml_text(junk=True), check_yaml)
    assert outcomes["refused"] >= sum(outcomes.values()) // 20, outcomes  # the hostile inputs do come


def test_yaml_fuzz_of_valid_documents_promotes() -> None:
    """Without junk lines the files are mostly valid YAML: a real share of them gets promoted
    (a generator that only produced refusals would prove nothing)."""
    outcomes = _run(yaml_text(junk=False), check_yaml)
    assert outcomes["promoted"] >= sum(outcomes.values()) // 10, outcomes


def test_dotenv_fuzz_promotes_exactly_or_refuses_cleanly() -> None:
    outcomes = _run(dotenv_text(), check_dotenv)
    assert outcomes["promoted"] >= sum(outcomes.values()) // 20, outcomes
