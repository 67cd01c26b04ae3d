"""Load and validate promotion.yaml into `model.Config`; every error names file and line."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from promoter.errors import ConfigError
from promoter.locate.yamlnodes import Mapping, Node, Scalar, Sequence, YamlSyntaxError, compose
from promoter.model import (
    Component,
    Config,
    EnvironmentPolicy,
    EnvLocator,
    Format,
    KeyLocator,
    Locator,
    MergeRequestConfig,
    NativeProblem,
    NotifyConfig,
    NotifyTarget,
    PathLocator,
    RegexLocator,
    RollbackPolicy,
    SaasLocator,
    Target,
    Trust,
    VerifyCheck,
    Window,
)
from promoter.urls import is_url

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from promoter.native.model import Model

COMPONENT_KEYS = (
    "repo",
    "fetch",
    "branch",
    "short_length",
    "image",
    "tag",
    "min_age",
    "depends_on",
    "blocked",
    "hotfix",
    "forge",
    "ignore",
    "constraint",
    "allow_prerelease",
    "trust",
    "targets",
)
TRUST_KEYS = ("signature", "provenance", "source", "tlog", "tlog_key")
SIGNATURE_KEYS = ("key", "identity", "identity_regexp", "issuer", "trusted_root")
TOP_KEYS = (
    "version", "components", "merge_request", "people", "bots", "ignore", "environments", "holds", "native", "notify",
)  # fmt: skip
ENVIRONMENT_KEYS = ("after", "soak", "windows", "verify", "rollback")
ROLLBACK_KEYS = ("on", "grace")
NOTIFY_KEYS = ("to", "blocked_after", "error_runs", "state")
NOTIFY_TARGET_KEYS = ("slack", "webhook", "headers", "on", "timeout")
WINDOW_KEYS = ("allow", "deny", "duration", "timezone")
VERIFY_KEYS = ("http", "expect", "headers", "command", "commit_status", "timeout", "retries")
MR_KEYS = (
    "method",
    "forge",
    "api_url",
    "target_branch",
    "branch",
    "labels",
    "reviewers",
    "remove_source_branch",
    "draft",
    "reconcile_branch",
    "sign",
)
TARGET_KEYS = ("name", "environment", "file", "files", "format", "optional", "tag_pattern")
LOCATOR_KEYS = ("saas", "env", "key", "path", "regex")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# what `git check-ref-format --branch` accepts, minus a leading '-' (which git would read as an option)
_BAD_REF = re.compile(r"^[-/.]|[/.]$|\.\.|//|/\.|@\{|\.lock(/|$)|[\x00-\x20\x7f~^:?*\[\\]|^@$")
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # the OCI distribution spec's tag grammar
_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(self, node: Node | None, message: str) -> ConfigError:
        return ConfigError(message, self.file, node.line if node else None)

    def mapping(self, node: Node, what: str, allowed: tuple[str, ...]) -> dict[str, tuple[Scalar, Node]]:
        if not isinstance(node, Mapping):
            raise self.error(node, f"{what} must be a mapping")
        out: dict[str, tuple[Scalar, Node]] = {}
        for key, value in node.pairs:
            if not isinstance(key, Scalar):
                raise self.error(key, f"{what}: keys must be plain strings")
            if key.value in out:
                first = out[key.value][0].line
                raise self.error(key, f"{what}: key '{key.value}' appears twice (first at line {first})")
            if allowed and key.value not in allowed:
                import difflib  # only on the way to an error message

                near = difflib.get_close_matches(key.value, allowed, n=1)
                hint = f"; did you mean '{near[0]}'?" if near else f"; expected one of: {', '.join(allowed)}"
                raise self.error(key, f"{what}: unknown key '{key.value}'{hint}")
            out[key.value] = (key, value)
        return out

    def string(self, node: Node, what: str) -> str:
        if not isinstance(node, Scalar) or node.tag not in (None, "tag:yaml.org,2002:str", "!"):
            raise self.error(node, f"{what} must be a string")
        if not node.value:
            raise self.error(node, f"{what} must not be empty")
        return node.value

    def integer(self, node: Node, what: str, low: int, high: int) -> int:
        if not isinstance(node, Scalar) or node.style or not node.value.isdigit():
            raise self.error(node, f"{what} must be a whole number from {low} to {high}")
        value = int(node.value)
        if not low <= value <= high:
            raise self.error(node, f"{what} must be a whole number from {low} to {high}, not {value}")
        return value

    def boolean(self, node: Node, what: str) -> bool:
        if isinstance(node, Scalar) and not node.style and node.value in _TRUE | _FALSE:
            return node.value in _TRUE
        raise self.error(node, f"{what} must be true or false")

    def strings(self, node: Node, what: str) -> tuple[str, ...]:
        if isinstance(node, Scalar) and not node.style and node.value == "":
            return ()
        if not isinstance(node, Sequence):
            raise self.error(node, f"{what} must be a list of strings")
        return tuple(self.string(item, f"{what} item") for item in node.items)

    def duration(self, node: Node, what: str) -> int:
        """Seconds of a duration such as 30m, 1h30m, 2d or 45s."""
        from promoter import durations

        try:
            return durations.parse(node.value if isinstance(node, Scalar) else "")
        except ValueError:
            raise self.error(node, f"{what} must be a duration such as {durations.EXAMPLES}") from None

    def repo_path(self, node: Node, what: str) -> str:
        """A path relative to the repository root that stays inside it."""
        raw = self.string(node, what)
        path = raw.replace("\\", "/")
        if path.startswith("/") or re.match(r"[A-Za-z]:", path):
            raise self.error(node, f"{what} '{raw}' must be relative to the repository root")
        norm = posixpath.normpath(path)
        if norm == ".." or norm.startswith("../"):
            raise self.error(node, f"{what} '{raw}' points outside the repository")
        return norm


def load(config_path: Path, root: Path, native: Callable[[], Model | None] | None = None) -> Config:
    """Read and validate `config_path`; target paths are relative to `root`. `native` gives the
    app-interface native model of the repository (None when it cannot have one: no data/ tree),
    merged in unless the file says `native: false`."""
    shown = str(config_path)
    try:
        raw = config_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file (create it, or point --config at one)", shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", shown) from None
    return load_text(raw, shown, root, native=native)


def load_text(
    raw: bytes | str,
    shown: str,
    root: Path,
    read: Callable[[str], bytes | None] | None = None,
    native: Callable[[], Model | None] | None = None,
) -> Config:
    """Validate a promotion.yaml read elsewhere (`check --base` reads it at a git revision):
    `shown` names it in errors (`main:promotion.yaml`), target paths are relative to `root` and
    checked against it as `load` does, and `read` gives the bytes of a file it names (`people:`),
    None when there is none (default: the file under `root`); `native` as for `load`."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", shown) from None
    try:
        docs = compose(text)
    except YamlSyntaxError as exc:
        raise ConfigError(f"invalid YAML: {exc.problem} (column {exc.column})", shown, exc.line) from None
    if len(docs) != 1:
        raise ConfigError("expected exactly one YAML document", shown)
    return _parse(_Reader(shown), docs[0], str(root), read, native)


def native_only(path: str, root: Path, model: Model) -> Config:
    """The config of an app-interface checkout without promotion.yaml: its saas files alone."""
    from promoter.native.components import components

    return Config(path, str(root), components(model), origin="native", problems=tuple(model.problems))


def _parse(
    r: _Reader,
    doc: Node,
    root: str,
    read: Callable[[str], bytes | None] | None = None,
    native: Callable[[], Model | None] | None = None,
) -> Config:
    top = r.mapping(doc, "top level", TOP_KEYS)
    if "version" not in top:
        raise r.error(doc, "missing 'version: 1'")
    vnode = top["version"][1]
    if not (isinstance(vnode, Scalar) and vnode.value == "1" and not vnode.style):
        raise r.error(vnode, "unsupported config version; this promoter reads 'version: 1'")
    merge = r.boolean(top["native"][1], "native") if "native" in top else True
    model = native() if merge and native is not None else None
    if model is not None and model.empty:
        model = None
    if "components" not in top and model is None:
        raise r.error(doc, "missing 'components'")
    comps = r.mapping(top["components"][1], "components", ()) if "components" in top else {}
    if not comps and model is None:
        raise r.error(top["components"][1], "components: define at least one component")
    components: dict[str, Component] = {}
    for name, (key, node) in comps.items():
        if not _NAME.fullmatch(name) or _BAD_REF.search(name):  # it goes into branch names
            raise r.error(
                key,
                f"component name '{name}' must be letters, digits, '.', '_' or '-' (no '..', no ending '.' or '.lock')",
            )
        components[name] = _component(r, name, key, node, root)
    origin = ""
    problems: tuple[NativeProblem, ...] = ()
    if model is not None:  # the saas files' components, merged by url (promotion.yaml's win)
        from promoter.native.components import merge as merged

        components, said = merged(components, model)
        origin, problems = "merged", tuple(said)
    for comp in components.values():
        for dep in comp.depends_on:
            if dep not in components or dep == comp.name:
                known = ", ".join(sorted(set(components) - {comp.name})) or "none"
                raise ConfigError(
                    f"component '{comp.name}': depends_on names '{dep}'; other components: {known}", r.file, comp.line
                )
    _check_cycles(r, components)
    mr = _merge_request(r, top["merge_request"][1]) if "merge_request" in top else MergeRequestConfig()
    people = _people(r, top["people"][1], root, read) if "people" in top else {}
    bots = r.strings(top["bots"][1], "bots") if "bots" in top else None
    ignore = _ignore(r, top["ignore"][1]) if "ignore" in top else ()
    environments = _environments(r, top["environments"][1], components) if "environments" in top else {}
    holds = r.repo_path(top["holds"][1], "holds") if "holds" in top else "promotion-holds.yaml"
    notify = _notify(r, top["notify"][1]) if "notify" in top else None
    return Config(
        r.file, root, components, mr, people, bots, ignore, environments, holds, origin, problems, notify=notify
    )


def _environments(r: _Reader, node: Node, components: dict[str, Component]) -> dict[str, EnvironmentPolicy]:
    """`environments:`: each environment's rules (order, soak, windows, verification)."""
    used = {t.environment for c in components.values() for t in c.targets}
    m = r.mapping(node, "environments", ())
    known = used | set(m)
    out: dict[str, EnvironmentPolicy] = {}
    for name, (key, value) in m.items():
        what = f"environment '{name}'"
        if name not in used:
            import difflib  # only on the way to an error message

            near = difflib.get_close_matches(name, sorted(used), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f"; targets use: {', '.join(sorted(used)) or 'none'}"
            raise r.error(key, f"environments: no target has environment '{name}'{hint}")
        e = r.mapping(value, what, ENVIRONMENT_KEYS) if not _empty(value) else {}
        after = r.strings(e["after"][1], f"{what}: after") if "after" in e else ()
        for other in after:
            if other == name or other not in known:
                raise r.error(e["after"][1], f"{what}: after names '{other}', which is no other environment")
        soak = r.duration(e["soak"][1], f"{what}: soak") if "soak" in e else 0
        if soak and not after:
            raise r.error(e["soak"][1], f"{what}: soak counts time in the environments of 'after:'; name them")
        windows = (
            tuple(_window(r, what, item) for item in _items(r, e["windows"][1], f"{what}: windows"))
            if "windows" in e
            else ()
        )
        verify = (
            tuple(_verify(r, what, item) for item in _items(r, e["verify"][1], f"{what}: verify"))
            if "verify" in e
            else ()
        )
        rollback = _rollback(r, what, e["rollback"][1], verify) if "rollback" in e else None
        out[name] = EnvironmentPolicy(name, after, soak, windows, verify, key.line, rollback)
    state: dict[str, int] = {}

    def visit(env: str, path: list[str]) -> None:
        if state.get(env) == 2:
            return
        if state.get(env) == 1:
            cycle = " -> ".join([*path[path.index(env) :], env])
            raise ConfigError(f"environments: 'after' forms a cycle: {cycle}", r.file, out[env].line)
        state[env] = 1
        for other in out[env].after if env in out else ():
            visit(other, [*path, env])
        state[env] = 2

    for env in out:
        visit(env, [])
    return out


def _rollback(r: _Reader, what: str, node: Node, verify: tuple[VerifyCheck, ...]) -> RollbackPolicy:
    """`rollback: {on: verify, grace: 15m}`: opt-in rollback by reconcile when verify fails."""
    m = r.mapping(node, f"{what}: rollback", ROLLBACK_KEYS)
    if "on" not in m:
        raise r.error(node, f"{what}: rollback needs 'on: verify' (what makes it roll back)")
    on = r.string(m["on"][1], f"{what}: rollback on")
    if on != "verify":
        raise r.error(m["on"][1], f"{what}: rollback on '{on}': only 'verify' is known (its verify checks failing)")
    if not verify:
        raise r.error(m["on"][1], f"{what}: rollback on verify needs 'verify:' checks in this environment")
    grace = r.duration(m["grace"][1], f"{what}: rollback grace") if "grace" in m else 900
    return RollbackPolicy("verify", grace, node.line)


def _notify(r: _Reader, node: Node) -> NotifyConfig:
    """`notify:`: where reconcile's events go (Slack, a webhook), and when a stop is news."""
    from promoter.model import NOTIFY_EVENTS

    m = r.mapping(node, "notify", NOTIFY_KEYS)
    if "to" not in m:
        raise r.error(node, "notify needs 'to:': a list of '- slack: URL' or '- webhook: URL'")
    targets = []
    for item in _items(r, m["to"][1], "notify: to"):
        t = r.mapping(item, "notify: to item", NOTIFY_TARGET_KEYS)
        kinds = [k for k in ("slack", "webhook") if k in t]
        if len(kinds) != 1:
            found = ", ".join(kinds) or "none"
            raise r.error(item, f"notify: each item of 'to' is one of slack or webhook (found {found})")
        kind = kinds[0]
        url = r.string(t[kind][1], f"notify: {kind}")
        if "${" not in url and not url.startswith(("https://", "http://")):
            raise r.error(t[kind][1], f"notify: {kind} must be an http(s) URL (or name one as ${{VAR}})")
        if "${" not in url:
            from promoter.http import plain_http_allowed

            if not plain_http_allowed(url, "PROMOTER_INSECURE_WEBHOOKS"):
                raise r.error(t[kind][1], f"notify: {kind} over plain http only to loopback hosts (use https)")
        headers: tuple[tuple[str, str], ...] = ()
        if "headers" in t:
            if kind == "slack":
                said = "notify: a Slack incoming webhook takes no headers (its URL is its secret)"
                raise r.error(t["headers"][0], said)
            hm = r.mapping(t["headers"][1], "notify: headers", ())
            headers = tuple((k, r.string(v, f"notify: header {k}")) for k, (_, v) in hm.items())
        events: tuple[str, ...] = NOTIFY_EVENTS
        if "on" in t:
            events = r.strings(t["on"][1], "notify: on")
            for e in events:
                if e not in NOTIFY_EVENTS:
                    from promoter.text import did_you_mean

                    raise r.error(
                        t["on"][1],
                        f"notify: unknown event '{e}'{did_you_mean(e, NOTIFY_EVENTS)}; "
                        f"known: {', '.join(NOTIFY_EVENTS)}",
                    )
        timeout = r.integer(t["timeout"][1], "notify: timeout", 1, 120) if "timeout" in t else 10
        targets.append(NotifyTarget(kind, url, headers, events, timeout, item.line))
    kw: dict[str, object] = {}
    if "blocked_after" in m:
        kw["blocked_after"] = r.duration(m["blocked_after"][1], "notify: blocked_after")
    if "error_runs" in m:
        kw["error_runs"] = r.integer(m["error_runs"][1], "notify: error_runs", 1, 1000)
    if "state" in m:
        ref = r.string(m["state"][1], "notify: state")
        if not ref.startswith("refs/") or _BAD_REF.search(ref.removeprefix("refs/")):
            raise r.error(m["state"][1], f"notify: state must be a git ref such as refs/promoter/notified, not '{ref}'")
        kw["state"] = ref
    return NotifyConfig(tuple(targets), **kw)  # type: ignore[arg-type]


def _empty(node: Node) -> bool:
    return isinstance(node, Scalar) and not node.style and node.value in ("", "~", "null")


def _items(r: _Reader, node: Node, what: str) -> list[Node]:
    if not isinstance(node, Sequence):
        raise r.error(node, f"{what} must be a list")
    return list(node.items)


def _window(r: _Reader, env: str, node: Node) -> Window:
    m = r.mapping(node, f"{env}: window", WINDOW_KEYS)
    kinds = [k for k in ("allow", "deny") if k in m]
    if len(kinds) != 1:
        raise r.error(
            node, f"{env}: a window is either 'allow: CRON' or 'deny: CRON' (found {', '.join(kinds) or 'neither'})"
        )
    kind = kinds[0]
    cron = r.string(m[kind][1], f"{env}: window {kind}")
    import cronsim  # only for a config with windows

    try:
        cronsim.CronSim(cron, datetime(2026, 1, 1, tzinfo=UTC))
    except cronsim.CronSimError as exc:
        raise r.error(
            m[kind][1], f"{env}: window {kind}: '{cron}' is not a cron expression of 5 fields ({exc})"
        ) from None
    if len(cron.split()) != 5:
        raise r.error(m[kind][1], f"{env}: window {kind}: '{cron}' must have 5 fields (minute hour day month weekday)")
    if "duration" not in m:
        raise r.error(node, f"{env}: window {kind}: missing 'duration' (how long from each start, e.g. 64h)")
    duration = r.duration(m["duration"][1], f"{env}: window duration")
    zone = r.string(m["timezone"][1], f"{env}: window timezone") if "timezone" in m else "UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.error(
            m["timezone"][1], f"{env}: window timezone '{zone}' is no IANA time zone (e.g. Europe/Berlin, UTC)"
        ) from None
    return Window("allow" if kind == "allow" else "deny", cron, duration, zone, node.line)


def _verify(r: _Reader, env: str, node: Node) -> VerifyCheck:
    m = r.mapping(node, f"{env}: verify", VERIFY_KEYS)
    kinds = [k for k in ("http", "command", "commit_status") if k in m]
    if len(kinds) != 1:
        raise r.error(
            node, f"{env}: a verify check is one of http, command or commit_status (found {', '.join(kinds) or 'none'})"
        )
    kind = kinds[0]
    timeout = r.integer(m["timeout"][1], f"{env}: verify timeout", 1, 3600) if "timeout" in m else 60
    retries = r.integer(m["retries"][1], f"{env}: verify retries", 0, 10) if "retries" in m else 2
    if kind == "http":
        url = r.string(m["http"][1], f"{env}: verify http")
        if not url.startswith(("https://", "http://")):
            raise r.error(m["http"][1], f"{env}: verify http '{url}' must be an http(s) URL")
        if "expect" not in m:
            raise r.error(node, f"{env}: verify http needs 'expect' (text the body must contain, e.g. '{{short}}')")
        expect = r.string(m["expect"][1], f"{env}: verify expect")
        headers: tuple[tuple[str, str], ...] = ()
        if "headers" in m:
            hm = r.mapping(m["headers"][1], f"{env}: verify headers", ())
            headers = tuple((k, r.string(v, f"{env}: verify header {k}")) for k, (_, v) in hm.items())
        for other in ("command", "commit_status"):
            if other in m:
                raise r.error(m[other][0], f"{env}: a verify check is one of http, command or commit_status")
        return VerifyCheck("http", node.line, url=url, expect=expect, headers=headers, timeout=timeout, retries=retries)
    for extra in ("expect", "headers"):
        if extra in m:
            raise r.error(m[extra][0], f"{env}: '{extra}' goes with a verify http check only")
    if kind == "command":
        argv = r.strings(m["command"][1], f"{env}: verify command")
        if not argv:
            raise r.error(m["command"][1], f"{env}: verify command must name a program (a list: [program, arg...])")
        return VerifyCheck("command", node.line, command=argv, timeout=timeout, retries=retries)
    value = m["commit_status"][1]
    names = (
        (r.string(value, f"{env}: verify commit_status"),)
        if isinstance(value, Scalar)
        else r.strings(value, f"{env}: verify commit_status")
    )
    if not names:
        raise r.error(value, f"{env}: verify commit_status must name the statuses or check runs that must succeed")
    return VerifyCheck("commit_status", node.line, statuses=names, timeout=timeout, retries=retries)


def _ignore(r: _Reader, node: Node, what: str = "ignore") -> tuple[str, ...]:
    """`ignore:` globs of repo-relative paths (`*`, `?`, `**`, `[...]`) that discover/check skip
    (at the top level for every component, in a component for its own pins)."""
    globs = r.strings(node, what)
    items = node.items if isinstance(node, Sequence) else []
    for glob_, item in zip(globs, items):
        if glob_.startswith("/") or glob_ == ".." or glob_.startswith("../"):
            raise r.error(item, f"{what}: '{glob_}' must be a glob relative to the repository root")
    return globs


def _check_cycles(r: _Reader, components: dict[str, Component]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise ConfigError(f"depends_on forms a cycle: {cycle}", r.file, components[name].line)
        state[name] = 1
        for dep in components[name].depends_on:
            visit(dep, [*path, name])
        state[name] = 2

    for name in components:
        visit(name, [])


def _merge_request(r: _Reader, node: Node) -> MergeRequestConfig:
    m = r.mapping(node, "merge_request", MR_KEYS)
    kw: dict[str, object] = {}
    if "method" in m:
        method = r.string(m["method"][1], "merge_request.method")
        if method not in ("push-options", "api"):
            raise r.error(m["method"][1], f"merge_request.method must be 'push-options' or 'api', not '{method}'")
        kw["method"] = method
    if "forge" in m:
        forge = r.string(m["forge"][1], "merge_request.forge")
        if forge not in ("gitlab", "github"):
            raise r.error(m["forge"][1], f"merge_request.forge must be 'gitlab' or 'github', not '{forge}'")
        kw["forge"] = forge
    for key in ("api_url", "target_branch", "branch"):
        if key in m:
            kw[key] = r.string(m[key][1], f"merge_request.{key}")
    if "target_branch" in m:
        _branch_name(r, m["target_branch"][1], "merge_request.target_branch", str(kw["target_branch"]))
    if "branch" in m:
        try:
            sample = str(kw["branch"]).format(
                component="c", short="abc1234", sha="abc1234" * 5 + "abcde", environments="production"
            )
        except (KeyError, IndexError, ValueError):
            raise r.error(
                m["branch"][1], "merge_request.branch may use {component}, {short}, {sha} and {environments} only"
            ) from None
        _branch_name(r, m["branch"][1], "merge_request.branch", sample)
    for key in ("labels", "reviewers"):
        if key in m:
            kw[key] = r.strings(m[key][1], f"merge_request.{key}")
    for key in ("remove_source_branch", "draft", "sign"):
        if key in m:
            kw[key] = r.boolean(m[key][1], f"merge_request.{key}")
    if "reconcile_branch" in m:
        value = r.string(m["reconcile_branch"][1], "merge_request.reconcile_branch")
        try:
            sample = value.format(component="c")
        except (KeyError, IndexError, ValueError):
            raise r.error(m["reconcile_branch"][1], "merge_request.reconcile_branch may use {component} only") from None
        if "{component}" not in value:
            raise r.error(
                m["reconcile_branch"][1], "merge_request.reconcile_branch needs {component}: one per component"
            )
        _branch_name(r, m["reconcile_branch"][1], "merge_request.reconcile_branch", sample)
        kw["reconcile_branch"] = value
    return MergeRequestConfig(**kw)  # type: ignore[arg-type]


def _people(r: _Reader, node: Node, root: str, read: Callable[[str], bytes | None] | None = None) -> dict[str, str]:
    """`people:` inline (email or name -> handle) or the name of a YAML file holding that mapping."""
    if isinstance(node, Scalar) and node.value:
        rel = r.repo_path(node, "people")
        shown = rel
        try:
            if read is None:
                top = Path(root).resolve()
                path = (top / rel).resolve()
                if path != top and top not in path.parents:  # a symlink out of the repository
                    raise r.error(
                        node, f"people: {rel} resolves to {path}, outside the repository; keep the file in it"
                    )
                text = path.read_text(encoding="utf-8")
                shown = str(path)
            else:
                data = read(rel)
                if data is None:
                    raise r.error(node, f"people: cannot read {rel}: no such file")
                text = data.decode("utf-8")
            docs = compose(text)
        except OSError as exc:
            raise r.error(node, f"people: cannot read {rel}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise r.error(node, f"people: {rel} is not UTF-8 text") from None
        except YamlSyntaxError as exc:
            raise r.error(node, f"people: {rel}:{exc.line}: invalid YAML (column {exc.column})") from None
        if len(docs) != 1:
            raise r.error(node, f"people: {rel} must hold one mapping of email or name to handle")
        return _people(_Reader(shown), docs[0], root)
    m = r.mapping(node, "people", ())
    return {k: r.string(v, f"people: {k}") for k, (_, v) in m.items()}


def _branch_name(r: _Reader, node: Node, what: str, name: str) -> None:
    if _BAD_REF.search(name):
        raise r.error(node, f"{what}: '{name}' is not a valid git branch name")


def _component(r: _Reader, name: str, key: Scalar, node: Node, root: str) -> Component:
    what = f"component '{name}'"
    m = r.mapping(node, what, COMPONENT_KEYS)
    if "repo" not in m:
        raise r.error(key, f"{what}: missing 'repo' (the upstream repository URL)")
    repo = r.string(m["repo"][1], f"{what}: repo")
    fetch = r.string(m["fetch"][1], f"{what}: fetch") if "fetch" in m else repo
    if re.match(r"[A-Za-z0-9+.-]+::", fetch):
        raise r.error(
            (m.get("fetch") or m["repo"])[1],
            f"{what}: refusing the git transport of '{fetch}' (remote helpers like ext:: run commands)",
        )
    if not is_url(fetch) and not fetch.startswith(("/", "~")):
        fetch = posixpath.normpath(posixpath.join(root, fetch))  # a local path relative to the repository root
    branch = r.string(m["branch"][1], f"{what}: branch") if "branch" in m else None
    if branch is not None:
        _branch_name(r, m["branch"][1], f"{what}: branch", branch)
    short = r.integer(m["short_length"][1], f"{what}: short_length", 4, 39) if "short_length" in m else 7
    image = r.string(m["image"][1], f"{what}: image") if "image" in m else None
    released = _released(m)
    tag = r.string(m["tag"][1], f"{what}: tag") if "tag" in m else "{tag}" if released else "{short}"
    if "tag" in m:
        names = "{sha}, {short}, {tag} and {version}" if released else "{sha} and {short}"
        try:
            sample = tag.format(
                sha="a" * 40, short="a" * short, **({"tag": "v1.0.0", "version": "1.0.0"} if released else {})
            )
        except (KeyError, IndexError, ValueError):
            hint = "" if released else " ({tag} and {version} are for a component whose targets pin release tags)"
            raise r.error(m["tag"][1], f"{what}: tag may use {names} only{hint}") from None
        if not _IMAGE_TAG.fullmatch(sample):
            raise r.error(
                m["tag"][1],
                f"{what}: tag '{tag}' does not make an image tag: ASCII letters, digits, '_', '.' and '-', "
                "at most 128, not starting with '.' or '-'",
            )
    min_age = r.duration(m["min_age"][1], f"{what}: min_age") if "min_age" in m else 0
    depends_on = r.strings(m["depends_on"][1], f"{what}: depends_on") if "depends_on" in m else ()
    blocked = _prefixes(r, m["blocked"][1], f"{what}: blocked") if "blocked" in m else ()
    hotfix = _prefixes(r, m["hotfix"][1], f"{what}: hotfix") if "hotfix" in m else ()
    forge = forge_api = None
    if "forge" in m:  # where the upstream's commit statuses are read (verify: commit_status)
        f = r.mapping(m["forge"][1], f"{what}: forge", ("kind", "api_url"))
        if "kind" in f:
            forge = r.string(f["kind"][1], f"{what}: forge.kind")
            if forge not in ("github", "gitlab"):
                raise r.error(f["kind"][1], f"{what}: forge.kind must be 'github' or 'gitlab', not '{forge}'")
        forge_api = r.string(f["api_url"][1], f"{what}: forge.api_url") if "api_url" in f else None
    ignore = _ignore(r, m["ignore"][1], f"{what}: ignore") if "ignore" in m else ()
    constraint = None
    if "constraint" in m:
        constraint = r.string(m["constraint"][1], f"{what}: constraint")
        from promoter.semver import Constraint

        try:
            Constraint(constraint)
        except ValueError as exc:
            raise r.error(m["constraint"][1], f"{what}: constraint '{constraint}' {exc}") from None
    prerelease = r.boolean(m["allow_prerelease"][1], f"{what}: allow_prerelease") if "allow_prerelease" in m else False
    for key_ in ("constraint", "allow_prerelease"):
        if key_ in m and not released:
            raise r.error(m[key_][0], f"{what}: '{key_}' is for release tags, and no target of it has 'format: tag'")
    trust = _trust(r, what, m["trust"], repo) if "trust" in m else None
    if trust is not None and image is None:
        raise r.error(m["trust"][0], f"{what}: trust: verifies the component's image; give its 'image:'")
    if "targets" not in m:
        raise r.error(key, f"{what}: missing 'targets'")
    tnode = m["targets"][1]
    if not isinstance(tnode, Sequence):  # `targets: []`: none yet (`promoter discover` suggests them)
        raise r.error(tnode, f"{what}: targets must be a list (targets: [] while it has none yet)")
    targets: list[Target] = []
    seen: dict[str, int] = {}
    for item in tnode.items:
        t = _target(r, what, item)
        if t.name in seen:
            raise r.error(item, f"{what}: duplicate target name '{t.name}' (first at line {seen[t.name]})")
        seen[t.name] = t.line
        targets.append(t)
    for t in targets:
        if t.format == "digest" and image is None:
            raise r.error(node, f"{what}: target '{t.name}' has format digest, which needs the component's 'image'")
    return Component(
        name,
        repo,
        fetch,
        branch,
        short,
        tuple(targets),
        key.line,
        image,
        tag,
        min_age,
        depends_on,
        blocked,
        hotfix,
        forge,
        forge_api,
        ignore,
        constraint,
        prerelease,
        trust,
    )


def _trust(r: _Reader, what: str, pair: tuple[Scalar, Node], repo: str) -> Trust:
    """`trust:`: the signature (a key, or a keyless identity and issuer), provenance, source, tlog."""
    key, node = pair
    t = r.mapping(node, f"{what}: trust", TRUST_KEYS)
    if "signature" not in t:
        raise r.error(key, f"{what}: trust needs 'signature:' (key: a PEM public key, or identity: and issuer:)")
    s = r.mapping(t["signature"][1], f"{what}: trust.signature", SIGNATURE_KEYS)
    kw: dict[str, object] = {}
    keyless = [k for k in ("identity", "identity_regexp", "issuer", "trusted_root") if k in s]
    if "key" in s:
        if keyless:
            raise r.error(
                s[keyless[0]][0],
                f"{what}: trust.signature is either 'key:' or keyless (identity: and issuer:), not both",
            )
        kw["key"] = r.repo_path(s["key"][1], f"{what}: trust.signature.key")
        kw["key_line"] = s["key"][1].line
    else:
        if ("identity" in s) == ("identity_regexp" in s):
            raise r.error(
                t["signature"][1],
                f"{what}: trust.signature needs 'key:' (a PEM public key), or keyless exactly one of 'identity:' "
                "(the certificate's identity) or 'identity_regexp:' (an anchored regexp) with 'issuer:'",
            )
        if "issuer" not in s:
            raise r.error(
                t["signature"][1],
                f"{what}: trust.signature: a keyless identity needs its 'issuer:' "
                "(e.g. https://token.actions.githubusercontent.com)",
            )
        issuer = r.string(s["issuer"][1], f"{what}: trust.signature.issuer")
        if not issuer.startswith("https://"):
            raise r.error(s["issuer"][1], f"{what}: trust.signature.issuer '{issuer}' must be an https:// URL")
        kw["issuer"] = issuer
        if "trusted_root" in s:
            kw["trusted_root"] = r.repo_path(s["trusted_root"][1], f"{what}: trust.signature.trusted_root")
            kw["trusted_root_line"] = s["trusted_root"][1].line
        if "identity" in s:
            kw["identity"] = r.string(s["identity"][1], f"{what}: trust.signature.identity")
        else:
            pattern = r.string(s["identity_regexp"][1], f"{what}: trust.signature.identity_regexp")
            if not (pattern.startswith("^") and pattern.endswith("$")):
                raise r.error(
                    s["identity_regexp"][1],
                    f"{what}: trust.signature.identity_regexp '{pattern}' must be anchored: start with ^, end with $",
                )
            try:
                re.compile(pattern)
            except re.error as exc:
                raise r.error(s["identity_regexp"][1], f"{what}: trust.signature.identity_regexp: {exc}") from None
            kw["identity_regexp"] = pattern
    provenance = r.boolean(t["provenance"][1], f"{what}: trust.provenance") if "provenance" in t else False
    source = repo
    if "source" in t:
        source = r.string(t["source"][1], f"{what}: trust.source")
        if not is_url(source):
            raise r.error(t["source"][1], f"{what}: trust.source '{source}' must be the URL of a repository")
    tlog = "required"
    if "tlog" in t:
        tlog = r.string(t["tlog"][1], f"{what}: trust.tlog")
        if tlog not in ("required", "ignore"):
            raise r.error(t["tlog"][1], f"{what}: trust.tlog must be 'required' or 'ignore', not '{tlog}'")
        if tlog == "ignore" and "key" not in kw:
            raise r.error(
                t["tlog"][1],
                f"{what}: trust.tlog: ignore is for key mode only; a keyless signature needs its log entry",
            )
    if "tlog_key" in t:
        if "key" not in kw or tlog != "required":
            raise r.error(
                t["tlog_key"][0],
                f"{what}: trust.tlog_key is the Rekor key a key signature's log entry is checked with "
                "(key: and tlog: required only)",
            )
        kw["tlog_key"] = r.repo_path(t["tlog_key"][1], f"{what}: trust.tlog_key")
        kw["tlog_key_line"] = t["tlog_key"][1].line
    return Trust(
        key.line,
        source,
        provenance=provenance,
        tlog="ignore" if tlog == "ignore" else "required",
        **kw,  # type: ignore[arg-type]
    )


def _released(m: dict[str, tuple[Scalar, Node]]) -> bool:
    """Whether a target of the component's mapping `m` says `format: tag` (read before the
    targets are, for the defaults and checks that depend on it)."""
    tnode = m["targets"][1] if "targets" in m else None
    if not isinstance(tnode, Sequence):
        return False
    for item in tnode.items:
        if isinstance(item, Mapping):
            for k, v in item.pairs:
                if isinstance(k, Scalar) and k.value == "format" and isinstance(v, Scalar) and v.value == "tag":
                    return True
    return False


def _prefixes(r: _Reader, node: Node, what: str) -> tuple[str, ...]:
    """Commit sha prefixes (7 to 40 lowercase hex digits)."""
    values = r.strings(node, what)
    items = node.items if isinstance(node, Sequence) else []
    for value, item in zip(values, items):
        if not re.fullmatch(r"[0-9a-f]{7,40}", value):
            raise r.error(item, f"{what}: '{value}' is not a commit sha or a prefix of one (7 to 40 hex digits)")
    return values


def _target(r: _Reader, comp: str, node: Node) -> Target:
    m = r.mapping(node, f"{comp}: target", TARGET_KEYS + LOCATOR_KEYS)
    if "name" not in m:
        raise r.error(node, f"{comp}: target without a 'name'")
    name = r.string(m["name"][1], f"{comp}: target name")
    what = f"{comp}, target '{name}'"
    env = r.string(m["environment"][1], f"{what}: environment") if "environment" in m else name
    if ("file" in m) == ("files" in m):
        raise r.error(node, f"{what}: give exactly one of 'file' or 'files'")
    file = r.repo_path(m["file"][1], f"{what}: file") if "file" in m else None
    files = r.repo_path(m["files"][1], f"{what}: files") if "files" in m else None
    given = [k for k in LOCATOR_KEYS if k in m]
    if len(given) != 1:
        found = f"found {', '.join(given)}" if given else "found none"
        raise r.error(node, f"{what}: give exactly one locator of {', '.join(LOCATOR_KEYS)} ({found})")
    kind = given[0]
    locator = _locator(r, what, kind, m[kind][1])
    default: Format = "sha" if kind in ("saas", "path") else "short"
    fmt: Format = default
    if "format" in m:
        fnode = m["format"][1]
        value = r.string(fnode, f"{what}: format")
        if value not in ("sha", "short", "digest", "tag"):
            raise r.error(fnode, f"{what}: format must be 'sha', 'short', 'digest' or 'tag', not '{value}'")
        fmt = "sha" if value == "sha" else "short" if value == "short" else "digest" if value == "digest" else "tag"
    elif kind == "regex":
        raise r.error(node, f"{what}: a regex locator needs an explicit 'format' (sha, short or tag)")
    optional = r.boolean(m["optional"][1], f"{what}: optional") if "optional" in m else False
    pattern = None
    if "tag_pattern" in m:
        pnode = m["tag_pattern"][1]
        pattern = r.string(pnode, f"{what}: tag_pattern")
        if fmt != "tag":
            raise r.error(m["tag_pattern"][0], f"{what}: 'tag_pattern' goes with 'format: tag'")
        from promoter.semver import TagPattern

        try:
            TagPattern(pattern)
        except ValueError as exc:
            raise r.error(pnode, f"{what}: tag_pattern '{pattern}' {exc}") from None
    return Target(name, env, file, files, locator, fmt, optional, node.line, pattern)


def _locator(r: _Reader, what: str, kind: str, node: Node) -> Locator:
    if kind == "saas":
        opts = r.mapping(node, f"{what}: saas", ("resource_template",))
        rt = opts.get("resource_template")
        return SaasLocator(r.string(rt[1], f"{what}: saas.resource_template") if rt else None)
    value = r.string(node, f"{what}: {kind}")
    if kind == "env":
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise r.error(node, f"{what}: env '{value}' is not a valid variable name")
        return EnvLocator(value)
    if kind == "key":
        return KeyLocator(value)
    if kind == "path":
        from promoter.locate.jsonpath import JsonPathError, compile_path

        try:
            compile_path(value)
        except JsonPathError as exc:
            raise r.error(node, f"{what}: bad path expression: {exc}") from None
        return PathLocator(value)
    try:
        pattern = re.compile(value)
    except re.error as exc:
        raise r.error(node, f"{what}: bad regex: {exc}") from None
    if "version" not in pattern.groupindex:
        raise r.error(node, f"{what}: the regex needs a named group (?P<version>...)")
    return RegexLocator(value)
