"""Holds: environments of a component that nothing may promote until released.

They live in one YAML file of the config repository (`holds:` in promotion.yaml, default
`promotion-holds.yaml`), so a hold is reviewed, committed and merged like a promotion:

    # promotion holds: written by promoter hold / release / rollback
    holds:
      - component: qontract-reconcile
        environments: [production]          # none listed: every environment of the component
        reason: incident 123
        author: Ada Lovelace <ada@example.com>
        since: "2026-12-01T10:00:00Z"
        until: "2026-12-02T10:00:00Z"       # optional

The file is promoter's own: it is read with file:line errors and written whole (through the same
atomic write as promotions), each hold as above.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from promoter.errors import ConfigError
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, YamlSyntaxError, compose
from promoter.records import field, record

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.model import Config

HOLD_KEYS = ("component", "environments", "reason", "author", "since", "until")
HEADER = "# promotion holds: written by promoter hold / release / rollback\n"


@record(frozen=True)
class Hold:
    component: str
    environments: tuple[str, ...]  # empty: every environment of the component
    reason: str
    author: str
    since: datetime
    until: datetime | None = None
    line: int = 0
    # where its component and each of its environments are written (for messages; 0: not read from a file)
    component_line: int = field(default=0, repr=False, compare=False)
    environment_lines: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def covers(self, component: str, environment: str, at: datetime) -> bool:
        return (
            self.component == component
            and (not self.environments or environment in self.environments)
            and self.since <= at
            and (self.until is None or at < self.until)
        )


def parse(text: str, file: str) -> list[Hold]:
    """The holds in the holds file's `text`; a ConfigError naming `file`:line when it is wrong."""
    try:
        docs = compose(text)
    except YamlSyntaxError as exc:
        raise ConfigError(f"invalid YAML: {exc.problem} (column {exc.column})", file, exc.line) from None
    if not docs or (isinstance(docs[0], Scalar) and docs[0].value == ""):
        return []
    if len(docs) != 1 or not isinstance(docs[0], Mapping):
        raise ConfigError("expected one mapping with the key 'holds'", file, 1)
    items: Node | None = next((v for k, v in docs[0].pairs if isinstance(k, Scalar) and k.value == "holds"), None)
    if items is None or (isinstance(items, Scalar) and items.value == ""):
        return []
    if not isinstance(items, Sequence):
        raise ConfigError("holds must be a list", file, items.line)
    return [_hold(item, file) for item in items.items]


def _text(node: Node | None, what: str, file: str, line: int, required: bool = True) -> str:
    if node is None:
        if required:
            raise ConfigError(f"a hold without '{what}'", file, line)
        return ""
    if not isinstance(node, Scalar):
        raise ConfigError(f"{what} must be text", file, node.line)
    return node.value


def _time(node: Node | None, what: str, file: str, line: int) -> datetime | None:
    raw = _text(node, what, file, line, required=False)
    if not raw:
        return None
    where = node.line if node else line
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{what} must be an ISO 8601 time, not '{raw}'", file, where) from None
    try:
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ConfigError(f"{what} '{raw}' falls outside the years 1 to 9999 in UTC", file, where) from None


def _hold(node: Node, file: str) -> Hold:
    if not isinstance(node, Mapping):
        raise ConfigError("each hold must be a mapping (component, environments, reason, ...)", file, node.line)
    fields: dict[str, Node] = {}
    for k, v in node.pairs:
        if not isinstance(k, Scalar) or k.value not in HOLD_KEYS:
            name = k.value if isinstance(k, Scalar) else "?"
            raise ConfigError(f"unknown key '{name}' in a hold; expected {', '.join(HOLD_KEYS)}", file, k.line)
        fields[k.value] = v
    envs = fields.get("environments")
    environments: tuple[str, ...] = ()
    lines: tuple[int, ...] = ()
    if isinstance(envs, Sequence):
        environments = tuple(_text(e, "environments item", file, e.line) for e in envs.items)
        lines = tuple(e.line for e in envs.items)
    elif envs is not None and not (isinstance(envs, Scalar) and envs.value == ""):
        raise ConfigError("environments must be a list", file, envs.line)
    since = _time(fields.get("since"), "since", file, node.line)
    if since is None:
        raise ConfigError("a hold without 'since'", file, node.line)
    return Hold(
        _text(fields.get("component"), "component", file, node.line),
        environments,
        _text(fields.get("reason"), "reason", file, node.line),
        _text(fields.get("author"), "author", file, node.line, required=False),
        since,
        _time(fields.get("until"), "until", file, node.line),
        node.line,
        fields["component"].line if "component" in fields else node.line,
        lines,
    )


def validate(holds: list[Hold], config: Config, file: str) -> list[Hold]:
    """`holds`, when each names a component of `config` and only environments of that component;
    else a ConfigError at `file`:line (a hold written by hand for a name that does not exist would
    hold nothing, silently), with the closest valid name and all of them."""
    from promoter.text import did_you_mean

    for h in holds:
        comp = config.components.get(h.component)
        if comp is None:
            names = sorted(config.components)
            raise ConfigError(
                f"a hold names the unknown component '{h.component}'{did_you_mean(h.component, names)}; "
                f"{config.path} defines: {', '.join(names) or 'none'}",
                file,
                h.component_line or h.line,
            )
        known = list(dict.fromkeys(t.environment for t in comp.targets))
        for i, env in enumerate(h.environments):
            if env not in known:
                line = h.environment_lines[i] if i < len(h.environment_lines) else h.line
                raise ConfigError(
                    f"a hold of {h.component} names the unknown environment '{env}'{did_you_mean(env, known)}; "
                    f"{h.component}'s environments: {', '.join(known) or 'none'}",
                    file,
                    line,
                )
    return holds


# What a YAML double-quoted scalar cannot hold literally, or would not give back as written, is
# written as an escape: the controls (C0, DEL, C1: libyaml refuses most of them and folds NEL), the
# line and paragraph separators (line breaks to YAML), the BOM, the noncharacters (U+FFFE and U+FFFF
# are refused, the others are escaped alike) and the bidirectional controls (shown as escapes, as
# everywhere). A lone surrogate is not text: `render` refuses it.
_UNSAFE = (
    r'["\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ufdd0-\ufdef\ufffe\uffff'
    + "".join(rf"\U{plane:04x}fffe\U{plane:04x}ffff" for plane in range(1, 17))
    + "]"
)
_SHORT = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}
_compiled: list[re.Pattern[str]] = []  # compiled when a hold is first written


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _quote(text: str) -> str:
    """`text` as a YAML double-quoted scalar that reads back as exactly `text`."""
    if not _compiled:
        _compiled.append(re.compile(_UNSAFE))
    return '"' + _compiled[0].sub(_escape, text) + '"'


def _stamp(when: datetime) -> str:
    """`when` in UTC, to the second (to the microsecond when it has them), as the file writes it."""
    utc = when.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"


def _as_written(h: Hold) -> tuple[object, ...]:
    return (h.component, h.environments, h.reason, h.author, h.since, h.until)


def render(holds: list[Hold], file: str = "the holds file") -> str:
    """The holds file's whole text, checked to read back as exactly `holds` before it is returned
    (so before any write): a hold that cannot be written is refused, never written unreadable."""
    if not holds:
        return HEADER + "holds: []\n"
    out = [HEADER, "holds:\n"]
    for h in holds:
        out.append(f"  - component: {_quote(h.component)}\n")
        out.append(f"    environments: [{', '.join(_quote(e) for e in h.environments)}]\n")
        out.append(f"    reason: {_quote(h.reason)}\n")
        if h.author:
            out.append(f"    author: {_quote(h.author)}\n")
        out.append(f"    since: {_quote(_stamp(h.since))}\n")
        if h.until is not None:
            out.append(f"    until: {_quote(_stamp(h.until))}\n")
    text = "".join(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        from promoter.errors import UsageError

        raise UsageError(
            f"{file}: a hold holds text that is not Unicode (U+{ord(exc.object[exc.start]):04X}, a lone surrogate: "
            "bytes that are not UTF-8?); give the reason and the author as UTF-8 text"
        ) from None
    try:
        back = parse(text, file)
    except ConfigError as exc:
        problem = str(exc)
    else:
        same = [_as_written(h) for h in back] == [_as_written(h) for h in holds]
        problem = "" if same else "they read back different"
    if problem:
        from promoter.errors import Refused

        raise Refused(f"{file}: the holds to write do not read back as written ({problem}); nothing was written")
    return text


def active(holds: list[Hold], component: str, environment: str, at: datetime) -> Hold | None:
    """The hold that keeps `environment` of `component` from being promoted at `at`, if any."""
    return next((h for h in holds if h.covers(component, environment, at)), None)
