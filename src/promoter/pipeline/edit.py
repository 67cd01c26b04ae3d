"""The edit engine: splice new values at located spans, quote when YAML needs it, verify.

Nothing here touches the disk. `change` returns the new text of one file, and only after
re-parsing it proves that exactly the planned values changed and every other YAML event (and
every other located value) is as it was.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable

import yaml

from promoter.errors import Refused
from promoter.locate import LocateError, classify, find
from promoter.locate.yamlnodes import YamlSyntaxError, mark, parse_events
from promoter.model import YAML_LOCATORS, Component, Edit, FileChange, Location, RegexLocator, Target

_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()
# YAML 1.2 core schema numbers and specials: other parsers (Go, JavaScript) read these as
# numbers even where PyYAML (YAML 1.1) would not, e.g. `12e4567`.
_YAML12_NON_STRING = re.compile(
    r"[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|null|Null|NULL|~|true|True|TRUE|false|False|FALSE"
)


def plain_reads_as_string(value: str) -> bool:
    """Whether `value`, written as a plain (unquoted) YAML scalar, is read back as a string."""
    if _YAML12_NON_STRING.fullmatch(value):
        return False
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == _STR)


def prevailing_quote(text: str) -> str:
    """The quote character the file uses most for scalars (single quote when it uses neither)."""
    single = double = 0
    try:
        for ev in parse_events(text):
            if isinstance(ev, yaml.ScalarEvent):
                single += ev.style == "'"
                double += ev.style == '"'
    except YamlSyntaxError:
        pass
    return '"' if double > single else "'"


# files YAML reads, also as templates rendered into YAML (`values.yaml.j2`, `deploy.yml.tpl`)
# patterns as text: re compiles (and caches) each on its first use, not at import
_YAML_FILE = r"(?i).*\.ya?ml(?:\.(?:j2|jinja2?|tpl|tmpl|gotmpl|template))?"
# a value that is a whole plain scalar on its line: after `key: ` or `- `, before the end or a comment
_BARE_BEFORE = r"(?:^|[:\-][ \t]+)$"
_BARE_AFTER = r"[ \t]*(?:#.*)?\r?$"


def yaml_file(file: str) -> bool:
    """Whether YAML reads `file` (by its name: .yaml, .yml, and templates of them)."""
    return re.fullmatch(_YAML_FILE, file.rpartition("/")[2]) is not None


def _bare_scalar(text: str, loc: Location) -> bool:
    """Whether a located value stands alone as a plain YAML scalar (`tag: 1234567`), so that YAML
    would read it by its look: a number, a boolean, null."""
    line_start = text.rfind("\n", 0, loc.start) + 1
    line_end = text.find("\n", loc.end)
    before = text[line_start : loc.start]
    after = text[loc.end : len(text) if line_end < 0 else line_end]
    return re.search(_BARE_BEFORE, before) is not None and re.fullmatch(_BARE_AFTER, after) is not None


def edits_for(text: str, locations: Iterable[Location], new_value: Callable[[Location], str]) -> list[Edit]:
    """One edit a location whose value differs from its new one; quotes added where YAML needs them:
    for a YAML locator's plain scalar, and for a regex target's value that stands alone as a plain
    scalar in a file YAML reads (a template too)."""
    quote: str | None = None
    out: list[Edit] = []
    for loc in locations:
        new = new_value(loc)
        if new == loc.value:
            continue
        yaml_plain = loc.plain_yaml and isinstance(loc.target.locator, YAML_LOCATORS)
        regex_plain = isinstance(loc.target.locator, RegexLocator) and yaml_file(loc.file) and _bare_scalar(text, loc)
        if (yaml_plain or regex_plain) and not plain_reads_as_string(new):
            quote = quote or prevailing_quote(text)
            new = f"{quote}{new}{quote}"
        out.append(Edit(loc, new))
    return out


def splice(text: str, edits: Iterable[Edit]) -> str:
    """`text` with every edit's span replaced; the same span twice must mean the same edit."""
    by_span: dict[tuple[int, int], Edit] = {}
    for edit in edits:
        span = (edit.location.start, edit.location.end)
        other = by_span.get(span)
        if other is not None and other.new != edit.new:
            raise Refused(
                f"{edit.location.file}:{edit.location.line}: targets '{other.location.target.name}' and "
                f"'{edit.location.target.name}' would write different values at the same place"
            )
        by_span[span] = edit
    ordered = sorted(by_span)
    for (s1, e1), (s2, _) in itertools.pairwise(ordered):
        if s2 < e1:
            raise Refused(f"{by_span[(s1, e1)].location.file}: two located values overlap; check the targets' locators")
    parts: list[str] = []
    pos = 0
    for s, e in ordered:
        parts.append(text[pos:s])
        parts.append(by_span[(s, e)].new)
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def change(file: str, text: str, edits: list[Edit], component: Component, new: dict[str, str]) -> FileChange:
    """The verified change of one file; `new` maps each target name to the value it now pins."""
    new_text = splice(text, edits)
    _verify_yaml(file, text, new_text, edits)
    _verify_relocate(file, new_text, edits, component, new)
    return FileChange(file, text, new_text, tuple(sorted(edits, key=lambda e: e.location.start)))


def _events(text: str) -> list[yaml.Event] | None:
    try:
        return list(parse_events(text))
    except YamlSyntaxError:
        return None


def _verify_yaml(file: str, old: str, new: str, edits: list[Edit]) -> None:
    """Every YAML event is unchanged but the scalars that contain an edit, which changed exactly."""
    needs_yaml = any(isinstance(e.location.target.locator, YAML_LOCATORS) for e in edits)
    if not needs_yaml and not file.endswith((".yaml", ".yml")):
        return
    before = _events(old)
    if before is None:
        if needs_yaml:
            raise Refused(f"{file}: no longer parses as YAML")  # pragma: no cover - located through YAML
        return  # not YAML at all: the regex/dotenv re-locate check below is the proof
    after = _events(new)
    if after is None or len(after) != len(before):
        raise Refused(f"{file}: the edited text no longer parses to the same YAML structure; nothing written")
    shift = 1 if old.startswith("\ufeff") else 0
    for a, b in zip(before, after):
        start, line = mark(a.start_mark)
        end, _ = mark(a.end_mark)
        if type(a) is not type(b) or getattr(a, "anchor", None) != getattr(b, "anchor", None):
            raise Refused(f"{file}:{line}: the edit changed the YAML structure; nothing written")
        if not isinstance(a, yaml.ScalarEvent):
            if getattr(a, "tag", None) != getattr(b, "tag", None):
                raise Refused(f"{file}:{line}: the edit changed a YAML tag; nothing written")
            continue
        assert isinstance(b, yaml.ScalarEvent)
        if (a.value, a.tag, a.style, a.implicit) == (b.value, b.tag, b.style, b.implicit):
            continue
        s, e = start + shift, end + shift
        inside = [x for x in edits if s <= x.location.start and x.location.end <= e]
        expected = a.value
        for x in inside:
            expected = expected.replace(x.location.value, x.new.strip("'\""))
        if not inside or b.value != expected or a.tag != b.tag:
            raise Refused(f"{file}:{line}: re-reading the edited file shows an unplanned change; nothing written")
        if _reads_as_string(a) and not _reads_as_string(b):
            raise Refused(f"{file}:{line}: '{b.value}' would no longer be read as a string; nothing written")


def _reads_as_string(ev: yaml.ScalarEvent) -> bool:
    if ev.tag is not None and not ev.implicit[0]:
        return bool(ev.tag in (_STR, "!"))
    return bool(ev.style) or plain_reads_as_string(ev.value)


def _verify_relocate(file: str, new_text: str, edits: list[Edit], component: Component, new: dict[str, str]) -> None:
    """Located again, every edited target finds exactly its new value where it found the old (a
    subscriber's promotion_data hash is no pin: `_verify_yaml` proves it changed alone)."""
    pins = [e for e in edits if e.location.kind == "pin"]
    targets: dict[str, Target] = {e.location.target.name: e.location.target for e in pins}
    for target in targets.values():
        want = new[target.name]
        try:
            found = find(new_text, component, target)
        except (LocateError, YamlSyntaxError) as exc:
            raise Refused(f"{file}: re-reading the edited file failed ({exc}); nothing written") from None
        locations, _ = classify(new_text, file, component, target, found)
        before = sum(1 for e in pins if e.location.target.name == target.name)
        if sum(1 for loc in locations if loc.value == want) < before or any(loc.value != want for loc in locations):
            quoted = [e for e in edits if e.location.target.name == target.name and e.new != want]
            hint = (
                f" (YAML would read {want} unquoted as a number, so it must be quoted: let the regex allow "
                f"quotes around the value, e.g. ['\"]?(?P<version>...)['\"]?)"
                if quoted and isinstance(target.locator, RegexLocator)
                else ""
            )
            raise Refused(
                f"{file}: after the edit, target '{target.name}' does not read {want} everywhere{hint}; nothing written"
            )
