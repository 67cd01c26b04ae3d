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
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"{what} must be an ISO 8601 time, not '{raw}'", file, node.line if node else line) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


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


def _quote(text: str) -> str:
    import json  # only when a hold is written

    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render(holds: list[Hold]) -> str:
    """The holds file's whole text."""
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
    return "".join(out)


def active(holds: list[Hold], component: str, environment: str, at: datetime) -> Hold | None:
    """The hold that keeps `environment` of `component` from being promoted at `at`, if any."""
    return next((h for h in holds if h.covers(component, environment, at)), None)
