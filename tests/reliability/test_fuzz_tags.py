"""Fuzz the locate + edit engine with hostile YAML and dotenv pinning release tags (the files of
tests/reliability/test_fuzz.py, its 40-hex and short values replaced by release tags).

Every run must end in exactly one of two ways: a new text whose events, re-parsed by PyYAML, equal
the old ones except the scalars an independent oracle expects (the values of `ref`/REF that held
the old tag, now the new one), or a clean refusal. Two patterns: `v{semver}` (`v1.4.2` ->
`v1.10.0`) and `{semver}` (`1.4.2` -> `1.10.0`, which YAML would read as a float were it `1.10`).
PROMOTER_FUZZ_EXAMPLES sets the number of examples (default 300 per property).
"""

from __future__ import annotations

from collections import Counter

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from promoter.errors import Refused
from promoter.locate import LocateError, classify, find
from promoter.locate.yamlnodes import YamlSyntaxError
from promoter.model import Component, EnvLocator, KeyLocator, Target
from promoter.pipeline.edit import change, edits_for
from tests.reliability import test_fuzz as base

PATTERNS = {"v{semver}": ("v1.4.2", "v1.10.0"), "{semver}": ("1.4.2", "1.10.0")}


def _targets(pattern: str) -> tuple[Target, Target, Component]:
    key = Target("t", "t", "f.yaml", None, KeyLocator("ref"), "tag", False, 1, pattern)
    env = Target("e", "e", ".env", None, EnvLocator("REF"), "tag", False, 1, pattern)
    return key, env, Component("c", "https://example.com/c", "https://example.com/c", None, 7, (key, env), 1)


def _promote(text: str, target: Target, comp: Component, new: str) -> str | None:
    try:
        found = find(text, comp, target)
        locations, _ = classify(text, "f", comp, target, found)
        edits = edits_for(text, locations, lambda _: new)
        return change("f", text, edits, comp, {target.name: new}).new_text
    except (Refused, LocateError, YamlSyntaxError):
        return None


def check_yaml(text: str, pattern: str) -> str:
    old, new = PATTERNS[pattern]
    key, _, comp = _targets(pattern)
    new_text = _promote(text, key, comp, new)
    if new_text is None:
        return "refused"
    expected = base._yaml_oracle(text, old)
    shift = 1 if text.startswith("\ufeff") else 0
    before = list(yaml.parse(text[shift:], Loader=yaml.CSafeLoader))
    after = list(yaml.parse(new_text[shift:], Loader=yaml.CSafeLoader))
    assert len(before) == len(after)
    changed = set()
    for a, b in zip(before, after):
        if base._same(a, b):
            continue
        assert isinstance(a, yaml.ScalarEvent) and isinstance(b, yaml.ScalarEvent), (a, b)
        assert (a.value, b.value, a.anchor, b.anchor, a.tag, b.tag) == (old, new, None, None, a.tag, a.tag)
        assert a.style == b.style  # quoted stays quoted the same way, plain stays plain
        changed.add(a.start_mark.index + shift)
    assert changed == expected, (changed, expected)
    assert new_text.replace(new, old) == text or new in text
    return "promoted" if changed else "unchanged"


def check_dotenv(text: str, pattern: str) -> str:
    old, new = PATTERNS[pattern]
    _, env, comp = _targets(pattern)
    new_text = _promote(text, env, comp, new)
    if new_text is None:
        return "refused"
    old_lines, new_lines = text.split("\n"), new_text.split("\n")
    command = [True]  # whether a command starts on each line (sh's reading: test_fuzz's oracle)
    quote: str | None = None
    for line in old_lines:
        quote, continued = base._line_state(line, quote)
        command.append(quote is None and not continued)
    assert quote is None, "a file with a quote never closed must be refused"
    assert len(old_lines) == len(new_lines)
    changed = 0
    for i, (a, b) in enumerate(zip(old_lines, new_lines)):
        body = a[1:] if i == 0 and a.startswith("\ufeff") else a
        m = base._ASSIGN.fullmatch(body) if command[i] else None
        if m is not None and m["v"].strip("'\"") == old:
            assert b == a.replace(old, new, 1), (a, b)
            changed += 1
        else:
            assert a == b, (a, b)
    return "promoted" if changed else "unchanged"


def _as_tags(strategy: st.SearchStrategy[str], old: str) -> st.SearchStrategy[str]:
    """test_fuzz's files with its pinned values (the 40-hex OLD, the short OLD7) replaced by `old`."""
    return strategy.map(lambda text: text.replace(base.OLD, old).replace(base.OLD7, old))


def _run(strategy: st.SearchStrategy[str], check: object, pattern: str) -> Counter[str]:
    outcomes: Counter[str] = Counter()

    @base.FUZZ
    @given(text=_as_tags(strategy, PATTERNS[pattern][0]))
    def prop(text: str) -> None:
        outcomes[check(text, pattern)] += 1  # type: ignore[operator]

    prop()
    return outcomes


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_yaml_tag_fuzz_promotes_exactly_or_refuses_cleanly(pattern: str) -> None:
    outcomes = _run(base.yaml_text(junk=True), check_yaml, pattern)
    assert outcomes["refused"] >= sum(outcomes.values()) // 20, outcomes


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_yaml_tag_fuzz_of_valid_documents_promotes(pattern: str) -> None:
    outcomes = _run(base.yaml_text(junk=False), check_yaml, pattern)
    assert outcomes["promoted"] >= sum(outcomes.values()) // 10, outcomes


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_dotenv_tag_fuzz_promotes_exactly_or_refuses_cleanly(pattern: str) -> None:
    outcomes = _run(base.dotenv_text(), check_dotenv, pattern)
    assert outcomes["promoted"] >= sum(outcomes.values()) // 20, outcomes
