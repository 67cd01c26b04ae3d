"""`namespaceSelector` targets: the namespaces their `jsonPathSelectors` match.

qontract-reconcile evaluates each `include` expression (jsonpath-ng's extended syntax) over
`{"namespace": [every namespace, its cluster, environment and app resolved]}` and removes what an
`exclude` expression matches. promoter reads the same data from the files (every
`/openshift/namespace-1.yml` file; its `cluster`, `environment` and `app` files) and understands
the expressions such selectors are written with:

    namespace[*]
    namespace[?(@.cluster.name == 'appsres03ue1')]
    namespace[?@.environment.labels.type=="production" & @.app.name=~"^insights"]

a filter over `namespace` of tests `@.a.b OP literal` joined by `&` (`&&`), OP one of `==`, `!=`
and `=~` (a regular expression searched in the value), the literal a quoted string, a number or
true/false. A test on a missing field fails (also for `!=`). An expression outside this is a
problem at the target's line, and the target deploys nowhere promoter can tell.
"""

from __future__ import annotations

import re

from promoter.model import NativeEnvironment, NativeProblem
from promoter.native.source import Source, ref_path
from promoter.records import replace

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

    from promoter.locate.yamlnodes import Mapping
    from promoter.native.model import Model, _Resolver

_ALL = re.compile(r"\$?\.?namespace\[\*\]")
_FILTER = re.compile(r"\$?\.?namespace\[\?\s*(?P<open>\()?(?P<body>.*?)(?(open)\))\s*\]", re.S)
_TEST = re.compile(
    r"\s*@(?P<path>(?:\.[A-Za-z_$][\w$-]*|\[['\"][^'\"]+['\"]\])+)\s*(?P<op>==|!=|=~)\s*"
    r"(?P<lit>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|-?\d+(?:\.\d+)?|true|false)\s*"
)
_STEP = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[['\"]([^'\"]+)['\"]\]")


class SelectorError(ValueError):
    pass


def compile_selector(expr: str) -> list[tuple[tuple[str, ...], str, object]] | None:
    """The tests of `expr` ([] for `namespace[*]`); SelectorError when promoter cannot read it."""
    text = expr.strip()
    if _ALL.fullmatch(text):
        return []
    m = _FILTER.fullmatch(text)
    if m is None:
        raise SelectorError(f"'{expr}' is not namespace[?(...)] or namespace[*]")
    tests: list[tuple[tuple[str, ...], str, object]] = []
    for part in re.split(r"&&?(?=(?:[^'\"]|'[^']*'|\"[^\"]*\")*$)", m["body"]):
        t = _TEST.fullmatch(part)
        if t is None:
            raise SelectorError(f"'{expr}': cannot read the test '{part.strip()}' (@.field == 'value', !=, =~)")
        path = tuple(a or b for a, b in _STEP.findall(t["path"]))
        lit = t["lit"]
        value: object
        if lit[0] in "'\"":
            value = re.sub(r"\\(.)", r"\1", lit[1:-1])
        elif lit in ("true", "false"):
            value = lit == "true"
        else:
            value = float(lit) if "." in lit else int(lit)
        if t["op"] == "=~":
            try:
                re.compile(str(value))
            except re.error as exc:
                raise SelectorError(f"'{expr}': bad regular expression: {exc}") from None
        tests.append((path, t["op"], value))
    return tests


def _holds(tests: list[tuple[tuple[str, ...], str, object]], ns: dict[str, Any]) -> bool:
    for path, op, value in tests:
        here: Any = ns
        for step in path:
            here = here.get(step) if isinstance(here, dict) else None
        if here is None or isinstance(here, dict | list):
            return False
        if op == "=~":
            if not (isinstance(here, str) and _search(str(value), here)):
                return False
        else:
            same = here == value or (isinstance(value, str) and str(here) == value and not isinstance(here, bool))
            if same != (op == "=="):
                return False
    return True


def _search(pattern: str, text: str) -> bool:
    """`=~`: the pattern searched in the value, given up after a second (the saas file is text
    from outside: a pattern that backtracks catastrophically must not hang the run)."""
    import regex

    try:
        return regex.search(pattern, text, timeout=1.0) is not None
    except TimeoutError:
        raise SelectorError(f"the regular expression '{pattern}' took longer than 1 s; simplify it") from None


def resolve(source: Source, resolver: _Resolver, model: Model, selectors: list[tuple[int, Mapping, str, int]]) -> None:
    """Set each selector target's namespaces and environments, or say why they are unknown."""
    from promoter.native.source import get, strings

    namespaces = _namespaces(source)
    for index, node, file, line in selectors:
        item = model.items[index]
        paths = get(node, "jsonPathSelectors")
        include, exclude = strings(get(paths, "include")), strings(get(paths, "exclude"))
        try:
            chosen = {ns["path"] for expr in include for ns in namespaces if _holds(_tests(expr), ns)}
            chosen -= {ns["path"] for expr in exclude for ns in namespaces if _holds(_tests(expr), ns)}
        except SelectorError as exc:
            model.problems.append(NativeProblem(file, line, f"namespaceSelector: {exc}", item.url, note=True))
            continue
        if not include:
            model.problems.append(
                NativeProblem(file, line, "namespaceSelector without jsonPathSelectors.include", item.url)
            )
        envs: dict[str, NativeEnvironment] = {}
        files = []
        for path in sorted(chosen):
            ns = resolver.namespace(path)
            if isinstance(ns, str):
                continue
            files.append(ns.file)
            if ns.environment is not None:
                envs.setdefault(ns.environment.name, ns.environment)
        if not files:
            model.problems.append(NativeProblem(file, line, "namespaceSelector matches no namespace", item.url))
        native = replace(item.native, namespaces=tuple(files), environments=tuple(envs[k] for k in sorted(envs)))
        model.items[index] = replace(item, native=native)


_COMPILED: dict[str, list[tuple[tuple[str, ...], str, object]]] = {}


def _tests(expr: str) -> list[tuple[tuple[str, ...], str, object]]:
    if expr not in _COMPILED:
        compiled = compile_selector(expr)
        _COMPILED[expr] = compiled or []
    return _COMPILED[expr]


def _namespaces(source: Source) -> list[dict[str, Any]]:
    """Every namespace file as qontract-reconcile's selectors see it: its fields, and its
    cluster, environment and app files' fields in place of their `$ref`s ("path" is its `$ref`)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loaded: dict[str, Any] = {}

    def load(file: str) -> Any:
        if file not in loaded:
            text = source.text(file)
            try:
                loaded[file] = None if text is None else yaml.load(text, Loader=loader)
            except yaml.YAMLError:
                loaded[file] = None
        return loaded[file]

    out = []
    for file in source.files_with("namespace-1.yml"):
        data = load(file)
        if not isinstance(data, dict) or data.get("$schema") != "/openshift/namespace-1.yml":
            continue
        ns = dict(data)
        ns["path"] = "/" + file.removeprefix("data/")
        for key in ("cluster", "environment", "app"):
            ref = ns.get(key)
            target = ref_path(ref["$ref"]) if isinstance(ref, dict) and isinstance(ref.get("$ref"), str) else None
            resolved = load(target) if target else None
            ns[key] = resolved if isinstance(resolved, dict) else None
        out.append(ns)
    return out
