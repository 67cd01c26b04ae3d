"""A first `promotion.yaml` for a component, found from zero (`promoter init`).

The component is given with no targets (`targets: []`) to `discover`, which then reads every
tracked file for what could be one of its pins: saas files whose `resourceTemplates` build from
its repo, its image references (with `image`), and any value of 40 hex digits or of
`short_length` that is a commit of its upstream (asked of the mirror in one `git cat-file
--batch-check`). Each distinct suggested target becomes one target of the config, with a name
unique in the component and an `environment:` guessed from where it is (`guess_environment`).
The text is checked by loading it as a config and locating every target before it is returned.
Nothing here writes the config or prints.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from promoter.errors import ConfigError, UsageError
from promoter.insight.discover import Discovery, Finding, discover
from promoter.model import Component, Config
from promoter.pipeline import config, core
from promoter.pipeline.workspace import Workspace
from promoter.records import record
from promoter.upstream import git
from promoter.upstream.mirror import Upstream

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any

# words of a path or a namespace that name an environment, the most specific first: an `-int` or
# `stage` namespace of production (`app-interface-production-int`) is integration or stage
_ENVIRONMENT_WORDS = (
    ({"int", "integration"}, "integration"),
    ({"stage", "staging", "stg"}, "stage"),
    ({"prod", "production", "prd"}, "production"),
    ({"dev", "development"}, "dev"),
)
_WORD = re.compile(r"[a-z0-9]+")


def _named(text: str) -> str | None:
    words = set(_WORD.findall(text.lower()))
    return next((env for names, env in _ENVIRONMENT_WORDS if words & names), None)


def _item_lines(text: str, line: int) -> list[str]:
    """The lines of the YAML list item around line `line` (1-based): those above it up to its
    `- ` and those below it while they are indented deeper than it (the item's other keys, such
    as a saas target's `namespace:`)."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return []
    here = lines[line - 1]
    indent = len(here) - len(here.lstrip())
    out = [here]
    for above in reversed(lines[: line - 1]):
        stripped = above.lstrip()
        if not stripped:
            continue
        depth = len(above) - len(stripped)
        if depth < indent and not stripped.startswith("- "):
            break
        out.append(above)
        if stripped.startswith("- ") and depth < indent:
            break
    for below in lines[line:]:
        stripped = below.lstrip()
        if not stripped:
            continue
        if len(below) - len(stripped) < indent or (len(below) - len(stripped) == indent and stripped.startswith("- ")):
            break
        out.append(below)
    return out


def guess_environment(rel: str, text: str, line: int) -> str:
    """The environment a pin at line `line` of the file `rel` (whose text is `text`) belongs to:
    a word of its list item (a saas target's namespace, `…-production-int.yml`), else of its path
    (`ci-int/`, `stage/`, `…-prod.yaml`): integration, stage, production, dev; else the name of
    the file's directory (`default` at the repository's root)."""
    item = [ln for ln in _item_lines(text, line) if "namespace" in ln or "$ref" in ln or "environment" in ln]
    for hint in (*item, rel):
        env = _named(hint)
        if env is not None:
            return env
    head = rel.rpartition("/")[0]
    return head.rpartition("/")[2] or "default"


@record
class Start:
    """What `init` writes: the config's text, its targets (as data) and what they were found in."""

    text: str
    targets: list[dict[str, Any]]
    discovery: Discovery


def _stem(file: str) -> str:
    base = file.rpartition("/")[2].lstrip(".")
    return base.rsplit(".", 1)[0] if "." in base else base


def _unique(names: list[str], taken: set[str]) -> str:
    for name in names:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
        if name and name not in taken:
            return name
    base, n = names[-1], 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _targets(comp: Component, found: Discovery, texts: Callable[[str], str]) -> list[dict[str, Any]]:
    """One target per distinct suggestion: a name unique in the component, the environment its
    first pin's place suggests, then the suggestion's file, locator and format."""
    first: dict[str, Finding] = {}
    for f in found.findings:
        if f.component == comp.name:
            first.setdefault(f.snippet, f)
    taken: set[str] = set()
    out: list[dict[str, Any]] = []
    for f in first.values():
        suggestion = dict(f.target)
        file = suggestion["file"]
        head = file.rpartition("/")[0].rpartition("/")[2]
        name = _unique([_stem(file), f"{head}-{_stem(file)}", suggestion["name"]], taken)
        taken.add(name)
        environment = guess_environment(file, texts(file), f.line)
        out.append({"name": name, "environment": environment, **{k: v for k, v in suggestion.items() if k != "name"}})
    return out


def _component_doc(
    name: str, repo: str, fetch: str | None, branch: str | None, image: str | None, targets: list[dict[str, Any]]
) -> dict[str, Any]:
    doc: dict[str, Any] = {"repo": repo}
    for key, value in (("fetch", fetch), ("branch", branch), ("image", image)):
        if value is not None:
            doc[key] = value
    doc["targets"] = targets
    return doc


def _text(name: str, doc: dict[str, Any], summary: str) -> str:
    body = yaml.safe_dump(
        {"version": 1, "components": {name: doc}}, sort_keys=False, default_flow_style=False, width=1 << 20
    )
    return (
        f"# promotion.yaml written by `promoter init`: {summary}.\n"
        "# Check the environments it guessed, then: promoter check && promoter status\n" + body
    )


def _load(root: Path, text: str) -> Config:
    """`text` read as a config file (not yet written where it belongs)."""
    with tempfile.TemporaryDirectory(prefix="promoter-init-") as tmp:
        path = Path(tmp) / "promotion.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return config.load(path, root)
        except ConfigError as exc:  # a bad name or URL given to init: said without the temp file
            raise UsageError(str(exc).replace(f"{path}:", "promotion.yaml:", 1)) from None


def starting_config(
    root: Path,
    name: str,
    repo: str,
    fetch: str | None = None,
    branch: str | None = None,
    image: str | None = None,
    upstream_of: Callable[[Component], Upstream] | None = None,
) -> Start:
    """A config for component `name` (its canonical `repo` URL; `fetch`, `branch` and `image` as
    in promotion.yaml) with a target for every pin of it found in the repository at `root`."""
    root = git.toplevel(root)
    skeleton = _text(name, _component_doc(name, repo, fetch, branch, image, []), "no targets yet")
    cfg = _load(root, skeleton)
    repository = core.Repo(root, git.git_dir(root), cfg, Workspace(root))
    comp = cfg.components[name]
    found = discover(repository, [comp], upstream_of=upstream_of)
    targets = _targets(comp, found, repository.workspace.read)
    files = sorted({t["file"] for t in targets})
    summary = f"{len(targets)} target{'s' if len(targets) != 1 else ''} for the pins of {name} in {len(files)} file"
    summary += "s" if len(files) != 1 else ""
    text = _text(name, _component_doc(name, repo, fetch, branch, image, targets), summary)
    written = _load(root, text)
    for target in written.components[name].targets:  # each locates its pins, as discover tried it
        core.scan(repository, written.components[name], [target])
    return Start(text, targets, found)


__all__ = ["Start", "guess_environment", "starting_config"]
